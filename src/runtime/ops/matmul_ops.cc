// runtime/ops/matmul_ops.cc: Gemm, MatMul and lowp::FusedGemm on the GEMM kernels
// (kernels/gemm/gemm.h).
//
// A constant weight is packed once at bind. A weight computed at run time (attention's
// Q x K^T, scores x V) is packed per call into a buffer sized at bind: pack_gemm_f32_kn is
// a copy of 16-float rows, cheap next to the multiply. Types other than float32 run one
// plain reference loop (conformance tests use int32 / int64 / double MatMul).
#include <cstring>
#include <limits>

#include "base/aligned_buffer.h"
#include "kernels/bf16dot/bf16dot.h"
#include "kernels/convert/convert.h"
#include "kernels/gemm/gemm.h"
#include "runtime/ops/nn_ops.h"
#include "runtime/ops/op_util.h"

namespace lowp::runtime {
namespace {

int narrow(const BindArgs& a, std::int64_t v) {
  if (v > std::numeric_limits<int>::max()) a.fail("dimension {} is too large for the GEMM kernels", v);
  return static_cast<int>(v);
}

// MatMul's batch structure: A [..., M, K] x B [..., K, N] with broadcast batch dims.
struct MatMulGeometry {
  int m = 1, k = 1, n = 1;
  std::size_t batches = 1;
  std::vector<std::size_t> a_offset, b_offset;  // per batch, in elements
};

MatMulGeometry matmul_geometry(const BindArgs& a) {
  Shape sa = a.in(0).shape, sb = a.in(1).shape;
  // numpy's promotion of 1-D operands: A [K] -> [1, K], B [K] -> [K, 1].
  std::vector<std::int64_t> da = sa.rank() == 1 ? std::vector<std::int64_t>{1, sa[0]} : sa.dims();
  std::vector<std::int64_t> db = sb.rank() == 1 ? std::vector<std::int64_t>{sb[0], 1} : sb.dims();
  MatMulGeometry g;
  g.m = narrow(a, da[da.size() - 2]);
  g.k = narrow(a, da.back());
  g.n = narrow(a, db.back());
  std::vector<std::int64_t> ba(da.begin(), da.end() - 2), bb(db.begin(), db.end() - 2);
  std::size_t rank = std::max(ba.size(), bb.size());
  auto pad_front = [rank](std::vector<std::int64_t> v) {
    std::vector<std::int64_t> out(rank - v.size(), 1);
    out.insert(out.end(), v.begin(), v.end());
    return out;
  };
  ba = pad_front(ba);
  bb = pad_front(bb);
  std::vector<std::int64_t> out(rank);
  for (std::size_t i = 0; i < rank; ++i) out[i] = std::max(ba[i], bb[i]);
  Shape batch_shape(out);
  g.batches = batch_shape.elements();
  Broadcaster bc(batch_shape, {Shape(ba), Shape(bb)});
  std::size_t a_mat = static_cast<std::size_t>(g.m) * static_cast<std::size_t>(g.k);
  std::size_t b_mat = static_cast<std::size_t>(g.k) * static_cast<std::size_t>(g.n);
  std::size_t off[2];
  for (std::size_t r = 0; r < bc.runs(); ++r) {
    bc.offsets(r, off);
    for (std::size_t j = 0; j < bc.inner(); ++j) {
      g.a_offset.push_back((off[0] + j * bc.inner_stride(0)) * a_mat);
      g.b_offset.push_back((off[1] + j * bc.inner_stride(1)) * b_mat);
    }
  }
  if (g.batches == 0) {
    g.a_offset.clear();
    g.b_offset.clear();
  }
  return g;
}

// float32 MatMul / FusedGemm: a constant 2-D B folds the batch into M (one GEMM).
class MatMulF32 final : public BoundOp {
 public:
  MatMulF32(const BindArgs& a, ActivationParams act, bool with_bias) : act_(act), with_bias_(with_bias) {
    g_ = matmul_geometry(a);
    const TensorInfo& b = a.in(1);
    if (b.constant && b.shape.rank() <= 2 && a.in(0).shape.rank() >= 2) {
      // Rows of every batch of A are one contiguous [rows][K] block.
      rows_ = a.in(0).shape.elements() / static_cast<std::size_t>(std::max(1, g_.k));
      if (g_.k == 0) rows_ = 0;
      constant_ = true;
      if (g_.k > 0 && g_.n > 0) pack_gemm_f32_kn(b.constant->values<float>().data(), static_cast<std::size_t>(g_.n), g_.k, g_.n, packed_);
    } else if (g_.k > 0 && g_.n > 0) {
      // Sized now so that run() never allocates.
      std::vector<float> zeros(static_cast<std::size_t>(g_.k) * static_cast<std::size_t>(g_.n));
      pack_gemm_f32_kn(zeros.data(), static_cast<std::size_t>(g_.n), g_.k, g_.n, packed_);
    }
    out_elements_ = a.out(0).shape.elements();
  }

