// tests/cli/seed_workflow_test.cc: the seed workflow on the real Fashion-MNIST meets the
// accuracy and size targets of the walking-skeleton issue (what `make demo` shows):
// fp32 >= 0.86; fp16 within 0.1 point of fp32, bf16 within 0.3, int8 within 0.5, int4
// within 1.5; int8 bytes <= 0.3x fp32 and int4 <= 0.2x. Speed is not asserted here (that is
// for benchmarks), but every row must report a positive latency and throughput.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "io/idx.h"
#include "seed_workflow.h"

namespace lowp::cli {
namespace {

TEST(SeedWorkflow, MeetsTheAccuracyAndSizeTargets) {
  SeedOptions options;
  options.data_dir = fashion_mnist_dir();
  options.epochs = 10;
  std::vector<std::string> lines;
  SeedReport r = run_seed_workflow(options, [&](const std::string& l) { lines.push_back(l); });
  EXPECT_EQ(r.train_rows, 60000);
  EXPECT_EQ(r.test_rows, 10000);
  EXPECT_NEAR(r.explained_variance, 0.91, 0.01);
  EXPECT_GE(lines.size(), 10u + 5u);  // a line per epoch and per precision at least
  ASSERT_EQ(r.rows.size(), 5u);
  const PrecisionRow& fp32 = r.rows[0];
  ASSERT_EQ(fp32.precision, Precision::fp32);
  EXPECT_GE(fp32.accuracy, 0.86);
  const double max_drop_points[] = {0.0, 0.1, 0.3, 0.5, 1.5};
  for (std::size_t i = 0; i < r.rows.size(); ++i) {
    const PrecisionRow& row = r.rows[i];
    EXPECT_GE(100.0 * (row.accuracy - fp32.accuracy), -max_drop_points[i])
        << precision_name(row.precision);
    EXPECT_GT(row.latency_us_b1, 0.0);
    EXPECT_GT(row.throughput_sps, 0.0);
  }
  EXPECT_LE(static_cast<double>(r.rows[3].weight_bytes),
            0.3 * static_cast<double>(fp32.weight_bytes));
  EXPECT_LE(static_cast<double>(r.rows[4].weight_bytes),
            0.2 * static_cast<double>(fp32.weight_bytes));
  EXPECT_EQ(fp32.weight_bytes, 22240u);
}

}  // namespace
}  // namespace lowp::cli
