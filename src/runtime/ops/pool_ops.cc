// runtime/ops/pool_ops.cc: MaxPool, AveragePool (1-D and 2-D) and the global pools.
//
// An NCHW tensor is an NHWC one with a single channel and N x C images, so the NHWC pool
// kernels (kernels/pool/pool2d.h) run on it directly, one plane per image. ceil_mode is
// expressed as extra bottom/right padding; with count_include_pad that padding would be
// counted, so that one combination runs the reference loop here.
#include <cmath>

#include "ir/ops_nn.h"
#include "kernels/conv/conv2d.h"
#include "kernels/pool/pool2d.h"
#include "runtime/ops/nn_ops.h"
#include "runtime/ops/op_util.h"

namespace lowp::runtime {
namespace {

struct PoolGeometry {
  Conv2dShape shape;
  std::vector<std::int64_t> out_spatial;
};

PoolGeometry pool_geometry(const BindArgs& a) {
  const TensorInfo& x = a.in(0);
  if (x.dtype != DType::float32) a.fail("only float32 is supported, input is {}", dtype_name(x.dtype));
  std::size_t rank = x.shape.rank();
  if (rank != 3 && rank != 4) a.fail("only 1-D and 2-D pooling is supported (input rank {})", rank);
  std::vector<ir::Dim> dims;
  for (std::int64_t d : x.shape.dims()) dims.push_back(ir::Dim::known(d));
  std::vector<std::int64_t> kernel = a.node.attr_ints("kernel_shape");
  ir::InferContext ctx(a.node);
  bool ceil_mode = a.node.attr_int("ceil_mode", 0) != 0;
  ir::WindowGeometry g = ir::window_geometry(ctx, dims, kernel, ceil_mode);
  bool two_d = rank == 4;
  std::size_t n = kernel.size();
  PoolGeometry p;
  Conv2dShape& s = p.shape;
  s.batch = static_cast<int>(x.shape[0] * x.shape[1]);
  s.in_c = s.out_c = 1;
  s.in_h = two_d ? static_cast<int>(x.shape[2]) : 1;
  s.in_w = static_cast<int>(x.shape[rank - 1]);
  s.kernel_h = two_d ? static_cast<int>(kernel[0]) : 1;
  s.kernel_w = static_cast<int>(kernel.back());
  s.stride_h = two_d ? static_cast<int>(g.strides[0]) : 1;
  s.stride_w = static_cast<int>(g.strides.back());
  s.dilation_h = two_d ? static_cast<int>(g.dilations[0]) : 1;
  s.dilation_w = static_cast<int>(g.dilations.back());
  s.pad_top = two_d ? static_cast<int>(g.pads[0]) : 0;
  s.pad_bottom = two_d ? static_cast<int>(g.pads[n]) : 0;
  s.pad_left = static_cast<int>(g.pads[n - 1]);
  s.pad_right = static_cast<int>(g.pads[2 * n - 1]);
  for (const ir::Dim& d : g.output) p.out_spatial.push_back(d.value);
  // ceil_mode: grow the far padding until floor() gives the ceil size.
  int want_h = two_d ? static_cast<int>(p.out_spatial[0]) : 1;
  int want_w = static_cast<int>(p.out_spatial.back());
  while (s.out_h() < want_h) ++s.pad_bottom;
  while (s.out_w() < want_w) ++s.pad_right;
  return p;
}

// Reference pooling on NCHW planes, exact ONNX semantics including ceil_mode windows that
// run past the padding (they average over the cells inside the padded input).
void pool_reference(const Conv2dShape& s, bool max, bool include_pad, int real_pad_bottom, int real_pad_right,
                    const float* in, float* out) {
  int oh = s.out_h(), ow = s.out_w();
  for (int b = 0; b < s.batch; ++b) {
    const float* plane = in + static_cast<std::size_t>(b) * s.in_h * s.in_w;
    float* o = out + static_cast<std::size_t>(b) * oh * ow;
    for (int y = 0; y < oh; ++y) {
      for (int x = 0; x < ow; ++x) {
        float acc = max ? -std::numeric_limits<float>::infinity() : 0.0f;
        int count = 0;
        for (int ky = 0; ky < s.kernel_h; ++ky) {
          int iy = y * s.stride_h - s.pad_top + ky * s.dilation_h;
          for (int kx = 0; kx < s.kernel_w; ++kx) {
            int ix = x * s.stride_w - s.pad_left + kx * s.dilation_w;
            bool inside = iy >= 0 && iy < s.in_h && ix >= 0 && ix < s.in_w;
            bool in_pad = iy >= -s.pad_top && iy < s.in_h + real_pad_bottom && ix >= -s.pad_left &&
                          ix < s.in_w + real_pad_right;
            if (inside) {
              float v = plane[iy * s.in_w + ix];
              acc = max ? std::max(acc, v) : acc + v;
              ++count;
            } else if (include_pad && in_pad) {
              ++count;
            }
          }
        }
        o[y * ow + x] = max ? acc : (count ? acc / static_cast<float>(count) : 0.0f);
      }
    }
  }
}

std::unique_ptr<BoundOp> bind_pool(const BindArgs& a, bool max) {
  PoolGeometry p = pool_geometry(a);
  bool include_pad = !max && a.node.attr_int("count_include_pad", 0) != 0;
  if (max && a.outputs.size() > 1 && a.outputs[1]) a.fail("the Indices output is not supported");
  bool ceil_padded = false;
  {
    Conv2dShape plain = p.shape;
    ir::InferContext ctx(a.node);
    std::vector<ir::Dim> dims;
    for (std::int64_t d : a.in(0).shape.dims()) dims.push_back(ir::Dim::known(d));
    ir::WindowGeometry g = ir::window_geometry(ctx, dims, a.node.attr_ints("kernel_shape"), false);
    std::size_t n = g.kernel.size();
    plain.pad_bottom = a.in(0).shape.rank() == 4 ? static_cast<int>(g.pads[n]) : 0;
    plain.pad_right = static_cast<int>(g.pads[2 * n - 1]);
    ceil_padded = plain.pad_bottom != p.shape.pad_bottom || plain.pad_right != p.shape.pad_right;
    if (ceil_padded || include_pad || p.shape.dilation_h > 1 || p.shape.dilation_w > 1) {
      int rb = plain.pad_bottom, rr = plain.pad_right;
      Conv2dShape s = p.shape;
      return std::make_unique<FunctionOp>("pool2d_ref", [s, max, include_pad, rb, rr](const RunContext& ctx) {
        pool_reference(s, max, include_pad, rb, rr, ctx.in<float>(0), ctx.out<float>(0));
      });
    }
  }
  Conv2dShape s = p.shape;
  return std::make_unique<FunctionOp>(max ? "pool2d max" : "pool2d average", [s, max](const RunContext& ctx) {
    pool2d(s, max ? PoolKind::max : PoolKind::average, false, ctx.in<float>(0), ctx.out<float>(0), ctx.pool);
  });
}

std::unique_ptr<BoundOp> bind_global(const BindArgs& a, bool max) {
  const TensorInfo& x = a.in(0);
  if (x.dtype != DType::float32) a.fail("only float32 is supported, input is {}", dtype_name(x.dtype));
  std::size_t planes = static_cast<std::size_t>(x.shape[0] * x.shape[1]);
  std::size_t size = x.shape.elements() / std::max<std::size_t>(planes, 1);
  return std::make_unique<FunctionOp>(max ? "global max" : "global average", [planes, size, max](const RunContext& ctx) {
    const float* in = ctx.in<float>(0);
    float* out = ctx.out<float>(0);
    for (std::size_t p = 0; p < planes; ++p) {
      const float* v = in + p * size;
      if (max) {
        float m = -std::numeric_limits<float>::infinity();
        for (std::size_t i = 0; i < size; ++i) m = std::max(m, v[i]);
        out[p] = m;
      } else {
        // Eight partial sums: vectorizable, and the order is fixed.
        float part[8] = {};
        std::size_t i = 0;
        for (; i + 8 <= size; i += 8) {
          for (int j = 0; j < 8; ++j) part[j] += v[i + static_cast<std::size_t>(j)];
        }
        float sum = 0;
        for (int j = 0; j < 8; ++j) sum += part[j];
        for (; i < size; ++i) sum += v[i];
        out[p] = sum / static_cast<float>(size);
      }
    }
  });
}

// NHWC pools: the kernels' own layout, channels in the vector lanes.
std::unique_ptr<BoundOp> bind_nhwc_pool(const BindArgs& a, bool max) {
  const TensorInfo& x = a.in(0);
  if (x.dtype != DType::float32 || x.shape.rank() != 4) a.fail("needs a float32 NHWC input");
  std::vector<ir::Dim> dims = {ir::Dim::known(x.shape[0]), ir::Dim::known(x.shape[3]), ir::Dim::known(x.shape[1]),
                               ir::Dim::known(x.shape[2])};
  ir::InferContext ctx(a.node);
  ir::WindowGeometry g = ir::window_geometry(ctx, dims, a.node.attr_ints("kernel_shape"), false);
  Conv2dShape s;
  s.batch = static_cast<int>(x.shape[0]);
  s.in_h = static_cast<int>(x.shape[1]);
  s.in_w = static_cast<int>(x.shape[2]);
  s.in_c = s.out_c = static_cast<int>(x.shape[3]);
  s.kernel_h = static_cast<int>(g.kernel[0]);
  s.kernel_w = static_cast<int>(g.kernel[1]);
  s.stride_h = static_cast<int>(g.strides[0]);
  s.stride_w = static_cast<int>(g.strides[1]);
  s.pad_top = static_cast<int>(g.pads[0]);
  s.pad_left = static_cast<int>(g.pads[1]);
  s.pad_bottom = static_cast<int>(g.pads[2]);
  s.pad_right = static_cast<int>(g.pads[3]);
  return std::make_unique<FunctionOp>(max ? "pool2d max nhwc" : "pool2d average nhwc", [s, max](const RunContext& ctx) {
    pool2d(s, max ? PoolKind::max : PoolKind::average, false, ctx.in<float>(0), ctx.out<float>(0), ctx.pool);
  });
}

}  // namespace

std::unique_ptr<BoundOp> bind_nhwc_max_pool(const BindArgs& a) { return bind_nhwc_pool(a, true); }
std::unique_ptr<BoundOp> bind_nhwc_average_pool(const BindArgs& a) { return bind_nhwc_pool(a, false); }

// Mean over H x W per channel, channels contiguous: one running sum per channel in order.
std::unique_ptr<BoundOp> bind_nhwc_global_average_pool(const BindArgs& a) {
  const TensorInfo& x = a.in(0);
  if (x.dtype != DType::float32 || x.shape.rank() != 4) a.fail("needs a float32 NHWC input");
  std::size_t n = static_cast<std::size_t>(x.shape[0]), hw = static_cast<std::size_t>(x.shape[1] * x.shape[2]);
  std::size_t c = static_cast<std::size_t>(x.shape[3]);
  return std::make_unique<FunctionOp>("global average nhwc", [n, hw, c](const RunContext& ctx) {
    const float* in = ctx.in<float>(0);
    float* out = ctx.out<float>(0);
    float inv = hw ? 1.0f / static_cast<float>(hw) : 0.0f;
    for (std::size_t b = 0; b < n; ++b) {
      float* o = out + b * c;
      std::fill(o, o + c, 0.0f);
      for (std::size_t p = 0; p < hw; ++p) {
        const float* row = in + (b * hw + p) * c;
        for (std::size_t j = 0; j < c; ++j) o[j] += row[j];
      }
      for (std::size_t j = 0; j < c; ++j) o[j] *= inv;
    }
  });
}

std::unique_ptr<BoundOp> bind_max_pool(const BindArgs& a) { return bind_pool(a, true); }
std::unique_ptr<BoundOp> bind_average_pool(const BindArgs& a) { return bind_pool(a, false); }
std::unique_ptr<BoundOp> bind_global_average_pool(const BindArgs& a) { return bind_global(a, false); }
std::unique_ptr<BoundOp> bind_global_max_pool(const BindArgs& a) { return bind_global(a, true); }

}  // namespace lowp::runtime