  void run(const RunContext& ctx) override {
    const float* A = ctx.in<float>(0);
    const float* B = ctx.in<float>(1);
    const float* bias = with_bias_ ? ctx.in<float>(2) : nullptr;
    float* C = ctx.out<float>(0);
    if (g_.k == 0) {  // an empty sum
      for (std::size_t i = 0; i < out_elements_; ++i) C[i] = act_(bias ? bias[i % static_cast<std::size_t>(g_.n)] : 0.0f);
      return;
    }
    if (g_.n == 0 || out_elements_ == 0) return;
    GemmArgs args;
    args.w = &packed_;
    args.bias = bias;
    args.act = act_;
    args.lda = static_cast<std::size_t>(g_.k);
    args.ldc = static_cast<std::size_t>(g_.n);
    if (constant_) {
      args.m = static_cast<int>(rows_);
      args.a = A;
      args.c = C;
      gemm(args, ctx.pool);
      return;
    }
    std::size_t c_mat = static_cast<std::size_t>(g_.m) * static_cast<std::size_t>(g_.n);
    for (std::size_t i = 0; i < g_.batches; ++i) {
      pack_gemm_f32_kn(B + g_.b_offset[i], static_cast<std::size_t>(g_.n), g_.k, g_.n, packed_);
      args.m = g_.m;
      args.a = A + g_.a_offset[i];
      args.c = C + i * c_mat;
      gemm(args, ctx.pool);
    }
  }

  std::string kernel() const override { return gemm_kernel_name(GemmWeights::f32); }

 private:
  MatMulGeometry g_;
  ActivationParams act_;
  bool with_bias_;
  bool constant_ = false;
  std::size_t rows_ = 0, out_elements_ = 0;
  PackedGemmWeights packed_;
};

// Any numeric type: the reference loop, accumulating in the type's compute type.
template <class T>
std::unique_ptr<BoundOp> matmul_reference(const BindArgs& a) {
  MatMulGeometry g = matmul_geometry(a);
  return std::make_unique<FunctionOp>("matmul_ref", [g](const RunContext& ctx) {
    const T* A = ctx.in<T>(0);
    const T* B = ctx.in<T>(1);
    T* C = ctx.out<T>(0);
    std::size_t c_mat = static_cast<std::size_t>(g.m) * static_cast<std::size_t>(g.n);
    for (std::size_t i = 0; i < g.batches; ++i) {
      for (int r = 0; r < g.m; ++r) {
        for (int c = 0; c < g.n; ++c) {
          compute_t<T> sum{};
          for (int k = 0; k < g.k; ++k) {
            sum += load_value(A[g.a_offset[i] + static_cast<std::size_t>(r) * g.k + k]) *
                   load_value(B[g.b_offset[i] + static_cast<std::size_t>(k) * g.n + c]);
          }
          C[i * c_mat + static_cast<std::size_t>(r) * g.n + c] = store_value<T>(sum);
        }
      }
    }
  });
}

// Gemm: Y = alpha * A' B' + beta * C. The float32 path transposes what needs it into
// buffers sized at bind, folds alpha into constant weights, and uses a row-vector C as the
// GEMM bias; any other C is added after.
class GemmF32 final : public BoundOp {
 public:
  explicit GemmF32(const BindArgs& a) {
    trans_a_ = a.node.attr_int("transA", 0) != 0;
    trans_b_ = a.node.attr_int("transB", 0) != 0;
    alpha_ = a.node.attr_float("alpha", 1.0f);
    beta_ = a.node.attr_float("beta", 1.0f);
    const Shape& sa = a.in(0).shape;
    const Shape& sb = a.in(1).shape;
    m_ = narrow(a, trans_a_ ? sa[1] : sa[0]);
    k_ = narrow(a, trans_a_ ? sa[0] : sa[1]);
    n_ = narrow(a, trans_b_ ? sb[0] : sb[1]);
    act_ = a.node.domain == "lowp" ? fused_activation(a) : ActivationParams(Activation::none);
    if (trans_a_) a_buffer_ = AlignedBuffer<float>(static_cast<std::size_t>(m_) * k_);
    w_buffer_ = AlignedBuffer<float>(static_cast<std::size_t>(k_) * n_);
    if (k_ > 0 && n_ > 0) {
      if (a.in(1).constant) {
        weights_from(a.in(1).constant->values<float>().data());
        pack_gemm_f32_kn(w_buffer_.data(), static_cast<std::size_t>(n_), k_, n_, packed_);
        constant_b_ = true;
      } else {
        pack_gemm_f32_kn(w_buffer_.data(), static_cast<std::size_t>(n_), k_, n_, packed_);
      }
    }
    if (a.has(2) && beta_ != 0.0f) {
      const Shape& sc = a.in(2).shape;
      bool row = sc.elements() == static_cast<std::size_t>(n_) && (sc.rank() == 1 || (sc.rank() == 2 && sc[0] == 1));
      bool scalar = sc.elements() == 1;
      c_shape_ = sc;
      if ((row || scalar) && a.in(2).constant) {
        bias_ = AlignedBuffer<float>(static_cast<std::size_t>(n_));
        const float* c = a.in(2).constant->values<float>().data();
        for (int j = 0; j < n_; ++j) bias_[static_cast<std::size_t>(j)] = beta_ * c[scalar ? 0 : j];
        has_bias_ = true;
      } else {
        add_c_ = true;
        c_broadcast_ = std::make_shared<Broadcaster>(a.out(0).shape, std::vector<Shape>{sc});
      }
    }
    // With a non-linear fused activation and a C added after, the activation must wait.
    if (add_c_ && act_.kind != Activation::none) {
      post_act_ = act_;
      act_ = Activation::none;
    }
  }

