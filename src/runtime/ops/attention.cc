// runtime/ops/attention.cc: lowp::Attention(Q, KT, V [, mask]; scale), one batch-head at
// a time: scores = Q x KT on the GEMM kernel into an [S, T] buffer that stays in cache,
// then per row scale, mask and softmax, then P x V into the output. The same arithmetic
// as the unfused MatMul / Div / Add / Softmax / MatMul chain, in the same order, without
// the [B, H, S, T] tensors going to memory and back.
#include "base/aligned_buffer.h"
#include "kernels/gemm/gemm.h"
#include "kernels/softmax/softmax.h"
#include "runtime/ops/nn_ops.h"
#include "runtime/ops/op_util.h"

namespace lowp::runtime {
namespace {

class AttentionOp final : public BoundOp {
 public:
  explicit AttentionOp(const BindArgs& a) {
    const Shape& q = a.in(0).shape;
    const Shape& kt = a.in(1).shape;
    const Shape& v = a.in(2).shape;
    std::size_t rank = q.rank();
    if (kt.rank() != rank || v.rank() != rank || rank < 3) a.fail("Q, KT and V must have the same rank >= 3");
    s_ = static_cast<int>(q[rank - 2]);
    d_ = static_cast<int>(q[rank - 1]);
    t_ = static_cast<int>(kt[rank - 1]);
    e_ = static_cast<int>(v[rank - 1]);
    if (kt[rank - 2] != d_ || v[rank - 2] != t_) a.fail("shapes do not chain: Q {} x KT {} x V {}", q.str(), kt.str(), v.str());
    // Batch offsets of Q, KT and V (broadcast over the leading axes).
    std::vector<std::int64_t> out_batch(a.out(0).shape.dims().begin(), a.out(0).shape.dims().end() - 2);
    auto batch_of = [&](const Shape& s) {
      return Shape(std::vector<std::int64_t>(s.dims().begin(), s.dims().end() - 2));
    };
    Shape ob(out_batch);
    batches_ = ob.elements();
    Broadcaster b(ob, {batch_of(q), batch_of(kt), batch_of(v)});
    std::size_t off[3];
    for (std::size_t r = 0; r < b.runs(); ++r) {
      b.offsets(r, off);
      for (std::size_t j = 0; j < b.inner(); ++j) {
        q_off_.push_back((off[0] + j * b.inner_stride(0)) * static_cast<std::size_t>(s_) * d_);
        k_off_.push_back((off[1] + j * b.inner_stride(1)) * static_cast<std::size_t>(d_) * t_);
        v_off_.push_back((off[2] + j * b.inner_stride(2)) * static_cast<std::size_t>(t_) * e_);
      }
    }
    if (batches_ == 0) q_off_.clear();
    // The mask, broadcast to [batch..., S, T]: element strides per axis (0 where it
    // broadcasts), a base offset per batch.
    if (a.has(3)) {
      has_mask_ = true;
      const Shape& m = a.in(3).shape;
      std::vector<std::int64_t> full(out_batch);
      full.push_back(s_);
      full.push_back(t_);
      std::vector<std::size_t> strides(full.size(), 0);
      std::vector<std::size_t> own = strides_of(m);
      std::size_t lead = full.size() - m.rank();
      for (std::size_t i = 0; i < m.rank(); ++i) {
        if (m[i] != 1 && m[i] != full[lead + i]) a.fail("mask {} does not broadcast to the scores", m.str());
        strides[lead + i] = m[i] == 1 ? 0 : own[i];
      }
      mask_row_stride_ = strides[full.size() - 2];
      mask_col_stride_ = strides[full.size() - 1];
      for (std::size_t bi = 0; bi < batches_; ++bi) {
        std::size_t rem = bi, base = 0;
        for (std::size_t ax = out_batch.size(); ax-- > 0;) {
          auto dim = static_cast<std::size_t>(out_batch[ax]);
          base += (rem % dim) * strides[ax];
          rem /= dim;
        }
        mask_base_.push_back(base);
      }
    }
    scale_ = a.node.attr_float("scale", 1.0f);
    scores_ = AlignedBuffer<float>(static_cast<std::size_t>(s_) * t_);
    probs_ = AlignedBuffer<float>(static_cast<std::size_t>(s_) * t_);
    if (d_ > 0 && t_ > 0) {
      std::vector<float> zeros(static_cast<std::size_t>(d_) * t_);
      pack_gemm_f32_kn(zeros.data(), static_cast<std::size_t>(t_), d_, t_, k_packed_);
    }
    if (t_ > 0 && e_ > 0) {
      std::vector<float> zeros(static_cast<std::size_t>(t_) * e_);
      pack_gemm_f32_kn(zeros.data(), static_cast<std::size_t>(e_), t_, e_, v_packed_);
    }
  }

