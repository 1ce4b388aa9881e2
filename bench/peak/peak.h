// bench/peak/peak.h: the loops behind `lowp_peak`, which measures this machine's roofline
// ceilings (single-thread compute peaks and read bandwidths) for bench/run_kernels.sh.
//
// Each loop lives in the translation unit of its instruction set (peak_avx2.cc,
// peak_avx512.cc, ...), which alone gets that ISA's -m flags (cmake/isa.cmake); peak_main.cc
// is baseline x86-64 and calls a loop only after runtime detection says the CPU has it. A
// compute loop runs `blocks` blocks of kAccumulators independent instructions, enough
// independent chains to cover latency x throughput on current cores (4-6 cycles x 2 per
// cycle), and returns a value that depends on every accumulator so the work cannot be
// dropped. A read loop sums `bytes` bytes (a multiple of streams x kReadStep, 64-byte
// aligned) as `streams` (1 or 2) equal contiguous parts read side by side: one stream keeps a
// single prefetcher busy, two give a single core more misses in flight, which on some
// machines (this project's Zen 5 VM) reads DRAM ~10% faster.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lowp::peak {

// ymm code has 16 registers: 12 accumulators + 2 operands. zmm code has 32.
inline constexpr int kYmmAccumulators = 12;
inline constexpr int kZmmAccumulators = 16;
// Bytes per stream per iteration of every read loop: 8 accumulators, 64 bytes each.
inline constexpr std::size_t kReadStep = 512;

// peak_baseline.cc, baseline x86-64.
std::uint64_t add_chain(std::int64_t blocks);  // kAddChainLength dependent adds per block
inline constexpr int kAddChainLength = 128;
std::uint64_t read_sse2(const std::byte* p, std::size_t bytes, int streams);

// peak_avx2.cc: vfmadd231ps ymm (8 lanes x 2 flops).
float fma_f32_ymm(std::int64_t blocks);
std::uint64_t read_avx2(const std::byte* p, std::size_t bytes, int streams);

// peak_avx512.cc: vfmadd231ps zmm (16 lanes x 2 flops); 64-byte loads.
float fma_f32_zmm(std::int64_t blocks);
std::uint64_t read_avx512(const std::byte* p, std::size_t bytes, int streams);

// peak_avx512vnni.cc: vpdpbusd zmm (64 u8 x s8 products, 2 ops each, into 16 int32).
std::int32_t dot_u8s8_zmm(std::int64_t blocks);

// peak_avx512bf16.cc: vdpbf16ps zmm (32 bf16 products, 2 flops each, into 16 fp32).
float dot_bf16_zmm(std::int64_t blocks);

}  // namespace lowp::peak
