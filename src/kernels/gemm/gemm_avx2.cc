// kernels/gemm/gemm_avx2.cc: AVX2 + FMA + F16C dense-layer kernels for fp32, fp16, bf16
// and int4 weights (fp32 activations and accumulation).
//
// A 16-output panel row is two ymm registers. A tile is MR rows x 1 panel with MR = 4
// (8 accumulators of the 16 ymm registers), MR = 2 for int4 whose group partial sums
// double the accumulators. Output columns past n go through a masked store.
#include <immintrin.h>

#include "kernels/activation_avx2.h"

#include "kernels/gemm/gemm_variants.h"
#include "kernels/tile_table.h"

namespace lowp {
namespace {

struct Pair {
  __m256 lo, hi;
};

struct F32Panel {
  static constexpr bool kGrouped = false;
  static Pair load(const std::byte* panel, int kk, std::size_t) {
    const float* p = reinterpret_cast<const float*>(panel) + kk * kGemmPanel;
    return {_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)};
  }
};

// fp16 panels may be stored in blocks (PackedGemmWeights::blocked_panels): `stride` bytes
// from one k to the next. The other types ignore it.
struct F16Panel {
  static constexpr bool kGrouped = false;
  static Pair load(const std::byte* panel, int kk, std::size_t stride) {
    const auto* p = reinterpret_cast<const __m128i*>(panel + static_cast<std::size_t>(kk) * stride);
    return {_mm256_cvtph_ps(_mm_loadu_si128(p)), _mm256_cvtph_ps(_mm_loadu_si128(p + 1))};
  }
};

struct BF16Panel {
  static constexpr bool kGrouped = false;
  static __m256 widen(__m128i bits) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(bits), 16));
  }
  static Pair load(const std::byte* panel, int kk, std::size_t) {
    const auto* p = reinterpret_cast<const __m128i*>(panel + static_cast<std::size_t>(kk) * 32);
    return {widen(_mm_loadu_si128(p)), widen(_mm_loadu_si128(p + 1))};
  }
};

struct Q4Panel {
  static constexpr bool kGrouped = true;
  static Pair load(const std::byte* panel, int kk, std::size_t) {
    __m128i packed =
        _mm_loadl_epi64(reinterpret_cast<const __m128i*>(panel + static_cast<std::size_t>(kk) * 8));
    const __m128i low_mask = _mm_set1_epi8(0x0F);
    __m128i lo = _mm_and_si128(packed, low_mask);
    __m128i hi = _mm_and_si128(_mm_srli_epi16(packed, 4), low_mask);
    __m128i nibbles = _mm_unpacklo_epi8(lo, hi);  // output j in byte j
    const __m128i eight = _mm_set1_epi8(8);
    __m128i values = _mm_sub_epi8(_mm_xor_si128(nibbles, eight), eight);  // sign-extend
    return {_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(values)),
            _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(values, 8)))};
  }
};

// Lane mask for a masked store of the first `count` (0..8) floats.
__m256i first_lanes(int count) {
  const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), index);
}

template <class Panel>
struct Tiles {
  template <int MR, int NB>
  struct Tile {
    static_assert(NB == 1, "AVX2 tiles are one panel wide");
    static void run(const GemmArgs& args, int row, int panel0) {
      const PackedGemmWeights& w = *args.w;
      const std::byte* panel = w.panel_start(panel0);
      const std::size_t stride = w.k_stride();
      const float* a = args.a + static_cast<std::size_t>(row) * args.lda;
      __m256 acc_lo[MR], acc_hi[MR];
      for (int r = 0; r < MR; ++r) acc_lo[r] = acc_hi[r] = _mm256_setzero_ps();

      auto accumulate = [&](__m256(&lo)[MR], __m256(&hi)[MR], int k_begin, int k_end) {
        for (int kk = k_begin; kk < k_end; ++kk) {
          Pair b = Panel::load(panel, kk, stride);
          for (int r = 0; r < MR; ++r) {
            __m256 av = _mm256_broadcast_ss(a + r * args.lda + kk);
            lo[r] = _mm256_fmadd_ps(av, b.lo, lo[r]);
            hi[r] = _mm256_fmadd_ps(av, b.hi, hi[r]);
          }
        }
      };

      if constexpr (!Panel::kGrouped) {
        accumulate(acc_lo, acc_hi, 0, w.k);
      } else {
        int groups = w.groups();
        for (int g = 0; g < groups; ++g) {
          __m256 part_lo[MR], part_hi[MR];
          for (int r = 0; r < MR; ++r) part_lo[r] = part_hi[r] = _mm256_setzero_ps();
          int k_end = (g + 1) * w.group_size < w.k ? (g + 1) * w.group_size : w.k;
          accumulate(part_lo, part_hi, g * w.group_size, k_end);
          const float* s =
              w.group_scales.data() + (static_cast<std::size_t>(panel0) * groups + g) * kGemmPanel;
          __m256 s_lo = _mm256_loadu_ps(s), s_hi = _mm256_loadu_ps(s + 8);
          for (int r = 0; r < MR; ++r) {
            acc_lo[r] = _mm256_fmadd_ps(part_lo[r], s_lo, acc_lo[r]);
            acc_hi[r] = _mm256_fmadd_ps(part_hi[r], s_hi, acc_hi[r]);
          }
        }
      }

      int col = panel0 * kGemmPanel;
      int cols = w.n - col < kGemmPanel ? w.n - col : kGemmPanel;
      __m256i mask_lo = first_lanes(cols < 8 ? cols : 8);
      __m256i mask_hi = first_lanes(cols > 8 ? cols - 8 : 0);
      __m256 bias_lo = _mm256_setzero_ps(), bias_hi = _mm256_setzero_ps();
      if (args.bias != nullptr) {
        bias_lo = _mm256_maskload_ps(args.bias + col, mask_lo);
        bias_hi = _mm256_maskload_ps(args.bias + col + 8, mask_hi);
      }
      for (int r = 0; r < MR; ++r) {
        __m256 lo = _mm256_add_ps(acc_lo[r], bias_lo);
        __m256 hi = _mm256_add_ps(acc_hi[r], bias_hi);
        lo = activate8(lo, args.act);
        hi = activate8(hi, args.act);
        float* c = args.c + static_cast<std::size_t>(row + r) * args.ldc + col;
        _mm256_maskstore_ps(c, mask_lo, lo);
        _mm256_maskstore_ps(c + 8, mask_hi, hi);
      }
    }
  };
};

template <class Panel, int MR>
void run(const GemmArgs& args) {
  static constexpr TileTable<GemmArgs, Tiles<Panel>::template Tile, MR, 1> table;
  for_each_tile<MR, 1>(table, args, args.m, args.panels.begin,
                       args.panels.end_or(args.w->panels()));
}

}  // namespace

void gemm_f32_avx2(const GemmArgs& args) {
  run<F32Panel, 4>(args);
}
void gemm_f16_avx2(const GemmArgs& args) {
  run<F16Panel, 4>(args);
}
void gemm_bf16_avx2(const GemmArgs& args) {
  run<BF16Panel, 4>(args);
}
void gemm_q4_avx2(const GemmArgs& args) {
  run<Q4Panel, 2>(args);
}

}  // namespace lowp
