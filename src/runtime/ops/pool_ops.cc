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

// Reference pooling over any number of spatial axes and any element type ONNX allows:
// exact ONNX semantics, including ceil_mode windows that run past the padding (they count
// only the cells inside the padded input), dilations, and MaxPool's Indices output
// (flat NCHW index of the maximum; storage_order 1 counts the spatial axes column-major).
struct NdPool {
  std::vector<std::int64_t> in, out, kernel, strides, dilations, pads;  // spatial
  std::size_t planes = 0;
  bool max = true, include_pad = false, column_major = false, indices = false;
};

template <class T>
void pool_nd(const NdPool& p, const T* x, T* y, std::int64_t* idx) {
  std::size_t n = p.in.size();
  std::size_t in_size = 1, out_size = 1;
  for (std::size_t i = 0; i < n; ++i) {
    in_size *= static_cast<std::size_t>(p.in[i]);
    out_size *= static_cast<std::size_t>(p.out[i]);
  }
  std::vector<std::int64_t> o(n), k(n);
  for (std::size_t plane = 0; plane < p.planes; ++plane) {
    const T* xp = x + plane * in_size;
    for (std::size_t flat = 0; flat < out_size; ++flat) {
      std::size_t rem = flat;
      for (std::size_t i = n; i-- > 0;) {
        o[i] = static_cast<std::int64_t>(rem % static_cast<std::size_t>(p.out[i]));
        rem /= static_cast<std::size_t>(p.out[i]);
      }
      double acc = p.max ? -std::numeric_limits<double>::infinity() : 0.0;
      std::int64_t best = -1;
      std::size_t count = 0;
      std::fill(k.begin(), k.end(), 0);
      for (;;) {
        bool inside = true, in_pad = true;
        std::size_t offset = 0, col_offset = 0, col_stride = 1;
        for (std::size_t i = 0; i < n; ++i) {
          std::int64_t c = o[i] * p.strides[i] - p.pads[i] + k[i] * p.dilations[i];
          inside = inside && c >= 0 && c < p.in[i];
          in_pad = in_pad && c >= -p.pads[i] && c < p.in[i] + p.pads[i + n];
          offset = offset * static_cast<std::size_t>(p.in[i]) + static_cast<std::size_t>(std::max<std::int64_t>(c, 0));
        }
        if (inside) {
          // Column-major index for storage_order 1.
          std::size_t stride = 1;
          col_offset = 0;
          for (std::size_t i = 0; i < n; ++i) {
            std::int64_t c = o[i] * p.strides[i] - p.pads[i] + k[i] * p.dilations[i];
            col_offset += static_cast<std::size_t>(c) * stride;
            stride *= static_cast<std::size_t>(p.in[i]);
          }
          (void)col_stride;
          double v = static_cast<double>(load_value(xp[offset]));
          if (p.max) {
            if (v > acc || best < 0) {
              acc = v;
              best = static_cast<std::int64_t>(plane * in_size + (p.column_major ? col_offset : offset));
            }
          } else {
            acc += v;
          }
          ++count;
        } else if (p.include_pad && in_pad) {
          ++count;
        }
        std::size_t i = n;
        while (i-- > 0) {
          if (++k[i] < p.kernel[i]) break;
          k[i] = 0;
        }
        if (i == static_cast<std::size_t>(-1)) break;
      }
      double r = p.max ? acc : (count ? acc / static_cast<double>(count) : 0.0);
      y[plane * out_size + flat] = store_value<T>(static_cast<compute_t<T>>(r));
      if (idx) idx[plane * out_size + flat] = best;
    }
  }
}

