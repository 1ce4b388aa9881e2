// kernels/pool/pool2d.cc: the reference pooling, the list and the driver.
#include "kernels/pool/pool2d.h"

#include <algorithm>
#include <cstring>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "base/error.h"
#include "kernels/parallel.h"

namespace lowp {

void pool2d_ref(const Pool2dArgs& args) {
  const Conv2dShape& s = *args.shape;
  const int c_count = s.in_c, ow_count = s.out_w();
  for (int oh = args.row_begin; oh < args.row_end; ++oh) {
    for (int ow = 0; ow < ow_count; ++ow) {
      float* out = args.output + (static_cast<std::size_t>(oh) * ow_count + ow) * c_count;
      for (int c = 0; c < c_count; ++c) {
        float acc = args.kind == PoolKind::max ? -std::numeric_limits<float>::infinity() : 0.0f;
        int count = 0;
        for (int kh = 0; kh < s.kernel_h; ++kh) {
          int ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
          for (int kw = 0; kw < s.kernel_w; ++kw) {
            int iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
            if (ih < 0 || ih >= s.in_h || iw < 0 || iw >= s.in_w) continue;
            float x = args.input[(static_cast<std::size_t>(ih) * s.in_w + iw) * c_count + c];
            acc = args.kind == PoolKind::max ? std::max(acc, x) : acc + x;
            ++count;
          }
        }
        if (args.kind == PoolKind::average) {
          int divisor = args.count_include_pad ? s.kernel_h * s.kernel_w : count;
          acc = divisor > 0 ? acc / static_cast<float>(divisor) : 0.0f;
        }
        out[c] = acc;
      }
    }
  }
}

namespace {
constexpr KernelEntry<Pool2dFn> kPool2d[] = {
    {"f32_pool2d_16c__avx512", IsaLevel::avx512, pool2d_avx512},
    {"f32_pool2d_8c__avx2", IsaLevel::avx2, pool2d_avx2},
    {"f32_pool2d_1c__scalar", IsaLevel::scalar, pool2d_ref},
};
}  // namespace

std::span<const KernelEntry<Pool2dFn>> pool2d_kernels() {
  return kPool2d;
}

void pool2d(const Conv2dShape& shape, PoolKind kind, bool count_include_pad, const float* input,
            float* output, ThreadPool* pool) {
  Conv2dShape s = shape;
  s.out_c = s.in_c;
  s.groups = 1;
  s.validate();
  static const Pool2dFn fn = pick_kernel(pool2d_kernels(), active_isa()).fn;
  const std::size_t in_image = static_cast<std::size_t>(s.in_h) * s.in_w * s.in_c;
  const std::size_t out_image = static_cast<std::size_t>(s.out_h()) * s.out_w() * s.in_c;
  for (int n = 0; n < s.batch; ++n) {
    split_rows(pool, s.out_h(), [&](std::size_t begin, std::size_t end) {
      Pool2dArgs args{&s,
                      kind,
                      count_include_pad,
                      input + n * in_image,
                      output + n * out_image,
                      static_cast<int>(begin),
                      static_cast<int>(end)};
      fn(args);
    });
  }
}

namespace {

// The larger of two bytes in u8 order (flip 0) or s8 order (flip 0x80: x ^ 0x80 maps s8
// order onto u8 order), returned in the bytes' own encoding. SSE2, which every x86-64 has,
// has the unsigned byte max; flipping in registers keeps one loop for both and needs no
// buffer.
#if defined(__SSE2__)
inline __m128i max16(__m128i a, __m128i b, __m128i flip) {
  return _mm_xor_si128(_mm_max_epu8(_mm_xor_si128(a, flip), _mm_xor_si128(b, flip)), flip);
}
#endif
inline std::uint8_t max1(std::uint8_t a, std::uint8_t b, std::uint8_t flip) {
  return static_cast<std::uint8_t>(std::max<std::uint8_t>(a ^ flip, b ^ flip) ^ flip);
}

// out[i] = max(out[i], b[i]) over n bytes.
inline void max_into(std::uint8_t* out, const std::uint8_t* b, std::size_t n, std::uint8_t flip) {
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128i f = _mm_set1_epi8(static_cast<char>(flip));
  for (; i + 16 <= n; i += 16) {
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(out + i));
    __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), max16(x, y, f));
  }
#endif
  for (; i < n; ++i) out[i] = max1(out[i], b[i], flip);
}

