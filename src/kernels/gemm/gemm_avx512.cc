// kernels/gemm/gemm_avx512.cc: AVX-512 dense-layer kernels for fp32, fp16, bf16 and int4
// weights (fp32 activations and accumulation).
//
// A tile is MR rows x NB panels of 16 outputs: at every k, NB panel rows are loaded and
// widened to fp32 (vcvtph2ps for fp16, a 16-bit shift for bf16, nibble unpack for int4),
// and each row's activation is broadcast into MR x NB FMAs. MR = 4 and NB = 4 keep 16 of the
// 32 zmm registers as accumulators (int4 uses NB = 2, as its group partial sums double
// them). Output columns past n are masked off, never written.
#include <immintrin.h>

#include "kernels/activation_avx512.h"

#include "kernels/gemm/gemm_variants.h"
#include "kernels/tile_table.h"

namespace lowp {
namespace {

struct F32Panel {
  static constexpr bool kGrouped = false;
  static __m512 load(const std::byte* panel, int kk, std::size_t) {
    return _mm512_loadu_ps(reinterpret_cast<const float*>(panel) + kk * kGemmPanel);
  }
};

// fp16 panels may be stored in blocks (PackedGemmWeights::blocked_panels): `stride` bytes
// from one k to the next. The other types ignore it.
struct F16Panel {
  static constexpr bool kGrouped = false;
  static __m512 load(const std::byte* panel, int kk, std::size_t stride) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(panel + static_cast<std::size_t>(kk) * stride)));
  }
};

struct BF16Panel {
  static constexpr bool kGrouped = false;
  static __m512 load(const std::byte* panel, int kk, std::size_t) {
    __m256i bits = _mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(panel + static_cast<std::size_t>(kk) * 32));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16));
  }
};

struct Q4Panel {
  static constexpr bool kGrouped = true;
  static __m512 load(const std::byte* panel, int kk, std::size_t) {
    __m128i packed =
        _mm_loadl_epi64(reinterpret_cast<const __m128i*>(panel + static_cast<std::size_t>(kk) * 8));
    const __m128i low_mask = _mm_set1_epi8(0x0F);
    __m128i lo = _mm_and_si128(packed, low_mask);
    __m128i hi = _mm_and_si128(_mm_srli_epi16(packed, 4), low_mask);
    __m128i nibbles = _mm_unpacklo_epi8(lo, hi);  // output j in byte j, 0..15
    // Sign-extend 4-bit two's complement: (x ^ 8) - 8.
    const __m128i eight = _mm_set1_epi8(8);
    __m128i values = _mm_sub_epi8(_mm_xor_si128(nibbles, eight), eight);
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(values));
  }
};

template <class Panel>
struct Tiles {
  template <int MR, int NB>
  struct Tile {
    static void run(const GemmArgs& args, int row, int panel0) {
      const PackedGemmWeights& w = *args.w;
      const std::byte* panels[NB];
      for (int nb = 0; nb < NB; ++nb) {
        panels[nb] = w.panel_start(panel0 + nb);
      }
      const float* a = args.a + static_cast<std::size_t>(row) * args.lda;
      const std::size_t stride = w.k_stride();
      __m512 acc[MR][NB];
      for (int r = 0; r < MR; ++r)
        for (int nb = 0; nb < NB; ++nb) acc[r][nb] = _mm512_setzero_ps();

      auto accumulate = [&](__m512(&sum)[MR][NB], int k_begin, int k_end) {
        for (int kk = k_begin; kk < k_end; ++kk) {
          __m512 b[NB];
          for (int nb = 0; nb < NB; ++nb) b[nb] = Panel::load(panels[nb], kk, stride);
          for (int r = 0; r < MR; ++r) {
            __m512 av = _mm512_set1_ps(a[r * args.lda + kk]);
            for (int nb = 0; nb < NB; ++nb) sum[r][nb] = _mm512_fmadd_ps(av, b[nb], sum[r][nb]);
          }
        }
      };

      if constexpr (!Panel::kGrouped) {
        accumulate(acc, 0, w.k);
      } else {
        int groups = w.groups();
        for (int g = 0; g < groups; ++g) {
          __m512 part[MR][NB];
          for (int r = 0; r < MR; ++r)
            for (int nb = 0; nb < NB; ++nb) part[r][nb] = _mm512_setzero_ps();
          int k_end = (g + 1) * w.group_size < w.k ? (g + 1) * w.group_size : w.k;
          accumulate(part, g * w.group_size, k_end);
          for (int nb = 0; nb < NB; ++nb) {
            __m512 s =
                _mm512_loadu_ps(w.group_scales.data() +
                                (static_cast<std::size_t>(panel0 + nb) * groups + g) * kGemmPanel);
            for (int r = 0; r < MR; ++r) acc[r][nb] = _mm512_fmadd_ps(part[r][nb], s, acc[r][nb]);
          }
        }
      }

      for (int nb = 0; nb < NB; ++nb) {
        int col = (panel0 + nb) * kGemmPanel;
        int cols = w.n - col < kGemmPanel ? w.n - col : kGemmPanel;
        __mmask16 mask = static_cast<__mmask16>((1u << cols) - 1u);
        __m512 bias = args.bias != nullptr ? _mm512_maskz_loadu_ps(mask, args.bias + col)
                                           : _mm512_setzero_ps();
        for (int r = 0; r < MR; ++r) {
          __m512 v = _mm512_add_ps(acc[r][nb], bias);
          v = activate16(v, args.act);
          _mm512_mask_storeu_ps(args.c + static_cast<std::size_t>(row + r) * args.ldc + col, mask,
                                v);
        }
      }
    }
  };
};

template <class Panel, int MR, int NB>
void run(const GemmArgs& args) {
  static constexpr TileTable<GemmArgs, Tiles<Panel>::template Tile, MR, NB> table;
  // Batch 1 streams the weights: 8 panels per tile keep more cache lines in flight
  // (cold 1x4096x4096 fp16 30 -> 32.5 GB/s, fp32 35 -> 37, alternating runs).
  static constexpr TileTable<GemmArgs, Tiles<Panel>::template Tile, 1, 8> wide;
  if (args.m == 1) {
    for_each_tile<1, 8>(wide, args, 1, args.panels.begin, args.panels.end_or(args.w->panels()));
    return;
  }
  for_each_tile<MR, NB>(table, args, args.m, args.panels.begin,
                        args.panels.end_or(args.w->panels()));
}

}  // namespace

void gemm_f32_avx512(const GemmArgs& args) {
  run<F32Panel, 4, 4>(args);
}
void gemm_f16_avx512(const GemmArgs& args) {
  run<F16Panel, 4, 4>(args);
}
void gemm_bf16_avx512(const GemmArgs& args) {
  run<BF16Panel, 4, 4>(args);
}
void gemm_q4_avx512(const GemmArgs& args) {
  run<Q4Panel, 4, 2>(args);
}

}  // namespace lowp
