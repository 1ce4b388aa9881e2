// tests/runtime/compiled_mlp_test.cc: an Mlp compiled at each precision computes what the
// float network computes, within the error its format allows, deterministically, and
// reports its size honestly.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "base/error.h"
#include "base/random.h"
#include "runtime/compiled_mlp.h"
#include "runtime/mlp_calibration.h"

namespace lowp {
namespace {

struct Fixture {
  Mlp mlp;
  std::vector<float> x;
  std::size_t rows = 300;
};

Fixture make_fixture() {
  const int sizes[] = {100, 50, 10};  // SimpleNet's shape: k = 100 and 50, groups 32 + short
  Fixture f{make_mlp(sizes, 7), {}, 300};
  Random rng(3);
  f.x.resize(f.rows * 100);
  for (float& v : f.x) v = rng.uniform(-2.0f, 3.0f);
  return f;
}

std::vector<float> run(const Fixture& f, Precision p, ThreadPool* pool = nullptr,
                       int max_batch = 64) {
  MlpCalibration calibration = calibrate_mlp(f.mlp, f.x.data(), f.rows);
  CompiledMlp compiled(f.mlp, p, &calibration, max_batch);
  std::vector<float> logits(f.rows * 10);
  compiled.run(f.x.data(), f.rows, logits.data(), pool);
  return logits;
}

TEST(CompiledMlp, Fp32IsTheFloatNetworkBitForBit) {
  Fixture f = make_fixture();
  std::vector<float> want(f.rows * 10);
  mlp_forward(f.mlp, f.x.data(), f.rows, want.data());
  std::vector<float> got = run(f, Precision::fp32);
  EXPECT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)));
}

// Largest |logit difference| to fp32, relative to the largest |fp32 logit|.
double relative_error(const Fixture& f, Precision p) {
  std::vector<float> want = run(f, Precision::fp32), got = run(f, p);
  double max_diff = 0.0, max_ref = 0.0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    max_diff = std::max(max_diff, static_cast<double>(std::fabs(got[i] - want[i])));
    max_ref = std::max(max_ref, static_cast<double>(std::fabs(want[i])));
  }
  return max_diff / max_ref;
}

TEST(CompiledMlp, LowPrecisionStaysWithinItsFormatsError) {
  Fixture f = make_fixture();
  // Weight rounding errors: fp16 2^-11, bf16 2^-8 relative per weight; int8 1/254 of a
  // channel's range, int4 1/14 of a group's range, plus u8 activations for int8. Summed
  // over 100 random-signed terms they mostly cancel. Measured with these seeds: fp16 3.9e-4,
  // bf16 2.5e-3, int8 9.3e-3, int4 0.11; the bounds leave about 2.5x (int4 1.8x) and fail
  // on any systematic error (a wrong scale, zero point or group).
  EXPECT_LT(relative_error(f, Precision::fp16), 1e-3);
  EXPECT_LT(relative_error(f, Precision::bf16), 6e-3);
  EXPECT_LT(relative_error(f, Precision::int8), 2.5e-2);
  EXPECT_LT(relative_error(f, Precision::int4), 2e-1);
}

TEST(CompiledMlp, ThreadsAndChunkingDoNotChangeBits) {
  Fixture f = make_fixture();
  ThreadPool pool(2);
  for (Precision p : kAllPrecisions) {
    std::vector<float> one = run(f, p, nullptr, 300);
    std::vector<float> two = run(f, p, &pool, 37);
    EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * sizeof(float)))
        << precision_name(p);
  }
}

TEST(CompiledMlp, WeightBytesCountWhatAModelStores) {
  Fixture f = make_fixture();
  MlpCalibration calibration = calibrate_mlp(f.mlp, f.x.data(), f.rows);
  auto bytes = [&](Precision p) { return CompiledMlp(f.mlp, p, &calibration).weight_bytes(); };
  const std::size_t weights = 100 * 50 + 50 * 10, biases = 60;
  EXPECT_EQ(bytes(Precision::fp32), 4 * (weights + biases));  // 22,240
  EXPECT_EQ(bytes(Precision::fp16), 2 * weights + 4 * biases);
  EXPECT_EQ(bytes(Precision::bf16), 2 * weights + 4 * biases);
  EXPECT_EQ(bytes(Precision::int8), weights + 4 * 60 + 4 * biases + 2 * 5);  // scales, int32 bias
  // int4: 4 groups (32, 32, 32, 4) x 50 outputs and 2 groups (32, 18) x 10 outputs.
  EXPECT_EQ(bytes(Precision::int4), weights / 2 + 4 * (4 * 50 + 2 * 10) + 4 * biases);
}

TEST(CompiledMlp, Int8NeedsAMatchingCalibration) {
  Fixture f = make_fixture();
  EXPECT_THROW(CompiledMlp(f.mlp, Precision::int8, nullptr), Error);
  MlpCalibration wrong;
  wrong.layer_inputs.resize(1);
  EXPECT_THROW(CompiledMlp(f.mlp, Precision::int8, &wrong), Error);
}

TEST(Calibration, CountsNonFiniteAndRejectsEmpty) {
  Fixture f = make_fixture();
  f.x[10] = std::nanf("");
  MlpCalibration c = calibrate_mlp(f.mlp, f.x.data(), f.rows);
  EXPECT_GE(c.non_finite, 1u);
  EXPECT_TRUE(std::isfinite(c.layer_inputs[0].scale));
  EXPECT_THROW(calibrate_mlp(f.mlp, f.x.data(), 0), Error);
}

}  // namespace
}  // namespace lowp
