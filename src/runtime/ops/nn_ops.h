// runtime/ops/nn_ops.h: binders of the neural-network ops, one file per group
// (conv_ops.cc, matmul_ops.cc, pool_ops.cc, norm_ops.cc), collected by nn.cc.
#pragma once

#include "kernels/activation.h"
#include "runtime/op.h"

namespace lowp::runtime {

// The activation of a lowp::Fused* node: attribute "activation" (none, relu, clip, gelu,
// silu), "activation_min" / "activation_max" for clip.
ActivationParams fused_activation(const BindArgs& a);

std::unique_ptr<BoundOp> bind_conv(const BindArgs& a);
std::unique_ptr<BoundOp> bind_nhwc_conv(const BindArgs& a);
std::unique_ptr<BoundOp> bind_nhwc_max_pool(const BindArgs& a);
std::unique_ptr<BoundOp> bind_nhwc_average_pool(const BindArgs& a);
std::unique_ptr<BoundOp> bind_nhwc_global_average_pool(const BindArgs& a);
std::unique_ptr<BoundOp> bind_gemm(const BindArgs& a);
std::unique_ptr<BoundOp> bind_fused_gemm(const BindArgs& a);
std::unique_ptr<BoundOp> bind_matmul(const BindArgs& a);
std::unique_ptr<BoundOp> bind_attention(const BindArgs& a);
std::unique_ptr<BoundOp> bind_max_pool(const BindArgs& a);
std::unique_ptr<BoundOp> bind_average_pool(const BindArgs& a);
std::unique_ptr<BoundOp> bind_global_average_pool(const BindArgs& a);
std::unique_ptr<BoundOp> bind_global_max_pool(const BindArgs& a);
std::unique_ptr<BoundOp> bind_batch_norm(const BindArgs& a);
std::unique_ptr<BoundOp> bind_layer_norm(const BindArgs& a);
std::unique_ptr<BoundOp> bind_softmax(const BindArgs& a);
std::unique_ptr<BoundOp> bind_log_softmax(const BindArgs& a);

}  // namespace lowp::runtime
