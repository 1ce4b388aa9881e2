// tools/lowp/gemm_bench.cc
#include "gemm_bench.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <memory>
#include <vector>

#include "base/error.h"
#include "base/random.h"
#include "base/thread_pool.h"
#include "base/timer.h"
#include "kernels/bf16dot/bf16dot.h"
#include "kernels/convert/convert.h"
#include "kernels/gemm/gemm.h"
#include "kernels/q4dot/q4dot.h"
#include "kernels/qgemm/qgemm.h"
#include "quant/weight_quant.h"

namespace lowp::cli {
namespace {

// The last-level cache size from sysfs (cpuid-derived sizes are often wrong in VMs);
// 64 MiB when it cannot be read.
std::size_t last_level_cache_bytes() {
  for (int index = 4; index >= 2; --index) {
    std::ifstream in("/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/size");
    std::string text;
    if (in >> text && !text.empty()) {
      std::size_t value = std::stoull(text);
      char unit = text.back();
      if (unit == 'K') value <<= 10;
      if (unit == 'M') value <<= 20;
      return value;
    }
  }
  return std::size_t{64} << 20;
}

std::vector<float> random_floats(std::size_t n, std::uint64_t seed) {
  Random rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = rng.uniform(-1.0f, 1.0f);
  return v;
}

}  // namespace

GemmBenchResult run_gemm_bench(const GemmBenchOptions& o) {
  LOWP_CHECK(o.m >= 1 && o.n >= 1 && o.k >= 1, "bench gemm: m, n and k must be at least 1");
  LOWP_CHECK(o.group >= 1, "bench gemm: group {} must be at least 1", o.group);
  const std::size_t m = static_cast<std::size_t>(o.m), n = static_cast<std::size_t>(o.n),
                    k = static_cast<std::size_t>(o.k);
  checked_mul(checked_mul(m, k, "bench gemm A"), 4, "bench gemm A");
  checked_mul(checked_mul(n, k, "bench gemm weights"), 4, "bench gemm weights");
  GemmBenchResult result;
  std::vector<float> w = random_floats(n * k, 1);

  // Stored bytes of one weight copy.
  switch (o.dtype) {
    case Precision::fp32:
      result.weight_bytes = 4 * n * k;
      break;
    case Precision::fp16:
    case Precision::bf16:
      result.weight_bytes = 2 * n * k;
      break;
    case Precision::int8:
      result.weight_bytes = n * k + 4 * n;
      break;
    case Precision::int4:
      result.weight_bytes =
          (n * k + 1) / 2 +
          4 * n * ((k + static_cast<std::size_t>(o.group) - 1) / static_cast<std::size_t>(o.group));
      break;
  }
  if (o.cold) {
    std::size_t target = 8 * last_level_cache_bytes();
    result.copies = static_cast<int>(
        std::max<std::size_t>(2, (target + result.weight_bytes - 1) / result.weight_bytes));
  }

  ThreadPool pool(o.threads);
  ThreadPool* maybe_pool = o.threads > 1 ? &pool : nullptr;
  std::function<void(int)> call;  // runs the GEMM on weight copy i

  // Float-output kernels.
  std::vector<PackedGemmWeights> packed;
  std::vector<float> a = random_floats(m * k, 2);
  std::vector<float> c(m * n);
  // int8.
  std::vector<PackedQGemmWeights> qpacked;
  AlignedBuffer<std::int32_t> offsets;
  AlignedBuffer<float> scales;
  AlignedBuffer<std::uint8_t> a_u8;
  AlignedBuffer<std::int32_t> dynamic_offsets;
  QGemmDynamicScratch dynamic_scratch;

  std::vector<PackedQ4DotWeights> q4packed;
  QuantizedRows q4scratch;
  std::vector<PackedBf16DotWeights> bf16packed;
  AlignedBuffer<std::uint16_t> a_bf16;

  if (o.dtype == Precision::bf16 && !o.weights_only) {
    std::vector<std::uint16_t> bits(n * k);
    convert_f32_to_bf16(w.data(), bits.data(), bits.size());
    for (int i = 0; i < result.copies; ++i)
      bf16packed.push_back(pack_bf16dot(bits.data(), o.n, o.k));
    const std::size_t lda = static_cast<std::size_t>(bf16packed.front().padded_k());
    a_bf16 = AlignedBuffer<std::uint16_t>(m * lda);
    result.kernel = bf16dot_kernel_name();
    // Activations arrive in fp32: their conversion to bf16 is part of every call.
    call = [&, lda](int i) {
      bf16dot_convert_rows(a.data(), o.m, k, o.k, a_bf16.data(), lda);
      Bf16DotArgs args{
          o.m,     a_bf16.data(),    lda,      &bf16packed[static_cast<std::size_t>(i)],
          nullptr, Activation::none, c.data(), n,
          {}};
      bf16dot_gemm(args, maybe_pool);
    };
  } else

      if (o.dtype == Precision::int4 && !o.weights_only) {
    QuantizedWeights q4 = quantize_groupwise_s4(w.data(), o.n, o.k, o.group);
    std::vector<std::uint8_t> u(q4.q.size());
    for (std::size_t i = 0; i < u.size(); ++i) u[i] = static_cast<std::uint8_t>(q4.q[i] + 8);
    for (int i = 0; i < result.copies; ++i) {
      q4packed.push_back(pack_q4dot(u.data(), q4.scales.data(), nullptr, o.n, o.k, o.group));
    }
    result.kernel = q4dot_kernel_name();
    call = [&](int i) {
      q4dot_gemm(a.data(), o.m, k, q4packed[static_cast<std::size_t>(i)], nullptr, Activation::none,
                 c.data(), n, q4scratch, maybe_pool);
    };
  } else if (o.dtype != Precision::int8) {
    std::vector<std::uint16_t> bits(n * k);
    QuantizedWeights q4;
    if (o.dtype == Precision::fp16) convert_f32_to_f16(w.data(), bits.data(), bits.size());
    if (o.dtype == Precision::bf16) convert_f32_to_bf16(w.data(), bits.data(), bits.size());
    if (o.dtype == Precision::int4) q4 = quantize_groupwise_s4(w.data(), o.n, o.k, o.group);
    for (int i = 0; i < result.copies; ++i) {
      switch (o.dtype) {
        case Precision::fp32:
          packed.push_back(pack_gemm_f32(w.data(), o.n, o.k));
          break;
        case Precision::fp16:
          packed.push_back(pack_gemm_f16(bits.data(), o.n, o.k));
          break;
        case Precision::bf16:
          packed.push_back(pack_gemm_bf16(bits.data(), o.n, o.k));
          break;
        case Precision::int4:
          packed.push_back(pack_gemm_q4(q4.q.data(), q4.scales.data(), o.n, o.k, o.group));
          break;
        case Precision::int8:
          break;
      }
    }
    result.kernel = gemm_kernel_name(packed.front().type);
    call = [&](int i) {
      GemmArgs args;
      args.m = o.m;
      args.a = a.data();
      args.lda = k;
      args.w = &packed[static_cast<std::size_t>(i)];
      args.c = c.data();
      args.ldc = n;
      gemm(args, maybe_pool);
    };
  } else {
    QuantizedWeights q8 = quantize_per_channel_s8(w.data(), o.n, o.k);
    for (int i = 0; i < result.copies; ++i) qpacked.push_back(pack_qgemm(q8.q.data(), o.n, o.k));
    const PackedQGemmWeights& first = qpacked.front();
    offsets = qgemm_column_offsets(first, 128, nullptr);
    scales = AlignedBuffer<float>(offsets.size());
    std::fill_n(scales.data(), scales.size(), 1e-4f);
    std::size_t lda = static_cast<std::size_t>(first.padded_k());
    a_u8 = AlignedBuffer<std::uint8_t>(m * lda);
    Random rng(3);
    for (std::size_t i = 0; i < a_u8.size(); ++i)
      a_u8[i] = static_cast<std::uint8_t>(rng.below(256));
    result.kernel = qgemm_kernel_name();
    if (o.int8_dynamic) {
      dynamic_offsets = qgemm_column_offsets(first, 128, nullptr);
      call = [&](int i) {
        qgemm_dynamic(a.data(), o.m, k, qpacked[static_cast<std::size_t>(i)],
                      dynamic_offsets.data(), scales.data(), nullptr, Activation::none, c.data(), n,
                      dynamic_scratch, maybe_pool);
      };
    } else
      call = [&, lda](int i) {
        QGemmArgs args;
        args.m = o.m;
        args.a = a_u8.data();
        args.lda = lda;
        args.w = &qpacked[static_cast<std::size_t>(i)];
        args.offset = offsets.data();
        args.scale = scales.data();
        args.c_f32 = c.data();
        args.ldc = n;
        qgemm(args, maybe_pool);
      };
  }

  // Warm up, then 5 repeats of at least min_seconds; the median time per call.
  for (int i = 0; i < std::min(result.copies, 8); ++i) call(i);
  std::vector<double> per_call;
  int next = 0;
  for (int repeat = 0; repeat < 5; ++repeat) {
    Stopwatch watch;
    long calls = 0;
    do {
      call(next);
      next = (next + 1) % result.copies;
      ++calls;
    } while (watch.seconds() < o.min_seconds);
    per_call.push_back(watch.seconds() / static_cast<double>(calls));
  }
  result.seconds_per_call = median(per_call);
  result.gflops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) /
                  result.seconds_per_call * 1e-9;
  result.weight_gbytes_per_s =
      static_cast<double>(result.weight_bytes) / result.seconds_per_call * 1e-9;
  return result;
}

}  // namespace lowp::cli
