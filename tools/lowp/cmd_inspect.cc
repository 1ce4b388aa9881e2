// tools/lowp/cmd_inspect.cc: `lowp inspect --cpu | --kernels`: what this machine offers and
// which kernel each family will run.
#include <fmt/format.h>

#include "base/cpu.h"
#include "commands.h"
#include "kernels/dispatch.h"

namespace lowp::cli {
namespace {

void print_cpu() {
  const CpuFeatures& f = cpu_features();
  fmt::print("cpu: {} ({})\n", f.brand.empty() ? "unknown" : f.brand, f.vendor);
  auto yn = [](bool b) { return b ? "yes" : "no"; };
  fmt::print("features:\n");
  fmt::print("  sse4.2 {}  avx {}  avx2 {}  fma {}  f16c {}\n", yn(f.sse42), yn(f.avx),
             yn(f.avx2), yn(f.fma), yn(f.f16c));
  fmt::print("  avx512f {}  avx512bw {}  avx512dq {}  avx512vl {}\n", yn(f.avx512f),
             yn(f.avx512bw), yn(f.avx512dq), yn(f.avx512vl));
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
      fmt::print("  {}{:<48} needs {:<11} {}\n", mark, name, isa_name(isa),
                 runnable ? "" : "(not on this CPU / LOWP_ISA)");
    }
  }
  fmt::print("(* = the kernel this process uses)\n");
}

}  // namespace

Command add_inspect_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("inspect", "Show what this CPU supports and which kernels run");
  auto cpu = std::make_shared<bool>(false);
  auto kernels = std::make_shared<bool>(false);
  sub->add_flag("--cpu", *cpu, "CPU features found and the ISA chosen");
  sub->add_flag("--kernels", *kernels, "Every kernel family, its variants, and the one chosen");
  return {sub, [sub, cpu, kernels]() {
            if (!*cpu && !*kernels) {
              fmt::print(stderr, "lowp: error: inspect needs --cpu or --kernels\n{}",
                         sub->help());
              return 2;
            }
            if (*cpu) print_cpu();
            if (*kernels) print_kernels();
            return 0;
          }};
}

}  // namespace lowp::cli