  void run(const RunContext& ctx) override {
    float* Y = ctx.out<float>(0);
    std::size_t total = static_cast<std::size_t>(m_) * static_cast<std::size_t>(n_);
    if (total == 0) return;
    if (k_ == 0) {
      std::fill(Y, Y + total, 0.0f);
    } else {
      const float* A = ctx.in<float>(0);
      if (trans_a_) {
        transpose_planes_f32(A, a_buffer_.data(), 1, static_cast<std::size_t>(k_), static_cast<std::size_t>(m_));
        A = a_buffer_.data();
      }
      if (!constant_b_) {
        weights_from(ctx.in<float>(1));
        pack_gemm_f32_kn(w_buffer_.data(), static_cast<std::size_t>(n_), k_, n_, packed_);
      }
      GemmArgs args;
      args.m = m_;
      args.a = A;
      args.lda = static_cast<std::size_t>(k_);
      args.w = &packed_;
      args.bias = has_bias_ ? bias_.data() : nullptr;
      args.act = act_;
      args.c = Y;
      args.ldc = static_cast<std::size_t>(n_);
      gemm(args, ctx.pool);
    }
    if (add_c_) {
      const float* C = ctx.in<float>(2);
      const Broadcaster& b = *c_broadcast_;
      std::size_t off[1];
      for (std::size_t r = 0; r < b.runs(); ++r) {
        b.offsets(r, off);
        for (std::size_t j = 0; j < b.inner(); ++j) {
          float& y = Y[r * b.inner() + j];
          y = post_act_(y + beta_ * C[off[0] + j * b.inner_stride(0)]);
        }
      }
    }
  }

  std::string kernel() const override { return gemm_kernel_name(GemmWeights::f32); }

 private:
  // alpha * B' into [k][n] storage.
  void weights_from(const float* b) {
    float* w = w_buffer_.data();
    for (int kk = 0; kk < k_; ++kk) {
      for (int j = 0; j < n_; ++j) {
        float v = trans_b_ ? b[static_cast<std::size_t>(j) * k_ + kk] : b[static_cast<std::size_t>(kk) * n_ + j];
        w[static_cast<std::size_t>(kk) * n_ + j] = alpha_ * v;
      }
    }
  }

