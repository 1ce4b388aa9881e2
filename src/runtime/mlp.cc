// runtime/mlp.cc
#include "runtime/mlp.h"

#include <cmath>

#include "base/error.h"
#include "base/random.h"
#include "kernels/gemm/gemm.h"

namespace lowp {

std::size_t Mlp::parameters() const {
  std::size_t n = 0;
  for (const LinearLayer& l : layers) n += l.weight.size() + l.bias.size();
  return n;
}

Mlp make_mlp(std::span<const int> sizes, std::uint64_t seed) {
  LOWP_CHECK(sizes.size() >= 2, "mlp: needs at least an input and an output size");
  for (int s : sizes) LOWP_CHECK(s >= 1, "mlp: layer size {} must be at least 1", s);
  Random rng(seed);
  Mlp mlp;
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    LinearLayer layer;
    layer.in = sizes[i];
    layer.out = sizes[i + 1];
    float bound = 1.0f / std::sqrt(static_cast<float>(layer.in));
    layer.weight.resize(static_cast<std::size_t>(layer.in) * layer.out);
    for (float& w : layer.weight) w = rng.uniform(-bound, bound);
    layer.bias.resize(static_cast<std::size_t>(layer.out));
    for (float& b : layer.bias) b = rng.uniform(-bound, bound);
    mlp.layers.push_back(std::move(layer));
  }
  return mlp;
}

void mlp_forward(const Mlp& mlp, const float* x, std::size_t rows, float* logits, ThreadPool* pool,
                 std::vector<std::vector<float>>* layer_inputs) {
  if (layer_inputs != nullptr) layer_inputs->assign(mlp.layers.size(), {});
  std::vector<float> current(x, x + rows * static_cast<std::size_t>(mlp.inputs()));
  std::vector<float> next;
  for (std::size_t l = 0; l < mlp.layers.size(); ++l) {
    const LinearLayer& layer = mlp.layers[l];
    bool last = l + 1 == mlp.layers.size();
    PackedGemmWeights w = pack_gemm_f32(layer.weight.data(), layer.out, layer.in);
    next.resize(rows * static_cast<std::size_t>(layer.out));
    GemmArgs args;
    args.m = static_cast<int>(rows);
    args.a = current.data();
    args.lda = static_cast<std::size_t>(layer.in);
    args.w = &w;
    args.bias = layer.bias.data();
    args.act = last ? Activation::none : Activation::relu;
    args.c = last ? logits : next.data();
    args.ldc = static_cast<std::size_t>(layer.out);
    gemm(args, pool);
    if (layer_inputs != nullptr) (*layer_inputs)[l] = current;
    if (!last) std::swap(current, next);
  }
}

void argmax_rows(const float* logits, std::size_t rows, int cols, std::int32_t* out) {
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = logits + r * static_cast<std::size_t>(cols);
    int best = 0;
    for (int j = 1; j < cols; ++j) {
      if (row[j] > row[best]) best = j;
    }
    out[r] = best;
  }
}

}  // namespace lowp
