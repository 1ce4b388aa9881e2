// passes/fuse_conv_quantize.cc: an NHWC convolution (fp32 activations; fp32, fp16 or bf16
// weights) whose only reader is a QuantizeLinear to u8 writes the u8 tensor itself, image
// by image.
//
//   lowp::NhwcConv(X, W, B) -> QuantizeLinear(., scale, zero_point)   (per tensor, u8)
// becomes
//   lowp::NhwcConv(X, W, B)[quantize_scale, quantize_zero_point] -> u8
//
// This is the stem of a quantized CNN (a convolution whose GEMM depth is too small for
// the int8 kernel to pay, kept fp32 by `lowp quantize --min-conv-depth`). The bound op
// computes one image into a cache-resident fp32 buffer and quantizes it from there with
// the one quantize rule (kernels/quantize), instead of writing the whole fp32 feature map
// to memory and reading it back: the same values, bit for bit.
#include <cmath>

#include "passes/passes.h"
#include "passes/rewrite_util.h"

namespace lowp::passes {

std::size_t fuse_conv_quantize(ir::Graph& graph) {
  UseMap uses = graph.uses();
  std::vector<ir::Node*> removed;
  std::size_t rewrites = 0;
  for (const auto& n : graph.nodes()) {
    ir::Node& conv = *n;
    if (!is_per_image_nhwc_conv(conv) || conv.has_attribute("quantize_scale") ||
        conv.has_attribute("pool_kernel_shape")) {
      continue;
    }
    ir::Node* q = sole_consumer(graph, uses, conv.outputs[0]);
    if (!q || !q->domain.empty() || q->op_type != "QuantizeLinear" || q->attr_int("block_size", 0) != 0 ||
        q->attr_int("output_dtype", 0) != 0 || q->attr_int("saturate", 1) != 1) {
      continue;
    }
    const ir::Value* scale = q->inputs[1];
    const ir::Value* zp = q->has_input(2) ? q->inputs[2] : nullptr;
    if (!scale || !scale->constant || scale->constant->dtype() != DType::float32 || scale->constant->elements() != 1)
      continue;
    if (!zp || !zp->constant || zp->constant->dtype() != DType::uint8 || zp->constant->elements() != 1) continue;
    float s = scale->constant->values<float>()[0];
    if (!(s > 0.0f) || !std::isfinite(s)) continue;
    conv.attributes["quantize_scale"] = ir::Attribute::of_float(s);
    conv.attributes["quantize_zero_point"] = ir::Attribute::of_int(zp->constant->values<std::uint8_t>()[0]);
    absorb_into_producer(conv, *q);
    removed.push_back(q);
    ++rewrites;
  }
  graph.remove_nodes(removed);
  return rewrites;
}

}  // namespace lowp::passes