  bool trans_a_ = false, trans_b_ = false, constant_b_ = false, has_bias_ = false, add_c_ = false;
  float alpha_ = 1, beta_ = 1;
  int m_ = 0, k_ = 0, n_ = 0;
  ActivationParams act_, post_act_;
  AlignedBuffer<float> a_buffer_, w_buffer_, bias_;
  PackedGemmWeights packed_;
  Shape c_shape_;
  std::shared_ptr<Broadcaster> c_broadcast_;
};

// Gemm for other types: the reference, with alpha and beta.
template <class T>
std::unique_ptr<BoundOp> gemm_reference(const BindArgs& a) {
  bool ta = a.node.attr_int("transA", 0) != 0, tb = a.node.attr_int("transB", 0) != 0;
  double alpha = a.node.attr_float("alpha", 1.0f), beta = a.node.attr_float("beta", 1.0f);
  const Shape& sa = a.in(0).shape;
  const Shape& sb = a.in(1).shape;
  std::size_t m = static_cast<std::size_t>(ta ? sa[1] : sa[0]), k = static_cast<std::size_t>(ta ? sa[0] : sa[1]);
  std::size_t n = static_cast<std::size_t>(tb ? sb[0] : sb[1]);
  std::shared_ptr<Broadcaster> cb;
  if (a.has(2)) cb = std::make_shared<Broadcaster>(a.out(0).shape, std::vector<Shape>{a.in(2).shape});
  return std::make_unique<FunctionOp>("gemm_ref", [=](const RunContext& ctx) {
    const T* A = ctx.in<T>(0);
    const T* B = ctx.in<T>(1);
    T* Y = ctx.out<T>(0);
    for (std::size_t i = 0; i < m; ++i) {
      for (std::size_t j = 0; j < n; ++j) {
        double s = 0;
        for (std::size_t p = 0; p < k; ++p) {
          double x = static_cast<double>(load_value(ta ? A[p * m + i] : A[i * k + p]));
          double w = static_cast<double>(load_value(tb ? B[j * k + p] : B[p * n + j]));
          s += x * w;
        }
        Y[i * n + j] = store_value<T>(static_cast<compute_t<T>>(alpha * s));
      }
    }
    if (cb) {
      std::size_t off[1];
      const T* C = ctx.in<T>(2);
      for (std::size_t r = 0; r < cb->runs(); ++r) {
        cb->offsets(r, off);
        for (std::size_t j = 0; j < cb->inner(); ++j) {
          T& y = Y[r * cb->inner() + j];
          double c = static_cast<double>(load_value(C[off[0] + j * cb->inner_stride(0)]));
          y = store_value<T>(static_cast<compute_t<T>>(static_cast<double>(load_value(y)) + beta * c));
        }
      }
    }
  });
}

}  // namespace

std::unique_ptr<BoundOp> bind_gemm(const BindArgs& a) {
  if (a.in(0).dtype == DType::float32) return std::make_unique<GemmF32>(a);
  return dispatch_dtype(a.in(0).dtype, "Gemm", [&]<class T>() -> std::unique_ptr<BoundOp> {
    if constexpr (std::is_same_v<T, bool>) {
      a.fail("bool is not supported");
    } else {
      return gemm_reference<T>(a);
    }
  });
}

// lowp::FusedGemm with fp16 or bf16 weights W[K, N] (passes/lower_float16.cc), fp32
// activations and output. fp16: the fp32 GEMM reading fp16 weights (converted exactly in
// its inner loop), so the result equals fp32 arithmetic on the fp16 weights. bf16: the
// bf16 dot-product kernels (vdpbf16ps where present), each activation row rounded to bf16
// as it is read: the arithmetic of bf16 autocast, the same at every batch size.
class LowPrecisionGemm final : public BoundOp {
 public:
  LowPrecisionGemm(const BindArgs& a, ActivationParams act) : act_(act) {
    const Tensor& w = *a.in(1).constant;
    k_ = narrow(a, w.shape()[0]);
    n_ = narrow(a, w.shape()[1]);
    if (k_ < 1 || n_ < 1) a.fail("empty weights are not supported");
    rows_ = a.in(0).shape.elements() / static_cast<std::size_t>(k_);
    if (rows_ > static_cast<std::size_t>(std::numeric_limits<int>::max())) a.fail("too many rows");
    auto src = w.values<std::uint16_t>();
    std::vector<std::uint16_t> nk(src.size());  // [n][k]
    for (int kk = 0; kk < k_; ++kk)
      for (int j = 0; j < n_; ++j) nk[static_cast<std::size_t>(j) * k_ + kk] = src[static_cast<std::size_t>(kk) * n_ + j];
    bf16_ = w.dtype() == DType::bfloat16;
    if (bf16_) {
      dot_ = pack_bf16dot(nk.data(), n_, k_);
      rows_bf16_ = AlignedBuffer<std::uint16_t>(std::max<std::size_t>(1, rows_ * static_cast<std::size_t>(dot_.padded_k())));
    } else if (rows_ < kWidenFp16Rows) {
      packed_ = pack_gemm_f16(nk.data(), n_, k_);
    } else {
      // Enough rows to make the GEMM compute-bound: converting in the inner loop would
      // cost more than the bytes it saves, so widen once (exactly) and run the fp32
      // kernel; same arithmetic, same results.
      std::vector<float> wide(nk.size());
      convert_f16_to_f32(nk.data(), wide.data(), nk.size());
      packed_ = pack_gemm_f32(wide.data(), n_, k_);
    }
  }
  // At batch 1 to 15 a layer streams its weights: fp16 halves the bytes.
  static constexpr std::size_t kWidenFp16Rows = 16;
  static int narrow(const BindArgs& a, std::int64_t v) {
    if (v > std::numeric_limits<int>::max()) a.fail("dimension {} is too large", v);
    return static_cast<int>(v);
  }

