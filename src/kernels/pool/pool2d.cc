// kernels/pool/pool2d.cc: the reference pooling, the list and the driver.
#include "kernels/pool/pool2d.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

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

// SSE2 (every x86-64) has the unsigned byte max; s8 data is flipped to u8 order by the
// caller (x ^ 0x80 preserves order between the two encodings), so one loop serves both.
// out[i] = max(a[i], b[i]) over n bytes.
inline void max_bytes3(std::uint8_t* out, const std::uint8_t* a, const std::uint8_t* b, std::size_t n) {
  std::size_t i = 0;
#if defined(__SSE2__)
  for (; i + 16 <= n; i += 16) {
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i));
    __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm_max_epu8(x, y));
  }
#endif
  for (; i < n; ++i) out[i] = std::max(a[i], b[i]);
}

// u8 max pooling; `flip` (0x80 for s8) maps each byte to and from u8 order. Each output
// pixel starts as a copy of its first valid cell (every window holds one: the geometry
// guarantees it), then takes the max with the others.
void max_pool2d_bytes(const Conv2dShape& s, const std::uint8_t* input, std::uint8_t* output,
                      std::uint8_t flip, ThreadPool* pool) {
  s.validate();
  const auto c = static_cast<std::size_t>(s.in_c);
  const std::size_t in_image = static_cast<std::size_t>(s.in_h) * s.in_w * c;
  const std::size_t out_image = static_cast<std::size_t>(s.out_h()) * s.out_w() * c;
  const int out_w = s.out_w();
  // Every window a full 2x2 block at stride 2: no padding that a window reaches.
  const bool window2x2 = s.kernel_h == 2 && s.kernel_w == 2 && s.stride_h == 2 && s.stride_w == 2 &&
                         s.dilation_h == 1 && s.dilation_w == 1 && s.pad_top == 0 && s.pad_left == 0 &&
                         2 * s.out_h() <= s.in_h && 2 * out_w <= s.in_w;
  for (int n = 0; n < s.batch; ++n) {
    const std::uint8_t* in = input + n * in_image;
    std::uint8_t* out_n = output + n * out_image;
    split_rows(pool, s.out_h(), [&](std::size_t begin, std::size_t end) {
      std::vector<std::uint8_t> flipped(flip ? c : 0);
      for (auto oh = static_cast<int>(begin); oh < static_cast<int>(end); ++oh) {
        if (window2x2 && !flip) {
          // The common 2x2 / stride 2 window, wholly inside: four loads, three maxes, one
          // store per 16 channels.
          const std::uint8_t* r0 = in + static_cast<std::size_t>(2 * oh) * s.in_w * c;
          const std::uint8_t* r1 = r0 + static_cast<std::size_t>(s.in_w) * c;
          std::uint8_t* out = out_n + static_cast<std::size_t>(oh) * out_w * c;
          for (int ow = 0; ow < out_w; ++ow, out += c) {
            const std::uint8_t* a = r0 + static_cast<std::size_t>(2 * ow) * c;
            const std::uint8_t* b = r1 + static_cast<std::size_t>(2 * ow) * c;
            std::size_t ch = 0;
#if defined(__SSE2__)
            for (; ch + 16 <= c; ch += 16) {
              auto ld = [&](const std::uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + ch)); };
              __m128i m = _mm_max_epu8(_mm_max_epu8(ld(a), ld(a + c)), _mm_max_epu8(ld(b), ld(b + c)));
              _mm_storeu_si128(reinterpret_cast<__m128i*>(out + ch), m);
            }
#endif
            for (; ch < c; ++ch) out[ch] = std::max(std::max(a[ch], a[c + ch]), std::max(b[ch], b[c + ch]));
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
              if (flip) {
                for (std::size_t ch = 0; ch < c; ++ch) flipped[ch] = cell[ch] ^ flip;
                cell = flipped.data();
              }
              if (first) {
                std::memcpy(out, cell, c);
                first = false;
              } else {
                max_bytes3(out, out, cell, c);
              }
            }
          }
          if (first) std::fill(out, out + c, std::uint8_t{0});  // no valid cell: cannot happen
          if (flip) {
            for (std::size_t ch = 0; ch < c; ++ch) out[ch] ^= flip;
          }
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
