// tools/lowp/cmd_inspect.cc: `lowp inspect --cpu | --kernels`: what this machine offers and
// which kernel each family will run.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "base/cpu.h"
#include "base/error.h"
#include "base/float_types.h"
#include "commands.h"
#include "io/npy.h"
#include "kernels/dispatch.h"
#include "model_inputs.h"
#include "model_report.h"
#include "precision_plan.h"

namespace lowp::cli {
namespace {

void print_cpu() {
  const CpuFeatures& f = cpu_features();
  fmt::print("cpu: {} ({})\n", f.brand.empty() ? "unknown" : f.brand, f.vendor);
  auto yn = [](bool b) { return b ? "yes" : "no"; };
  fmt::print("features:\n");
  fmt::print("  sse4.2 {}  avx {}  avx2 {}  fma {}  f16c {}\n", yn(f.sse42), yn(f.avx), yn(f.avx2),
             yn(f.fma), yn(f.f16c));
  fmt::print("  avx512f {}  avx512bw {}  avx512dq {}  avx512vl {}\n", yn(f.avx512f), yn(f.avx512bw),
             yn(f.avx512dq), yn(f.avx512vl));
  fmt::print("  avx512vnni {}  avx512bf16 {}\n", yn(f.avx512vnni), yn(f.avx512bf16));
  fmt::print("  os saves ymm {}  zmm {}\n", yn(f.os_saves_ymm), yn(f.os_saves_zmm));
  fmt::print("isa supported: {}\n", isa_name(supported_isa()));
  const char* override_value = std::getenv("LOWP_ISA");
  fmt::print("isa chosen: {}{}\n", isa_name(active_isa()),
             override_value ? fmt::format(" (LOWP_ISA={})", override_value) : "");
}

void print_kernels() {
  IsaLevel level = active_isa();
  fmt::print("isa chosen: {}\n", isa_name(level));
  for (const KernelFamilyInfo& family : kernel_catalog()) {
    fmt::print("{}:\n", family.family);
    bool chosen_seen = false;
    for (const auto& [name, isa] : family.variants) {
      bool runnable = isa <= level;
      const char* mark = "  ";
      if (runnable && !chosen_seen) {
        mark = "* ";
        chosen_seen = true;
      }
      const char* note = runnable                ? ""
                         : isa > supported_isa() ? "(this CPU lacks it)"
                                                 : "(off: LOWP_ISA)";
      fmt::print("  {}{:<48} needs {:<11} {}\n", mark, name, isa_name(isa), note);
    }
  }
  fmt::print("(* = the kernel this process uses)\n");
}

// Element i of a numeric tensor as a double.
double element(const Tensor& t, std::size_t i) {
  switch (t.dtype()) {
    case DType::float32:
      return t.values<float>()[i];
    case DType::float16:
      return float16::from_bits(t.values<std::uint16_t>()[i]).to_float();
    case DType::int8:
      return t.values<std::int8_t>()[i];
    case DType::uint8:
      return t.values<std::uint8_t>()[i];
    case DType::int32:
      return t.values<std::int32_t>()[i];
    case DType::int64:
      return static_cast<double>(t.values<std::int64_t>()[i]);
    default:
      fail("inspect: no statistics for dtype {}", dtype_name(t.dtype()));
  }
}

void print_npy(const std::filesystem::path& path) {
  Tensor t = read_npy(path);
  fmt::print("{}: {} {} ({} elements, {} bytes)\n", path.string(), dtype_name(t.dtype()),
             t.shape().str(), t.elements(), t.bytes());
  std::size_t non_finite = 0, finite = 0;
  double lo = 0.0, hi = 0.0, sum = 0.0;
  for (std::size_t i = 0; i < t.elements(); ++i) {
    double v = element(t, i);
    if (!std::isfinite(v)) {
      ++non_finite;
      continue;
    }
    lo = finite == 0 ? v : std::min(lo, v);
    hi = finite == 0 ? v : std::max(hi, v);
    sum += v;
    ++finite;
  }
  if (finite > 0) {
    fmt::print("  min {:.6g}  max {:.6g}  mean {:.6g}\n", lo, hi,
               sum / static_cast<double>(finite));
  }
  if (non_finite > 0) fmt::print("  {} NaN or Inf values\n", non_finite);
}

}  // namespace

Command add_inspect_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand(
      "inspect", "Show a .npy array, what this CPU supports, or which kernels run");
  auto cpu = std::make_shared<bool>(false);
  auto kernels = std::make_shared<bool>(false);
  sub->add_flag("--cpu", *cpu, "CPU features found and the ISA chosen");
  sub->add_flag("--kernels", *kernels, "Every kernel family, its variants, and the one chosen");
  auto file = std::make_shared<std::string>();
  sub->add_option("file", *file,
                  "A .npy array (dtype, shape, statistics) or an .onnx model (inputs, ops, "
                  "parameters, FLOPs, unsupported ops, kernels)");
  auto dims = std::make_shared<std::vector<std::string>>();
  auto nodes = std::make_shared<bool>(false);
  sub->add_option("--dim", *dims, "NAME=VALUE for a symbolic input dim of a model (default 1)");
  sub->add_flag("--nodes", *nodes, "List every node of the optimized model with its kernel");
  auto precision = std::make_shared<std::string>();
  auto threads = std::make_shared<int>(1);
  sub->add_option("--precision", *precision,
                  "With a model: which nodes would run in int8, int8-dynamic, fp16, bf16 or int4 kernels, the "
                  "conversions needed, and the speed-up predicted by timing the kernels on the nodes' shapes");
  sub->add_option("--threads", *threads, "Threads for the --precision timings (default 1)")->check(CLI::Range(1, 1024));
  return {
      sub, [sub, cpu, kernels, file, dims, nodes, precision, threads]() {
        if (!*cpu && !*kernels && file->empty()) {
          fmt::print(
              stderr,
              "lowp: error: inspect needs a FILE, --cpu or --kernels (see lowp inspect --help)\n");
          return 2;
        }
        if (!file->empty()) {
          std::filesystem::path path(*file);
          if (path.extension() == ".onnx" && !precision->empty()) {
            PrecisionPlanOptions o;
            o.precision = *precision;
            o.dims = parse_dims(*dims);
            o.threads = *threads;
            print_precision_plan(path, plan_precision(path, o), o);
          } else if (path.extension() == ".onnx") {
            print_model_report(path, parse_dims(*dims), *nodes);
          } else {
            LOWP_CHECK(precision->empty(), "inspect: --precision needs an .onnx model, not {}", *file);
            LOWP_CHECK(path.extension() == ".npy",
                       "{}: unsupported file type; inspect reads .npy arrays and .onnx models", *file);
            print_npy(path);
          }
        }
        if (*cpu) print_cpu();
        if (*kernels) print_kernels();
        return 0;
      }};
}

}  // namespace lowp::cli
