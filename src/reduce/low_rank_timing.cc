// reduce/low_rank_timing.cc
#include "reduce/low_rank_timing.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/aligned_buffer.h"
#include "base/error.h"
#include "base/random.h"
#include "base/timer.h"
#include "kernels/gemm/gemm.h"

namespace lowp {
namespace {

std::vector<float> random_values(std::size_t count, float scale, Random& rng) {
  std::vector<float> v(count);
  for (float& x : v) x = rng.uniform(-scale, scale);
  return v;
}

// One packed layer and its output buffer.
struct Layer {
  PackedGemmWeights w;
  std::vector<float> bias;
  AlignedBuffer<float> out;

  Layer(int rows, int k, int n, Random& rng, bool with_bias) {
    std::vector<float> rows_nk =
        random_values(static_cast<std::size_t>(n) * static_cast<std::size_t>(k),
                      1.0f / std::sqrt(static_cast<float>(k)), rng);
    w = pack_gemm_f32(rows_nk.data(), n, k);
    if (with_bias) bias = random_values(static_cast<std::size_t>(n), 0.1f, rng);
    out = AlignedBuffer<float>(static_cast<std::size_t>(rows) * static_cast<std::size_t>(n));
  }

  void run(int rows, const float* a, ThreadPool* pool) {
    GemmArgs args;
    args.m = rows;
    args.a = a;
    args.lda = static_cast<std::size_t>(w.k);
    args.w = &w;
    args.bias = bias.empty() ? nullptr : bias.data();
    args.c = out.data();
    args.ldc = static_cast<std::size_t>(w.n);
    gemm(args, pool);
  }
};

}  // namespace

LowRankTiming time_low_rank(int rows, int k, int n, int rank, ThreadPool* pool,
                            const LowRankTimingOptions& options) {
  LOWP_CHECK(rows >= 1 && k >= 1 && n >= 1 && rank >= 1,
             "low-rank timing: sizes rows {} k {} n {} rank {} must be at least 1", rows, k, n,
             rank);
  LOWP_CHECK(options.rounds >= 1 && options.block_seconds > 0.0, "low-rank timing: bad options");
  Random rng(0x10e4a2c);
  AlignedBuffer<float> a(static_cast<std::size_t>(rows) * static_cast<std::size_t>(k));
  std::vector<float> a_values = random_values(a.size(), 1.0f, rng);
  std::copy(a_values.begin(), a_values.end(), a.data());
  Layer dense(rows, k, n, rng, true);
  Layer first(rows, k, rank, rng, false);
  Layer second(rows, rank, n, rng, true);

  auto run_dense = [&] { dense.run(rows, a.data(), pool); };
  auto run_factored = [&] {
    first.run(rows, a.data(), pool);
    second.run(rows, first.out.data(), pool);
  };
  // Calls per block: the warm-up call's time (the second call: the first packs nothing
  // but touches every page once) spread over block_seconds.
  auto calls_for = [&](const auto& fn) {
    fn();
    Stopwatch t;
    fn();
    const double once = std::max(t.seconds(), 1e-7);
    return std::max(1, static_cast<int>(std::min(1e6, options.block_seconds / once)));
  };
  const int dense_calls = calls_for(run_dense);
  const int factored_calls = calls_for(run_factored);
  std::vector<double> dense_us, factored_us;
  for (int round = 0; round < options.rounds; ++round) {
    Stopwatch t;
    for (int i = 0; i < dense_calls; ++i) run_dense();
    dense_us.push_back(t.seconds() * 1e6 / dense_calls);
    t.restart();
    for (int i = 0; i < factored_calls; ++i) run_factored();
    factored_us.push_back(t.seconds() * 1e6 / factored_calls);
  }
  return {median(dense_us), median(factored_us)};
}

}  // namespace lowp
