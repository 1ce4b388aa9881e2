// kernels/dispatch.h: best-first kernel lists and the walk that picks one.
//
// Each kernel family declares one array of KernelEntry, best first, ending with a scalar
// entry that runs anywhere. That one list drives dispatch (the first entry whose ISA level
// the active level covers), the tests (every entry the CPU supports, against the family's
// reference) and `lowp inspect --kernels`. Adding a variant is one line in its list.
//
// Kernel names state the contract, XNNPACK-style: <types>_<op>[_<fusion>]_<tile>__<isa>,
// e.g. f32_gemm_bias_relu_4x64__avx512 (docs/design.md has the scheme).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "base/cpu.h"
#include "base/error.h"

namespace lowp {

template <class Fn>
struct KernelEntry {
  const char* name;
  IsaLevel isa;
  Fn fn;
};

template <class Fn>
const KernelEntry<Fn>& pick_kernel(std::span<const KernelEntry<Fn>> list, IsaLevel level) {
  for (const KernelEntry<Fn>& entry : list) {
    if (entry.isa <= level) return entry;
  }
  fail("no kernel in list of {} entries runs at ISA level {}", list.size(), isa_name(level));
}

// Entries the given level can run (for tests: every path this CPU supports).
template <class Fn>
std::vector<KernelEntry<Fn>> runnable_kernels(std::span<const KernelEntry<Fn>> list,
                                              IsaLevel level) {
  std::vector<KernelEntry<Fn>> out;
  for (const KernelEntry<Fn>& entry : list) {
    if (entry.isa <= level) out.push_back(entry);
  }
  return out;
}

// What `lowp inspect --kernels` prints: each family, its variants, and the chosen one.
struct KernelFamilyInfo {
  std::string family;
  std::vector<std::pair<std::string, IsaLevel>> variants;  // best first
};
std::vector<KernelFamilyInfo> kernel_catalog();

template <class Fn>
KernelFamilyInfo describe_family(const char* family, std::span<const KernelEntry<Fn>> list) {
  KernelFamilyInfo info{family, {}};
  for (const KernelEntry<Fn>& e : list) info.variants.emplace_back(e.name, e.isa);
  return info;
}

}  // namespace lowp