std::unique_ptr<BoundOp> bind_pool_reference(const BindArgs& a, bool max) {
  const TensorInfo& x = a.in(0);
  std::size_t rank = x.shape.rank();
  std::vector<ir::Dim> dims;
  for (std::int64_t d : x.shape.dims()) dims.push_back(ir::Dim::known(d));
  ir::InferContext ctx(a.node);
  ir::WindowGeometry g = ir::window_geometry(ctx, dims, a.node.attr_ints("kernel_shape"), a.node.attr_int("ceil_mode", 0) != 0);
  NdPool p;
  p.in.assign(x.shape.dims().begin() + 2, x.shape.dims().end());
  for (const ir::Dim& d : g.output) p.out.push_back(d.value);
  p.kernel = g.kernel;
  p.strides = g.strides;
  p.dilations = g.dilations;
  p.pads = g.pads;
  p.planes = static_cast<std::size_t>(x.shape[0] * x.shape[1]);
  p.max = max;
  p.include_pad = !max && a.node.attr_int("count_include_pad", 0) != 0;
  p.column_major = a.node.attr_int("storage_order", 0) != 0;
  p.indices = max && a.outputs.size() > 1 && a.outputs[1].has_value();
  (void)rank;
  return dispatch_dtype(x.dtype, a.node.op_type, [&]<class T>() -> std::unique_ptr<BoundOp> {
    if constexpr (std::is_same_v<T, bool>) {
      a.fail("bool input is not supported");
    } else {
      if (!max && !std::is_floating_point_v<compute_t<T>>) a.fail("AveragePool needs a float input");
      return std::make_unique<FunctionOp>(max ? "pool_nd_ref max" : "pool_nd_ref average", [p](const RunContext& ctx) {
        pool_nd<T>(p, ctx.in<T>(0), ctx.out<T>(0), p.indices ? ctx.out<std::int64_t>(1) : nullptr);
      });
    }
  });
}

std::unique_ptr<BoundOp> bind_pool(const BindArgs& a, bool max) {
  std::size_t rank = a.in(0).shape.rank();
  bool indices = max && a.outputs.size() > 1 && a.outputs[1];
  if (a.in(0).dtype != DType::float32 || (rank != 3 && rank != 4) || indices) return bind_pool_reference(a, max);
  PoolGeometry p = pool_geometry(a);
  bool include_pad = !max && a.node.attr_int("count_include_pad", 0) != 0;
  // Padding counted in averages, or dilated windows: the reference. (ceil_mode is extra far
  // padding, never counted here.)
  if (include_pad || p.shape.dilation_h > 1 || p.shape.dilation_w > 1) return bind_pool_reference(a, max);
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
  bool int8 = max && (x.dtype == DType::uint8 || x.dtype == DType::int8);
  if ((x.dtype != DType::float32 && !int8) || x.shape.rank() != 4)
    a.fail("needs a float32 (or, for MaxPool, 8-bit) NHWC input");
  std::vector<ir::Dim> dims = {ir::Dim::known(x.shape[0]), ir::Dim::known(x.shape[3]), ir::Dim::known(x.shape[1]),
                               ir::Dim::known(x.shape[2])};
  ir::InferContext ctx(a.node);
  bool ceil_mode = a.node.attr_int("ceil_mode", 0) != 0;
  if (ceil_mode && !max && a.node.attr_int("count_include_pad", 0) != 0) a.fail("ceil_mode with count_include_pad is not supported in NHWC");
  ir::WindowGeometry g = ir::window_geometry(ctx, dims, a.node.attr_ints("kernel_shape"), ceil_mode);
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
  // ceil_mode: extra far padding until floor() gives the ceil size; padding is never
  // counted (count_include_pad 0), so the windows see only real cells, as ONNX says.
  while (s.out_h() < g.output[0].value) ++s.pad_bottom;
  while (s.out_w() < g.output[1].value) ++s.pad_right;
  if (int8 && x.dtype == DType::uint8) {
    return std::make_unique<FunctionOp>("max_pool2d_u8 nhwc", [s](const RunContext& ctx) {
      max_pool2d_u8(s, ctx.in<std::uint8_t>(0), ctx.out<std::uint8_t>(0), ctx.pool);
    });
  }
  if (int8) {
    return std::make_unique<FunctionOp>("max_pool2d_s8 nhwc", [s](const RunContext& ctx) {
      max_pool2d_s8(s, ctx.in<std::int8_t>(0), ctx.out<std::int8_t>(0), ctx.pool);
    });
  }
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