// 8-bit max pooling in u8 (flip 0) or s8 (flip 0x80) order. Each output pixel starts as a
// copy of its first valid cell (every window holds one: the geometry guarantees it), then
// takes the max with the others; a 2x2 / stride-2 window wholly inside takes four loads,
// three maxes and one store per 16 channels.
void max_pool2d_bytes(const Conv2dShape& s, const std::uint8_t* input, std::uint8_t* output,
                      std::uint8_t flip, ThreadPool* pool) {
  s.validate();
  const auto c = static_cast<std::size_t>(s.in_c);
  const std::size_t in_image = static_cast<std::size_t>(s.in_h) * s.in_w * c;
  const std::size_t out_image = static_cast<std::size_t>(s.out_h()) * s.out_w() * c;
  const int out_w = s.out_w();
  const bool window2x2 = s.kernel_h == 2 && s.kernel_w == 2 && s.stride_h == 2 && s.stride_w == 2 &&
                         s.dilation_h == 1 && s.dilation_w == 1 && s.pad_top == 0 && s.pad_left == 0 &&
                         2 * s.out_h() <= s.in_h && 2 * out_w <= s.in_w;
  for (int n = 0; n < s.batch; ++n) {
    const std::uint8_t* in = input + n * in_image;
    std::uint8_t* out_n = output + n * out_image;
    split_rows(pool, s.out_h(), [&](std::size_t begin, std::size_t end) {
      for (auto oh = static_cast<int>(begin); oh < static_cast<int>(end); ++oh) {
        if (window2x2) {
          const std::uint8_t* r0 = in + static_cast<std::size_t>(2 * oh) * s.in_w * c;
          const std::uint8_t* r1 = r0 + static_cast<std::size_t>(s.in_w) * c;
          std::uint8_t* out = out_n + static_cast<std::size_t>(oh) * out_w * c;
          for (int ow = 0; ow < out_w; ++ow, out += c) {
            const std::uint8_t* a = r0 + static_cast<std::size_t>(2 * ow) * c;
            const std::uint8_t* b = r1 + static_cast<std::size_t>(2 * ow) * c;
            std::size_t ch = 0;
#if defined(__SSE2__)
            const __m128i f = _mm_set1_epi8(static_cast<char>(flip));
            for (; ch + 16 <= c; ch += 16) {
              auto ld = [&](const std::uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + ch)); };
              __m128i m = max16(max16(ld(a), ld(a + c), f), max16(ld(b), ld(b + c), f), f);
              _mm_storeu_si128(reinterpret_cast<__m128i*>(out + ch), m);
            }
#endif
            for (; ch < c; ++ch) out[ch] = max1(max1(a[ch], a[c + ch], flip), max1(b[ch], b[c + ch], flip), flip);
          }
          continue;
        }
        for (int ow = 0; ow < out_w; ++ow) {
          std::uint8_t* out = out_n + (static_cast<std::size_t>(oh) * out_w + ow) * c;
          bool first = true;
          for (int kh = 0; kh < s.kernel_h; ++kh) {
            int ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
            if (ih < 0 || ih >= s.in_h) continue;
            const std::uint8_t* row = in + static_cast<std::size_t>(ih) * s.in_w * c;
            for (int kw = 0; kw < s.kernel_w; ++kw) {
              int iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
              if (iw < 0 || iw >= s.in_w) continue;
              const std::uint8_t* cell = row + static_cast<std::size_t>(iw) * c;
              if (first) {
                std::memcpy(out, cell, c);
                first = false;
              } else {
                max_into(out, cell, c, flip);
              }
            }
          }
          if (first) std::fill(out, out + c, flip);  // no valid cell (cannot happen): the type's lowest value
        }
      }
    });
  }
}

}  // namespace

void max_pool2d_u8(const Conv2dShape& shape, const std::uint8_t* input, std::uint8_t* output,
                   ThreadPool* pool) {
  max_pool2d_bytes(shape, input, output, 0, pool);
}
void max_pool2d_s8(const Conv2dShape& shape, const std::int8_t* input, std::int8_t* output,
                   ThreadPool* pool) {
  max_pool2d_bytes(shape, reinterpret_cast<const std::uint8_t*>(input),
                   reinterpret_cast<std::uint8_t*>(output), 0x80, pool);
}

}  // namespace lowp
