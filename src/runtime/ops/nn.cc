// runtime/ops/nn.cc: the table of neural-network op binders.
#include "runtime/ops/nn_ops.h"

namespace lowp::runtime {
namespace {

constexpr OpBinding kBindings[] = {
    {"", "Conv", bind_conv},
    {"lowp", "FusedConv", bind_conv},
    {"lowp", "NhwcConv", bind_nhwc_conv},
    {"lowp", "NhwcMaxPool", bind_nhwc_max_pool},
    {"lowp", "NhwcAveragePool", bind_nhwc_average_pool},
    {"lowp", "NhwcGlobalAveragePool", bind_nhwc_global_average_pool},
    {"", "Gemm", bind_gemm},
    {"lowp", "FusedGemm", bind_fused_gemm},
    {"", "MatMul", bind_matmul},
    {"lowp", "Attention", bind_attention},
    {"", "MaxPool", bind_max_pool},
    {"", "AveragePool", bind_average_pool},
    {"", "GlobalAveragePool", bind_global_average_pool},
    {"", "GlobalMaxPool", bind_global_max_pool},
    {"", "BatchNormalization", bind_batch_norm},
    {"", "LayerNormalization", bind_layer_norm},
    {"", "Softmax", bind_softmax},
    {"", "LogSoftmax", bind_log_softmax},
};

}  // namespace

std::span<const OpBinding> nn_bindings() {
  return kBindings;
}

}  // namespace lowp::runtime
