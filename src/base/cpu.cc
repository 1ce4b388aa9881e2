// base/cpu.cc: cpuid / xgetbv reads behind base/cpu.h.
#include "base/cpu.h"

#include <cpuid.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "base/error.h"

namespace lowp {
namespace {

struct CpuidRegs {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
};

CpuidRegs cpuid(unsigned leaf, unsigned subleaf) {
  CpuidRegs r;
  __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
  return r;
}

std::uint64_t xgetbv0() {
  std::uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<std::uint64_t>(hi) << 32) | lo;
}

bool bit(unsigned reg, int n) {
  return ((reg >> n) & 1u) != 0;
}

}  // namespace

CpuFeatures detect_cpu_features() {
  CpuFeatures f;
  unsigned max_leaf = __get_cpuid_max(0, nullptr);
  CpuidRegs v = cpuid(0, 0);
  char vendor[13] = {};
  std::memcpy(vendor + 0, &v.ebx, 4);
  std::memcpy(vendor + 4, &v.edx, 4);
  std::memcpy(vendor + 8, &v.ecx, 4);
  f.vendor = vendor;

  if (__get_cpuid_max(0x80000000, nullptr) >= 0x80000004) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      CpuidRegs b = cpuid(0x80000002 + i, 0);
      std::memcpy(brand + 16 * i + 0, &b.eax, 4);
      std::memcpy(brand + 16 * i + 4, &b.ebx, 4);
      std::memcpy(brand + 16 * i + 8, &b.ecx, 4);
      std::memcpy(brand + 16 * i + 12, &b.edx, 4);
    }
    f.brand = brand;
    while (!f.brand.empty() && f.brand.back() == ' ') f.brand.pop_back();
  }
  if (max_leaf < 1) return f;

  CpuidRegs l1 = cpuid(1, 0);
  f.sse42 = bit(l1.ecx, 20);
  f.fma = bit(l1.ecx, 12);
  f.f16c = bit(l1.ecx, 29);
  bool osxsave = bit(l1.ecx, 27);
  f.avx = bit(l1.ecx, 28);
  if (osxsave) {
    std::uint64_t xcr0 = xgetbv0();
    f.os_saves_ymm = (xcr0 & 0x6) == 0x6;
    f.os_saves_zmm = f.os_saves_ymm && (xcr0 & 0xE0) == 0xE0;
  }
  if (max_leaf >= 7) {
    CpuidRegs l7 = cpuid(7, 0);
    f.avx2 = bit(l7.ebx, 5);
    f.avx512f = bit(l7.ebx, 16);
    f.avx512dq = bit(l7.ebx, 17);
    f.avx512bw = bit(l7.ebx, 30);
    f.avx512vl = bit(l7.ebx, 31);
    f.avx512vnni = bit(l7.ecx, 11);
    if (l7.eax >= 1) {
      CpuidRegs l71 = cpuid(7, 1);
      f.avx512bf16 = bit(l71.eax, 5);
    }
  }
  return f;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect_cpu_features();
  return features;
}

IsaLevel highest_isa_level(const CpuFeatures& f) {
  bool avx2 = f.avx && f.avx2 && f.fma && f.f16c && f.os_saves_ymm;
  if (!avx2) return IsaLevel::scalar;
  bool avx512 = f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl && f.os_saves_zmm;
  if (!avx512) return IsaLevel::avx2;
  if (!f.avx512vnni) return IsaLevel::avx512;
  if (!f.avx512bf16) return IsaLevel::avx512vnni;
  return IsaLevel::avx512bf16;
}

IsaLevel supported_isa() {
  static const IsaLevel level = highest_isa_level(cpu_features());
  return level;
}

IsaLevel resolve_isa(IsaLevel supported, const char* override_value) {
  if (override_value == nullptr || *override_value == '\0') return supported;
  std::optional<IsaLevel> wanted = parse_isa(override_value);
  LOWP_CHECK(wanted.has_value(),
             "LOWP_ISA={}: unknown ISA; use scalar, avx2, avx512, avx512vnni or avx512bf16",
             override_value);
  LOWP_CHECK(*wanted <= supported, "LOWP_ISA={}: this CPU supports only up to {}", override_value,
             isa_name(supported));
  return *wanted;
}

IsaLevel active_isa() {
  static const IsaLevel level = resolve_isa(supported_isa(), std::getenv("LOWP_ISA"));
  return level;
}

const char* isa_name(IsaLevel level) {
  switch (level) {
    case IsaLevel::scalar:
      return "scalar";
    case IsaLevel::avx2:
      return "avx2";
    case IsaLevel::avx512:
      return "avx512";
    case IsaLevel::avx512vnni:
      return "avx512vnni";
    case IsaLevel::avx512bf16:
      return "avx512bf16";
  }
  return "unknown";
}

std::optional<IsaLevel> parse_isa(std::string_view name) {
  for (IsaLevel level : kAllIsaLevels) {
    if (name == isa_name(level)) return level;
  }
  return std::nullopt;
}

}  // namespace lowp
