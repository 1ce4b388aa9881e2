// passes/fuse_conv_pool.cc: an NHWC convolution whose only reader is a max pool pools its
// own output, image by image.
//
//   lowp::NhwcConv(X, W, B) [-> u8 with quantize_scale] -> lowp::NhwcMaxPool
// becomes
//   lowp::NhwcConv(X, W, B)[pool_kernel_shape, pool_strides, pool_pads]
//
// The bound op computes one image into a cache-resident buffer (quantized there when the
// conv writes u8) and max-pools it from there: the pre-pool feature map, the largest tensor
// of a small CNN (64 x 28 x 28 x 32 floats, 6.4 MB at batch 64), never goes to memory and
// comes back. Max pooling reads the same values either way: the same bits. ceil_mode
// (torchvision's SqueezeNet) becomes extra end padding where the conv's output size is
// known: the last window, clipped by the ceiling, covers the same in-image values, and
// max pooling ignores padding. Pools with dilation, auto_pad or an Indices output, and
// ceil_mode on unknown sizes, are left alone.
#include "passes/passes.h"
#include "passes/rewrite_util.h"

namespace lowp::passes {
namespace {

// Rewrites a ceil_mode pool's end pads so that floor mode gives the same windows: per
// spatial axis of the NHWC map `map`, out = ceil((in + pads - k) / s) + 1, less one when
// that last window would start in the end padding (ONNX and PyTorch), and the end pad
// grows by what the last window overhangs. False when a size is unknown.
bool ceil_as_end_pads(const ir::TensorType& map, const std::vector<std::int64_t>& kernel,
                      const std::vector<std::int64_t>& strides, std::vector<std::int64_t>& pads) {
  if (!map.has_rank() || map.rank() != 4) return false;
  std::vector<std::int64_t> grown = pads;
  for (std::size_t a = 0; a < 2; ++a) {
    const ir::Dim& d = (*map.dims)[1 + a];
    if (!d.is_known() || strides[a] < 1) return false;
    const std::int64_t in = d.value, k = kernel[a], s = strides[a], begin = pads[a], end = pads[2 + a];
    const std::int64_t span = in + begin + end - k;
    if (span < 0) return false;
    std::int64_t out = (span + s - 1) / s + 1;
    if ((out - 1) * s >= in + begin) --out;
    const std::int64_t overhang = (out - 1) * s + k - (in + begin + end);
    if (overhang > 0) grown[2 + a] = end + overhang;
  }
  pads = grown;
  return true;
}

}  // namespace

std::size_t fuse_conv_pool(ir::Graph& graph) {
  UseMap uses = graph.uses();
  std::vector<ir::Node*> removed;
  std::size_t rewrites = 0;
  for (const auto& n : graph.nodes()) {
    ir::Node& conv = *n;
    if (!is_per_image_nhwc_conv(conv) || conv.has_attribute("pool_kernel_shape")) continue;
    ir::Node* pool = sole_consumer(graph, uses, conv.outputs[0]);
    if (!pool || pool->domain != "lowp" || pool->op_type != "NhwcMaxPool" || pool->outputs.size() != 1) {
      continue;
    }
    if (pool->attr_string("auto_pad", "NOTSET") != "NOTSET" || pool->attr_int("storage_order", 0) != 0) {
      continue;
    }
    std::vector<std::int64_t> kernel = pool->attr_ints("kernel_shape");
    std::vector<std::int64_t> strides = pool->attr_ints("strides");
    std::vector<std::int64_t> pads = pool->attr_ints("pads");
    std::vector<std::int64_t> dilations = pool->attr_ints("dilations");
    if (kernel.size() != 2) continue;
    if (strides.empty()) strides = {1, 1};
    if (pads.empty()) pads = {0, 0, 0, 0};
    bool plain = strides.size() == 2 && pads.size() == 4;
    for (std::int64_t d : dilations) plain = plain && d == 1;
    if (!plain) continue;
    if (pool->attr_int("ceil_mode", 0) != 0 && !ceil_as_end_pads(conv.outputs[0]->type, kernel, strides, pads)) {
      continue;
    }
    conv.attributes["pool_kernel_shape"] = ir::Attribute::of_ints(kernel);
    conv.attributes["pool_strides"] = ir::Attribute::of_ints(strides);
    conv.attributes["pool_pads"] = ir::Attribute::of_ints(pads);
    absorb_into_producer(conv, *pool);
    removed.push_back(pool);
    ++rewrites;
  }
  graph.remove_nodes(removed);
  return rewrites;
}

}  // namespace lowp::passes
