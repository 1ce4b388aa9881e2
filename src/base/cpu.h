// base/cpu.h: CPU feature detection and the ISA level that kernel dispatch uses.
//
// Features are read once with cpuid, and the OS's consent to save the wide registers with
// xgetbv (a CPU with AVX-512 under an OS that does not enable ZMM state must not use it).
// Kernels do not test features one by one: they declare the IsaLevel they need, and each
// kernel family walks its best-first list to the first entry at or below the active level.
// The environment variable LOWP_ISA=scalar|avx2|avx512|avx512vnni|avx512bf16 lowers the
// active level, to test or compare paths; asking for more than the CPU has is an error.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lowp {

// Ordered: each level implies the ones before it.
enum class IsaLevel : int {
  scalar = 0,
  avx2 = 1,        // AVX2 + FMA + F16C
  avx512 = 2,      // AVX-512 F, BW, DQ, VL
  avx512vnni = 3,  // + AVX512-VNNI (vpdpbusd)
  avx512bf16 = 4,  // + AVX512-BF16 (vdpbf16ps, vcvtneps2bf16)
};
inline constexpr IsaLevel kAllIsaLevels[] = {IsaLevel::scalar, IsaLevel::avx2, IsaLevel::avx512,
                                             IsaLevel::avx512vnni, IsaLevel::avx512bf16};

struct CpuFeatures {
  std::string vendor;
  std::string brand;
  bool sse42 = false;
  bool avx = false;
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512dq = false;
  bool avx512vl = false;
  bool avx512vnni = false;
  bool avx512bf16 = false;
  bool os_saves_ymm = false;  // XCR0 bits 1, 2
  bool os_saves_zmm = false;  // XCR0 bits 5, 6, 7
};

// Reads cpuid and xgetbv. Cheap, but callers normally use cpu_features().
CpuFeatures detect_cpu_features();
const CpuFeatures& cpu_features();

// The highest level whose every feature the CPU (and OS) supports.
IsaLevel highest_isa_level(const CpuFeatures& features);
IsaLevel supported_isa();

// The level kernels dispatch at: supported_isa(), lowered by LOWP_ISA when set. Throws
// lowp::Error when LOWP_ISA names an unknown level or one the CPU does not support.
IsaLevel active_isa();
// The same decision as active_isa(), with the override passed in (for tests).
IsaLevel resolve_isa(IsaLevel supported, const char* override_value);

const char* isa_name(IsaLevel level);
std::optional<IsaLevel> parse_isa(std::string_view name);

}  // namespace lowp
