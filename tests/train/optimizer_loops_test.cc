// tests/train/optimizer_loops_test.cc: every build of the optimizer loops this CPU runs
// gives the baseline's bits (Adam, AdamW, SGD with and without momentum and Nesterov),
// over enough elements that a contracted multiply-add or a reordered expression would
// show; and the baseline matches the update written out element by element.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "base/cpu.h"
#include "base/random.h"
#include "train/optimizer_loops.h"

namespace lowp::train {
namespace {

struct State {
  std::vector<float> w, grad, m, v;
};

State random_state(std::size_t n) {
  Random rng(12);
  State s{std::vector<float>(n), std::vector<float>(n), std::vector<float>(n),
          std::vector<float>(n)};
  for (std::size_t i = 0; i < n; ++i) {
    s.w[i] = rng.uniform(-1.0f, 1.0f);
    s.grad[i] = rng.uniform(-0.1f, 0.1f);
    s.m[i] = rng.uniform(-0.01f, 0.01f);
    s.v[i] = rng.uniform(0.0f, 1e-4f);
  }
  return s;
}

TEST(OptimizerLoops, VariantsGiveTheBaselineBits) {
  const std::size_t n = 100003;
  AdamStep adam;
  adam.l2 = 1e-4f;
  adam.step_size = 1e-3f / 0.19f;
  adam.sqrt_correction2 = std::sqrt(0.0199f);
  AdamStep adamw = adam;
  adamw.l2 = 0.0f;
  adamw.shrink = 1.0f - 1e-3f * 0.01f;
  SgdStep sgd;
  sgd.lr = 0.05f;
  sgd.weight_decay = 1e-4f;
  sgd.momentum = 0.9f;
  auto run = [&](const OptimizerLoops& loops) {
    std::vector<State> out;
    for (const AdamStep& step : {adam, adamw}) {
      State s = random_state(n);
      loops.adam(s.w.data(), s.grad.data(), s.m.data(), s.v.data(), n, step);
      out.push_back(s);
    }
    for (bool nesterov : {false, true}) {
      for (bool first : {false, true}) {
        State s = random_state(n);
        SgdStep step = sgd;
        step.nesterov = nesterov;
        step.first = first;
        loops.sgd(s.w.data(), s.grad.data(), s.m.data(), n, step);
        out.push_back(s);
      }
    }
    State plain = random_state(n);
    loops.sgd(plain.w.data(), plain.grad.data(), nullptr, n, sgd);
    out.push_back(plain);
    return out;
  };
  const std::vector<State> want = run(kOptimizerLoopsBaseline);
  // The baseline's Adam, element by element.
  State s = random_state(n);
  for (std::size_t i = 0; i < n; ++i) {
    const float g = s.grad[i] + adam.l2 * s.w[i];
    const float m = adam.beta1 * s.m[i] + (1.0f - adam.beta1) * g;
    const float v = adam.beta2 * s.v[i] + (1.0f - adam.beta2) * g * g;
    const float w = s.w[i] - adam.step_size * m / (std::sqrt(v) / adam.sqrt_correction2 + adam.eps);
    ASSERT_EQ(want[0].w[i], w) << i;
    ASSERT_EQ(want[0].m[i], m) << i;
    ASSERT_EQ(want[0].v[i], v) << i;
  }
  for (const auto& entry : optimizer_loop_list()) {
    if (entry.isa > supported_isa()) continue;
    const std::vector<State> got = run(*entry.fn);
    for (std::size_t c = 0; c < want.size(); ++c) {
      EXPECT_EQ(got[c].w, want[c].w) << entry.name << " case " << c;
      EXPECT_EQ(got[c].m, want[c].m) << entry.name << " case " << c;
      EXPECT_EQ(got[c].v, want[c].v) << entry.name << " case " << c;
    }
  }
}

}  // namespace
}  // namespace lowp::train
