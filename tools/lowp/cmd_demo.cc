// tools/lowp/cmd_demo.cc: `lowp demo`: runs the seed workflow (seed_workflow.h) and prints
// one table; --json PATH writes the same data.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>

#include "base/error.h"
#include "commands.h"
#include "io/atomic_file.h"
#include "io/idx.h"
#include "seed_workflow.h"

namespace lowp::cli {
namespace {

struct DemoFlags {
  std::string json_path;
  std::string data_dir;
  int epochs = 10;
  int threads = 1;
  std::string precisions = "fp32,fp16,bf16,int8,int4";
};

std::vector<Precision> parse_precision_list(const std::string& list) {
  std::vector<Precision> out;
  std::stringstream in(list);
  std::string name;
  while (std::getline(in, name, ',')) {
    std::optional<Precision> p = parse_precision(name);
    LOWP_CHECK(p.has_value(),
               "--precision: unknown precision '{}'; use fp32, fp16, bf16, int8 or int4", name);
    out.push_back(*p);
  }
  LOWP_CHECK(!out.empty(), "--precision: empty list");
  return out;
}

void print_table(const SeedReport& r) {
  fmt::print(
      "\nlowp demo: Fashion-MNIST ({} train / {} test images), PCA {} -> {}, SimpleNet "
      "{}-50-10, {} epochs, ISA {}, {} thread{}\n",
      r.train_rows, r.test_rows, r.input_dim, r.components, r.components, r.epochs, r.isa,
      r.threads, r.threads == 1 ? "" : "s");
  fmt::print(
      "PCA: explained variance {:.4f}; fit {:.2f} s; projection {:.2f} us/sample at batch 1, "
      "{:.3g} samples/s at batch 256\n\n",
      r.explained_variance, r.pca_fit_seconds, r.pca_latency_us_b1, r.pca_throughput_sps);
  const PrecisionRow* fp32 = nullptr;
  for (const PrecisionRow& row : r.rows) {
    if (row.precision == Precision::fp32) fp32 = &row;
  }
  fmt::print(
      "| precision | accuracy | vs fp32 (points) | latency b1 (us) | throughput b256 (samples/s) "
      "| weight bytes | vs fp32 | kernel |\n");
  fmt::print("|---|---|---|---|---|---|---|---|\n");
  for (const PrecisionRow& row : r.rows) {
    std::string delta =
        fp32 ? fmt::format("{:+.2f}", 100.0 * (row.accuracy - fp32->accuracy)) : "-";
    std::string ratio = fp32 ? fmt::format("{:.3f}x", static_cast<double>(row.weight_bytes) /
                                                          static_cast<double>(fp32->weight_bytes))
                             : "-";
    fmt::print("| {} | {:.4f} | {} | {:.3f} | {:.3g} | {} | {} | {} |\n",
               precision_name(row.precision), row.accuracy, delta, row.latency_us_b1,
               row.throughput_sps, row.weight_bytes, ratio, row.kernels.back());
  }
  fmt::print(
      "\nSimpleNet alone is timed (batch 1: median over 51 blocks of 200 calls); the PCA "
      "projection is timed on its own above.\n");
}

nlohmann::json to_json(const SeedReport& r) {
  nlohmann::json rows = nlohmann::json::array();
  for (const PrecisionRow& row : r.rows) {
    rows.push_back({{"precision", precision_name(row.precision)},
                    {"accuracy", row.accuracy},
                    {"latency_us_b1", row.latency_us_b1},
                    {"throughput_sps", row.throughput_sps},
                    {"weight_bytes", row.weight_bytes},
                    {"packed_bytes", row.packed_bytes},
                    {"kernels", row.kernels}});
  }
  return {{"pca",
           {{"components", r.components},
            {"explained_variance", r.explained_variance},
            {"fit_seconds", r.pca_fit_seconds},
            {"latency_us_b1", r.pca_latency_us_b1},
            {"throughput_sps", r.pca_throughput_sps}}},
          {"train", {{"epochs", r.epochs}, {"seconds", r.train_seconds}, {"rows", r.train_rows}}},
          {"test_rows", r.test_rows},
          {"threads", r.threads},
          {"isa", r.isa},
          {"rows", rows}};
}

}  // namespace

Command add_demo_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand(
      "demo",
      "The seed workflow on Fashion-MNIST: PCA, train SimpleNet with Adam, then measure it "
      "in fp32, fp16, bf16, int8 and int4");
  auto flags = std::make_shared<DemoFlags>();
  sub->add_option("--json", flags->json_path, "Also write the results as JSON to this file");
  sub->add_option("--epochs", flags->epochs, "Training epochs")->check(CLI::Range(1, 1000));
  sub->add_option("--threads", flags->threads, "Threads for training and batch-256 throughput")
      ->check(CLI::Range(1, 256));
  sub->add_option("--precision", flags->precisions, "Comma-separated precisions to measure");
  sub->add_option("--data", flags->data_dir,
                  "Folder of Fashion-MNIST's .gz files (default: $LOWP_FASHION_MNIST_DIR or "
                  "/usr/share/datasets/fashion-mnist)");
  return {sub, [flags]() {
            SeedOptions options;
            options.epochs = flags->epochs;
            options.threads = flags->threads;
            options.precisions = parse_precision_list(flags->precisions);
            options.data_dir = flags->data_dir.empty() ? fashion_mnist_dir()
                                                       : std::filesystem::path(flags->data_dir);
            SeedReport report = run_seed_workflow(options, [](const std::string& line) {
              fmt::print("{}\n", line);
              std::fflush(stdout);
            });
            print_table(report);
            if (!flags->json_path.empty()) {
              std::string text = to_json(report).dump(2) + "\n";
              write_file_atomically(flags->json_path,
                                    std::as_bytes(std::span<const char>(text.data(), text.size())));
              fmt::print("wrote {}\n", flags->json_path);
            }
            return 0;
          }};
}

}  // namespace lowp::cli