  void run(const RunContext& ctx) override {
    if (rows_ == 0) return;
    const float* bias = bias_index_ >= 0 ? ctx.in<float>(static_cast<std::size_t>(bias_index_)) : nullptr;
    if (bf16_) {
      const auto lda = static_cast<std::size_t>(dot_.padded_k());
      bf16dot_convert_rows(ctx.in<float>(0), static_cast<int>(rows_), static_cast<std::size_t>(k_), k_, rows_bf16_.data(), lda);
      Bf16DotArgs args;
      args.m = static_cast<int>(rows_);
      args.a = rows_bf16_.data();
      args.lda = lda;
      args.w = &dot_;
      args.bias = bias;
      args.act = act_;
      args.c = ctx.out<float>(0);
      args.ldc = static_cast<std::size_t>(n_);
      bf16dot_gemm(args, ctx.pool);
      return;
    }
    GemmArgs args;
    args.m = static_cast<int>(rows_);
    args.a = ctx.in<float>(0);
    args.lda = static_cast<std::size_t>(k_);
    args.w = &packed_;
    args.bias = bias;
    args.act = act_;
    args.c = ctx.out<float>(0);
    args.ldc = static_cast<std::size_t>(n_);
    gemm(args, ctx.pool);
  }
  std::string kernel() const override {
    return bf16_ ? std::string("bf16dot:") + bf16dot_kernel_name() : gemm_kernel_name(packed_.type);
  }
  int bias_index_ = -1;

 private:
  ActivationParams act_;
  int k_ = 0, n_ = 0;
  std::size_t rows_ = 0;
  bool bf16_ = false;
  PackedGemmWeights packed_;
  PackedBf16DotWeights dot_;
  AlignedBuffer<std::uint16_t> rows_bf16_;
};

std::unique_ptr<BoundOp> bind_fused_gemm(const BindArgs& a) {
  if (a.in(0).dtype != DType::float32) a.fail("only float32 is supported");
  if (!a.in(1).constant || a.in(1).shape.rank() != 2) a.fail("the weight must be a constant 2-D tensor");
  DType w = a.in(1).dtype;
  if (w == DType::float16 || w == DType::bfloat16) {
    auto op = std::make_unique<LowPrecisionGemm>(a, fused_activation(a));
    if (a.has(2)) op->bias_index_ = 2;
    return op;
  }
  return std::make_unique<MatMulF32>(a, fused_activation(a), a.has(2));
}

std::unique_ptr<BoundOp> bind_matmul(const BindArgs& a) {
  if (a.in(0).dtype == DType::float32) return std::make_unique<MatMulF32>(a, Activation::none, false);
  return dispatch_dtype(a.in(0).dtype, "MatMul", [&]<class T>() -> std::unique_ptr<BoundOp> {
    if constexpr (std::is_same_v<T, bool>) {
      a.fail("bool is not supported");
    } else {
      return matmul_reference<T>(a);
    }
  });
}

}  // namespace lowp::runtime
