// bench/peak/peak_main.cc: `lowp_peak`, the measured ceilings of this machine's roofline.
//
// Single thread, pinned to the CPU it starts on: the compute peak of each instruction that
// lowp's GEMMs are built from (vfmadd231ps ymm and zmm, vdpbf16ps zmm, vpdpbusd zmm) and the
// read bandwidth of buffers sized for L1, L2, L3 and DRAM. bench/run_kernels.sh compares
// every lowp kernel figure with these, so they must be measured on the machine at hand, not
// taken from a data sheet: a VM's clock, its cache slice and its memory channels are what the
// kernels actually get. Baseline x86-64; each loop sits in its ISA's file (peak.h) and runs
// only when runtime detection (base/cpu.h) says the CPU and OS support it; otherwise the
// entry says it was skipped and why (LOWP_ISA lowers the level, as for lowp's kernels).
// Output: JSON (default) or a table (--text). About 8 s.
#include <fmt/format.h>
#include <sched.h>
#include <sys/mman.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/cpu.h"
#include "base/timer.h"
#include "peak.h"

namespace lowp::peak {
namespace {

volatile double g_sink = 0;  // every loop's result lands here, so none can be dropped

// Calibrates `units` so one run(units) takes about `target` seconds, then returns the best
// (shortest) time of `repeats` runs per unit. Best, not median: a ceiling is what the
// hardware can do, and interruptions only ever slow a run down.
double best_seconds_per_unit(const std::function<void(std::int64_t)>& run, double target,
                             int repeats) {
  std::int64_t units = 1;
  for (;;) {
    Stopwatch watch;
    run(units);
    double t = watch.seconds();
    if (t >= target / 8) {
      units = std::max<std::int64_t>(
          units, static_cast<std::int64_t>(static_cast<double>(units) * target / t));
      break;
    }
    units *= 4;
  }
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < repeats; ++r) {
    Stopwatch watch;
    run(units);
    best = std::min(best, watch.seconds());
  }
  return best / static_cast<double>(units);
}

// Cache sizes from sysfs (cpuid's are often wrong in VMs). 0 where unknown.
struct Caches {
  std::size_t l1d = 0, l2 = 0, l3 = 0;
};

Caches read_caches() {
  Caches c;
  for (int index = 0; index < 8; ++index) {
    std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    std::ifstream level_in(dir + "level"), type_in(dir + "type"), size_in(dir + "size");
    int level = 0;
    std::string type, size;
    if (!(level_in >> level) || !(type_in >> type) || !(size_in >> size) || size.empty()) continue;
    std::size_t bytes = std::strtoull(size.c_str(), nullptr, 10);
    if (size.back() == 'K') bytes <<= 10;
    if (size.back() == 'M') bytes <<= 20;
    if (level == 1 && type == "Data") c.l1d = bytes;
    if (level == 2) c.l2 = bytes;
    if (level == 3) c.l3 = bytes;
  }
  return c;
}

// A buffer of `bytes`, 2 MiB aligned, every page written before it is timed. With
// `huge_pages`, transparent huge pages are asked for (madvise): fewer TLB misses, which is
// the hardware's ceiling; without, 4 KiB pages as a plain allocation gets them.
class Buffer {
 public:
  Buffer(std::size_t bytes, bool huge_pages) : bytes_(bytes) {
    constexpr std::size_t kAlign = std::size_t{2} << 20;
    std::size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
    data_ = static_cast<std::byte*>(std::aligned_alloc(kAlign, rounded));
    if (data_ == nullptr) return;
    madvise(data_, rounded, huge_pages ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    std::memset(data_, 1, rounded);
  }
  ~Buffer() { std::free(data_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  const std::byte* data() const { return data_; }
  std::size_t size() const { return bytes_; }

 private:
  std::byte* data_ = nullptr;
  std::size_t bytes_;
};

using ReadFn = std::uint64_t (*)(const std::byte*, std::size_t, int);

struct Loads {
  const char* name;
  ReadFn read;
};

// The widest loads the CPU and OS allow: the ceiling a kernel of that ISA can reach.
Loads widest_loads(IsaLevel isa) {
  if (isa >= IsaLevel::avx512) return {"avx512 (64-byte loads)", &read_avx512};
  if (isa >= IsaLevel::avx2) return {"avx2 (32-byte loads)", &read_avx2};
  return {"sse2 (16-byte loads)", &read_sse2};
}

struct ReadRate {
  double gbytes_per_s = 0;
  int streams = 1;
};

// Best read rate of `buffer` over 1 and 2 streams. Small buffers are read many times per
// timing (calibrated to ~`target` s); a buffer past the caches once per timing, 6 times.
ReadRate best_read(const Loads& loads, const Buffer& buffer, bool once, double target) {
  ReadRate best;
  for (int streams : {1, 2}) {
    double seconds = 0;
    if (once) {
      seconds = std::numeric_limits<double>::infinity();
      for (int pass = 0; pass < 6; ++pass) {
        Stopwatch watch;
        g_sink = static_cast<double>(loads.read(buffer.data(), buffer.size(), streams));
        seconds = std::min(seconds, watch.seconds());
      }
    } else {
      seconds = best_seconds_per_unit(
          [&](std::int64_t n) {
            for (std::int64_t i = 0; i < n; ++i)
              g_sink = static_cast<double>(loads.read(buffer.data(), buffer.size(), streams));
          },
          target, 5);
    }
    double rate = static_cast<double>(buffer.size()) / seconds * 1e-9;
    if (rate > best.gbytes_per_s) best = {rate, streams};
  }
  return best;
}

std::string human_bytes(std::size_t bytes) {
  if (bytes >= (std::size_t{1} << 30) && bytes % (std::size_t{1} << 30) == 0)
    return fmt::format("{} GiB", bytes >> 30);
  if (bytes >= (std::size_t{1} << 20) && bytes % (std::size_t{1} << 20) == 0)
    return fmt::format("{} MiB", bytes >> 20);
  return fmt::format("{} KiB", bytes >> 10);
}

struct ComputeSpec {
  const char* key;
  const char* label;
  const char* instruction;
  const char* unit;  // GFLOP/s or GOP/s
  IsaLevel needs;
  int accumulators;
  double ops_per_instruction;
  std::function<void(std::int64_t)> run;  // blocks of `accumulators` instructions
};

int run(bool text, std::size_t dram_bytes) {
  // Stay on one CPU: a migration mid-run would empty the caches being measured.
  int cpu = sched_getcpu();
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
  }
  const CpuFeatures& features = cpu_features();
  // Lowered by LOWP_ISA like lowp's kernels (and so the skip paths can be tried anywhere).
  const IsaLevel isa = active_isa();
  const Caches caches = read_caches();

  nlohmann::ordered_json out;
  out["tool"] = "lowp_peak";
  out["cpu"] = features.brand;
  out["vendor"] = features.vendor;
  out["isa_supported"] = isa_name(supported_isa());
  out["isa_used"] = isa_name(isa);
  out["threads"] = 1;
  out["pinned_cpu"] = cpu;

  // The clock, from a chain of dependent adds (1 cycle each): turns rates into per-cycle
  // figures, which say whether a peak is what the core's width promises.
  double add_seconds = best_seconds_per_unit(
      [](std::int64_t n) { g_sink = static_cast<double>(add_chain(n)); }, 0.05, 5);
  double ghz = kAddChainLength / add_seconds * 1e-9;
  out["clock_ghz"] = ghz;
  out["clock_method"] = "dependent 64-bit register adds, 1 per cycle";

  const std::vector<ComputeSpec> specs = {
      {"fp32_fma_avx2", "fp32 FMA, AVX2", "vfmadd*ps ymm", "GFLOP/s", IsaLevel::avx2,
       kYmmAccumulators, 2.0 * 8, [](std::int64_t n) { g_sink = fma_f32_ymm(n); }},
      {"fp32_fma_avx512", "fp32 FMA, AVX-512", "vfmadd*ps zmm", "GFLOP/s", IsaLevel::avx512,
       kZmmAccumulators, 2.0 * 16, [](std::int64_t n) { g_sink = fma_f32_zmm(n); }},
      {"bf16_dot_avx512", "bf16 dot, AVX512-BF16", "vdpbf16ps zmm", "GFLOP/s", IsaLevel::avx512bf16,
       kZmmAccumulators, 2.0 * 32, [](std::int64_t n) { g_sink = dot_bf16_zmm(n); }},
      {"int8_vnni_avx512", "u8 x s8 dot, AVX512-VNNI", "vpdpbusd zmm", "GOP/s",
       IsaLevel::avx512vnni, kZmmAccumulators, 2.0 * 64,
       [](std::int64_t n) { g_sink = static_cast<double>(dot_u8s8_zmm(n)); }},
  };
  nlohmann::ordered_json compute = nlohmann::ordered_json::object();
  for (const ComputeSpec& s : specs) {
    nlohmann::ordered_json e;
    e["label"] = s.label;
    e["instruction"] = s.instruction;
    e["unit"] = s.unit;
    if (isa < s.needs) {
      e["skipped"] =
          fmt::format("needs {}; this CPU (and OS) supports up to {}{}", isa_name(s.needs),
                      isa_name(isa), isa < supported_isa() ? " (lowered by LOWP_ISA)" : "");
    } else {
      double per_block = best_seconds_per_unit(s.run, 0.08, 5);
      double ops_per_block = s.accumulators * s.ops_per_instruction;
      double gops = ops_per_block / per_block * 1e-9;
      e["accumulators"] = s.accumulators;
      e["ops_per_instruction"] = s.ops_per_instruction;
      e["gops"] = gops;
      e["ops_per_cycle"] = gops / ghz;
      e["instructions_per_cycle"] = gops / ghz / s.ops_per_instruction;
    }
    compute[s.key] = e;
  }
  out["compute"] = compute;

  // Read bandwidth: half of each cache level (so the buffer stays in it); DRAM far beyond
  // the last level, with transparent huge pages (the ceiling) and with 4 KiB pages (what a
  // plain allocation gets); and the working set of `lowp bench gemm --cold`, weight copies
  // totalling 4x the last-level cache read in turn, where a cache that does not evict in
  // strict LRU order still serves part of the reads: the ceiling of the cold GEMV figures.
  const Loads loads = widest_loads(isa);
  out["loads"] = loads.name;
  auto round_down = [](std::size_t b) {
    return std::max<std::size_t>(2 * kReadStep, b / (2 * kReadStep) * (2 * kReadStep));
  };
  auto half_or = [&](std::size_t cache, std::size_t fallback) {
    return round_down(cache > 0 ? cache / 2 : fallback);
  };
  const std::size_t llc = caches.l3 > 0   ? caches.l3
                          : caches.l2 > 0 ? caches.l2
                                          : std::size_t{64} << 20;
  struct Level {
    const char* key;
    std::string label;
    std::size_t bytes;
    std::size_t cache;
    bool huge_pages;
    bool once;  // one pass per timing
  };
  const std::size_t dram = round_down(std::max(dram_bytes, 8 * llc));
  const std::vector<Level> levels = {
      {"l1", "L1d", half_or(caches.l1d, 16 << 10), caches.l1d, true, false},
      {"l2", "L2", half_or(caches.l2, 512 << 10), caches.l2, true, false},
      {"l3", "L3", half_or(caches.l3, 16 << 20), caches.l3, true, false},
      {"dram", "DRAM, transparent huge pages", dram, 0, true, true},
      {"dram_4k_pages", "DRAM, 4 KiB pages", dram, 0, false, true},
      {"cold_set", "cold GEMV set: 8x LLC, 4 KiB pages", round_down(8 * llc), 0, false, false},
  };
  nlohmann::ordered_json bandwidth = nlohmann::ordered_json::object();
  for (const Level& level : levels) {
    nlohmann::ordered_json e;
    e["label"] = fmt::format("{} ({})", level.label, human_bytes(level.bytes));
    e["bytes"] = level.bytes;
    if (level.cache > 0) e["cache_bytes"] = level.cache;
    e["huge_pages"] = level.huge_pages;
    Buffer buffer(level.bytes, level.huge_pages);
    if (buffer.data() == nullptr) {
      e["skipped"] = "allocation failed";
    } else {
      ReadRate r =
          best_read(loads, buffer, level.once, level.bytes > (std::size_t{64} << 20) ? 0.12 : 0.04);
      e["gbytes_per_s"] = r.gbytes_per_s;
      e["bytes_per_cycle"] = r.gbytes_per_s / ghz;
      e["streams"] = r.streams;
    }
    bandwidth[level.key] = e;
  }
  out["bandwidth"] = bandwidth;

  if (!text) {
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  fmt::print("lowp_peak: {} ({}), 1 thread on CPU {}, isa {}, clock ~{:.2f} GHz (add chain)\n\n",
             features.brand, features.vendor, cpu, isa_name(isa), ghz);
  fmt::print("{:<28} {:<18} {:>12} {:>10} {:>9}\n", "compute peak", "instruction", "rate",
             "per cycle", "instr/cy");
  for (const auto& [key, e] : compute.items()) {
    if (e.contains("skipped")) {
      fmt::print("{:<28} {:<18} skipped: {}\n", e["label"].get<std::string>(),
                 e["instruction"].get<std::string>(), e["skipped"].get<std::string>());
      continue;
    }
    fmt::print("{:<28} {:<18} {:>6.1f} {:<7} {:>8.1f} {:>9.2f}\n", e["label"].get<std::string>(),
               e["instruction"].get<std::string>(), e["gops"].get<double>(),
               e["unit"].get<std::string>(), e["ops_per_cycle"].get<double>(),
               e["instructions_per_cycle"].get<double>());
  }
  fmt::print("\n{:<47} {:>10} {:>10} {:>8}   loads: {}\n", "read bandwidth", "GB/s", "B/cycle",
             "streams", loads.name);
  for (const auto& [key, e] : bandwidth.items()) {
    if (e.contains("skipped")) {
      fmt::print("{:<47} skipped: {}\n", e["label"].get<std::string>(),
                 e["skipped"].get<std::string>());
      continue;
    }
    fmt::print("{:<47} {:>10.1f} {:>10.1f} {:>8}\n", e["label"].get<std::string>(),
               e["gbytes_per_s"].get<double>(), e["bytes_per_cycle"].get<double>(),
               e["streams"].get<int>());
  }
  return 0;
}

}  // namespace
}  // namespace lowp::peak

int main(int argc, char** argv) {
  CLI::App app{
      "lowp_peak: single-thread compute peaks and read bandwidths (the roofline's ceilings)"};
  bool text = false;
  std::size_t dram_mib = 1024;
  app.add_flag("--text", text, "Print a table instead of JSON");
  app.add_option("--dram-mib", dram_mib, "DRAM buffer size in MiB (at least 8x the L3 is used)")
      ->check(CLI::Range(64, 1 << 16));
  CLI11_PARSE(app, argc, argv);
  try {
    return lowp::peak::run(text, dram_mib << 20);
  } catch (const std::exception& e) {
    fmt::print(stderr, "lowp_peak: error: {}\n", e.what());
    return 1;
  }
}