  void run(const RunContext& ctx) override {
    const float* Q = ctx.in<float>(0);
    const float* KT = ctx.in<float>(1);
    const float* V = ctx.in<float>(2);
    const float* M = has_mask_ ? ctx.in<float>(3) : nullptr;
    float* Y = ctx.out<float>(0);
    std::size_t out_mat = static_cast<std::size_t>(s_) * e_;
    if (s_ == 0 || e_ == 0) return;
    if (t_ == 0 || d_ == 0) {
      // softmax over an empty axis is empty; with d = 0 the scores are all zero: the
      // reference path below handles it through the general loops.
      std::fill(Y, Y + batches_ * out_mat, 0.0f);
      if (t_ == 0) return;
    }
    for (std::size_t b = 0; b < batches_; ++b) {
      GemmArgs args;
      if (d_ > 0) {
        pack_gemm_f32_kn(KT + k_off_[b], static_cast<std::size_t>(t_), d_, t_, k_packed_);
        args.m = s_;
        args.a = Q + q_off_[b];
        args.lda = static_cast<std::size_t>(d_);
        args.w = &k_packed_;
        args.c = scores_.data();
        args.ldc = static_cast<std::size_t>(t_);
        gemm(args, ctx.pool);
      } else {
        std::fill(scores_.data(), scores_.data() + scores_.size(), 0.0f);
      }
      // Scale and mask in place, in the unfused graph's order: (x * scale) + mask.
      for (int i = 0; i < s_; ++i) {
        float* row = scores_.data() + static_cast<std::size_t>(i) * t_;
        if (M) {
          const float* mrow = M + mask_base_[b] + static_cast<std::size_t>(i) * mask_row_stride_;
          for (int j = 0; j < t_; ++j) row[j] = row[j] * scale_ + mrow[static_cast<std::size_t>(j) * mask_col_stride_];
        } else {
          for (int j = 0; j < t_; ++j) row[j] = row[j] * scale_;
        }
      }
      softmax(scores_.data(), static_cast<std::size_t>(s_), static_cast<std::size_t>(t_), probs_.data());
      pack_gemm_f32_kn(V + v_off_[b], static_cast<std::size_t>(e_), t_, e_, v_packed_);
      args = GemmArgs{};
      args.m = s_;
      args.a = probs_.data();
      args.lda = static_cast<std::size_t>(t_);
      args.w = &v_packed_;
      args.c = Y + b * out_mat;
      args.ldc = static_cast<std::size_t>(e_);
      gemm(args, ctx.pool);
    }
  }

  std::string kernel() const override { return std::string("attention (") + gemm_kernel_name(GemmWeights::f32) + ")"; }

 private:
  int s_ = 0, d_ = 0, t_ = 0, e_ = 0;
  std::size_t batches_ = 0;
  std::vector<std::size_t> q_off_, k_off_, v_off_, mask_base_;
  bool has_mask_ = false;
  std::size_t mask_row_stride_ = 0, mask_col_stride_ = 0;
  float scale_ = 1.0f;
  AlignedBuffer<float> scores_, probs_;
  PackedGemmWeights k_packed_, v_packed_;
};

}  // namespace

std::unique_ptr<BoundOp> bind_attention(const BindArgs& a) {
  for (std::size_t i = 0; i < 3; ++i) {
    if (a.in(i).dtype != DType::float32) a.fail("only float32 is supported");
  }
  return std::make_unique<AttentionOp>(a);
}

}  // namespace lowp::runtime
