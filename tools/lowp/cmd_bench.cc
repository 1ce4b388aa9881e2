// tools/lowp/cmd_bench.cc: `lowp bench gemm ...`: kernel benchmarks (gemm_bench.h).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "base/cpu.h"
#include "base/error.h"
#include "commands.h"
#include "conv_bench.h"
#include "gemm_bench.h"
#include "model_bench.h"

namespace lowp::cli {

Command add_bench_command(CLI::App& app) {
  CLI::App* bench = app.add_subcommand(
      "bench", "Benchmark a model (lowp bench MODEL.onnx) or the kernels (gemm, conv)");
  bench->require_subcommand(0, 1);
  auto mb = std::make_shared<ModelBenchOptions>();
  bench->add_option("model", mb->model, "An .onnx model: load time, latency, throughput, memory");
  bench->add_option("--threads", mb->threads, "Threads (model)")->check(CLI::Range(1, 256));
  bench->add_option("--batch", mb->batch, "Batch size: the dim named 'batch', else each input's leading symbolic dim (model)")->check(CLI::Range(1, 1 << 20));
  bench->add_option("--dim", mb->dims, "NAME=VALUE for another symbolic dim (model; default 128)");
  bench->add_option("--min-time", mb->min_seconds, "Seconds of timed runs (model)");
  bench->add_flag("--json", mb->json, "Print JSON (model)");
  CLI::App* gemm = bench->add_subcommand(
      "gemm", "Time one dense layer C[m,n] = A[m,k] W[n,k]^T: GFLOP/s, weight GB/s, kernel");
  struct Flags {
    GemmBenchOptions options;
    std::string dtype = "fp32";
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  gemm->add_option("--m", f->options.m, "Rows of A (the batch)")->check(CLI::Range(1, 1 << 20));
  gemm->add_option("--n", f->options.n, "Outputs")->check(CLI::Range(1, 1 << 20));
  gemm->add_option("--k", f->options.k, "Inputs")->check(CLI::Range(1, 1 << 20));
  gemm->add_option("--dtype", f->dtype,
                   "fp32; fp16 (weights, fp32 activations); bf16 (bf16 x bf16, fp32 accumulation); "
                   "int8 (u8 x s8); int8-dynamic (fp32 activations quantized per row in the call); "
                   "int4 (weights, int8 activations)");
  gemm->add_flag("--weights-only", f->options.weights_only,
                 "bf16/int4: low-precision weights with fp32 activations and FMA");
  gemm->add_option("--group", f->options.group, "int4 group size along k")
      ->check(CLI::Range(1, 1 << 20));
  gemm->add_option("--threads", f->options.threads, "Threads")->check(CLI::Range(1, 256));
  gemm->add_flag("--cold", f->options.cold,
                 "Cycle weight copies totalling 8x the last-level cache");
  gemm->add_flag("--json", f->json, "Print JSON instead of text");
  CLI::App* conv = bench->add_subcommand(
      "conv", "Time the NHWC convolution (fp32, bf16, int8) on the layers of ResNet-18 or MobileNetV2 (batch 1)");
  struct ConvFlags {
    std::string model = "resnet18";
    std::string dtype = "fp32";
    int threads = 1;
    bool json = false;
    bool cpu_time = false;
  };
  auto cf = std::make_shared<ConvFlags>();
  conv->add_option("--model", cf->model, "resnet18 or mobilenetv2");
  conv->add_option("--threads", cf->threads, "Threads")->check(CLI::Range(1, 256));
  conv->add_option("--dtype", cf->dtype, "fp32 (default), bf16 (bf16 in, fp32 out) or int8 (u8 in, s8 weights, u8 out)");
  conv->add_flag("--json", cf->json, "Print one JSON object per layer");
  conv->add_flag("--cpu-time", cf->cpu_time,
                 "Time with the thread's CPU clock (1 thread): on a shared machine, the time given "
                 "to other processes is not counted");
  conv->callback([cf]() {
    if (cf->cpu_time && cf->threads != 1)
      throw CLI::ValidationError("--cpu-time", "measures one thread only: use --threads 1");
    std::vector<ConvBenchCase> cases = conv_bench_cases(cf->model);
    double total = 0.0;
    for (const ConvBenchCase& c : cases) {
      ConvBenchResult r = run_conv_bench(c, cf->threads, 0.2, cf->cpu_time, cf->dtype);
      total += r.seconds;
      const Conv2dShape& s = r.shape;
      if (cf->json) {
        nlohmann::json j = {{"model", cf->model},     {"layer", r.name},
                            {"threads", cf->threads}, {"in", {s.in_h, s.in_w, s.in_c}},
                            {"out_c", s.out_c},       {"kernel", s.kernel_h},
                            {"stride", s.stride_h},   {"groups", s.groups},
                            {"ms", r.seconds * 1e3},  {"gflops", r.gflops},
                            {"dtype", cf->dtype},     {"kernel", r.kernel}};
        fmt::print("{}\n", j.dump());
      } else {
        fmt::print("{:<32} {:>8.3f} ms {:>7.1f} {} ({})\n", r.name, r.seconds * 1e3, r.gflops,
                   cf->dtype == "int8" ? "GOP/s" : "GFLOP/s", r.kernel);
      }
    }
    if (!cf->json)
      fmt::print("{:<32} {:>8.3f} ms (these layers, {} thread{})\n", "total", total * 1e3,
                 cf->threads, cf->threads == 1 ? "" : "s");
  });
  return {bench, [f, gemm, mb, bench]() {
            if (!mb->model.empty()) return run_model_bench(*mb);
            if (bench->get_subcommands().empty()) {
              fmt::print(stderr, "lowp: error: bench needs MODEL.onnx, gemm or conv (see lowp bench --help)\n");
              return 2;
            }
            if (!gemm->parsed()) return 0;  // `bench conv` ran in its callback
            f->options.int8_dynamic = f->dtype == "int8-dynamic";
            std::optional<Precision> dtype =
                parse_precision(f->options.int8_dynamic ? std::string("int8") : f->dtype);
            LOWP_CHECK(
                dtype.has_value(),
                "--dtype: unknown dtype '{}'; use fp32, fp16, bf16, int8, int8-dynamic or int4",
                f->dtype);
            f->options.dtype = *dtype;
            GemmBenchResult r = run_gemm_bench(f->options);
            const GemmBenchOptions& o = f->options;
            const char* unit = o.dtype == Precision::int8 ? "GOP/s" : "GFLOP/s";
            if (f->json) {
              nlohmann::json j = {{"m", o.m},
                                  {"n", o.n},
                                  {"k", o.k},
                                  {"dtype", f->dtype},
                                  {"group", o.group},
                                  {"threads", o.threads},
                                  {"cold", o.cold},
                                  {"copies", r.copies},
                                  {"kernel", r.kernel},
                                  {"isa", isa_name(active_isa())},
                                  {"seconds_per_call", r.seconds_per_call},
                                  {"gflops", r.gflops},
                                  {"weight_bytes", r.weight_bytes},
                                  {"weight_gbytes_per_s", r.weight_gbytes_per_s}};
              fmt::print("{}\n", j.dump());
            } else {
              fmt::print(
                  "gemm m={} n={} k={} {}{} threads={}{}: {:.3f} ms, {:.1f} {}, weights {:.2f} "
                  "GB/s ({} bytes{}), kernel {}\n",
                  o.m, o.n, o.k, f->dtype,
                  o.dtype == Precision::int4 ? fmt::format(" group={}", o.group) : "", o.threads,
                  o.cold ? " cold" : "", r.seconds_per_call * 1e3, r.gflops, unit,
                  r.weight_gbytes_per_s, r.weight_bytes,
                  o.cold ? fmt::format(" x {} copies", r.copies) : "", r.kernel);
            }
            return 0;
          }};
}

}  // namespace lowp::cli
