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
// comes back. Max pooling reads the same values either way: the same bits. Pools with
// dilation, ceil_mode, auto_pad or an Indices output are left alone.
#include "passes/passes.h"
#include "passes/rewrite_util.h"

namespace lowp::passes {

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
    if (pool->attr_string("auto_pad", "NOTSET") != "NOTSET" || pool->attr_int("ceil_mode", 0) != 0 ||
        pool->attr_int("storage_order", 0) != 0) {
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
