// runtime/ops/loss_ops.cc: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.
//
// Input [N, C, d1...], target [N, d1...] of class indices, optional weight [C]. Each
// element's loss is -input[n, target, d...] * weight[target]; an element whose target is
// ignore_index has loss 0 and weight 0. reduction "none" returns the losses, "sum" their
// sum, "mean" the sum divided by the sum of the elements' weights (their count without
// weights), which is NaN when every element is ignored, as in the ONNX reference.
// SoftmaxCrossEntropyLoss applies this to log_softmax(scores) over C, and returns that
// log-probability as its optional second output. Sums run in double, in element order.
//
// A target outside [0, C) that is not ignore_index is an error at bind when the target is
// constant; arriving at run time, the element counts as ignored (run() cannot report).
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "runtime/op.h"
#include "runtime/ops/op_util.h"

namespace lowp::runtime {
namespace {

using Index = std::int64_t;

enum class Reduction { none, sum, mean };

template <class T, class I>
class LossOp final : public BoundOp {
 public:
  LossOp(const BindArgs& a, bool softmax) : softmax_(softmax) {
    const std::vector<Index>& xd = a.in(0).shape.dims();
    const std::vector<Index>& td = a.in(1).shape.dims();
    if (xd.size() < 2 || td.size() + 1 != xd.size()) a.fail("input must be [N, C, ...] and target [N, ...]");
    for (std::size_t i = 0; i < td.size(); ++i) {
      if (td[i] != xd[i == 0 ? 0 : i + 1]) a.fail("target {} does not match input {}", a.in(1).shape.str(), a.in(0).shape.str());
    }
    n_ = xd[0];
    c_ = xd[1];
    inner_ = 1;
    for (std::size_t i = 2; i < xd.size(); ++i) inner_ *= xd[i];
    has_weight_ = a.has(2);
    if (has_weight_ && (a.in(2).shape != Shape{c_} || a.in(2).dtype != a.in(0).dtype)) a.fail("weight must be {}[{}]", dtype_name(a.in(0).dtype), c_);
    std::string r = a.node.attr_string("reduction", "mean");
    if (r == "none") reduction_ = Reduction::none;
    else if (r == "sum") reduction_ = Reduction::sum;
    else if (r == "mean") reduction_ = Reduction::mean;
    else a.fail("reduction '{}' is not none, sum or mean", r);
    if (a.node.has_attribute("ignore_index")) ignore_ = a.node.attr_int("ignore_index", 0);
    std::vector<Index> want = reduction_ == Reduction::none ? td : std::vector<Index>{};
    if (a.out(0).shape.dims() != want || a.out(0).dtype != a.in(0).dtype) a.fail("output must be {}{}", dtype_name(a.in(0).dtype), Shape(want).str());
    log_prob_out_ = a.outputs.size() > 1 && a.outputs[1].has_value();
    if (log_prob_out_ && (a.out(1).shape != a.in(0).shape || a.out(1).dtype != a.in(0).dtype)) a.fail("log_prob must have the input's type and shape");
    if (const Tensor* t = a.in(1).constant) {
      for (I v : t->values<I>()) {
        auto k = static_cast<Index>(v);
        if ((!ignore_ || k != *ignore_) && (k < 0 || k >= c_)) a.fail("target {} is outside the {} classes", k, c_);
      }
    }
    losses_.resize(static_cast<std::size_t>(n_ * inner_));
    if (softmax_) log_prob_.resize(static_cast<std::size_t>(n_ * c_ * inner_));
  }

  void run(const RunContext& ctx) override {
    const T* x = ctx.in<T>(0);
    const I* target = ctx.in<I>(1);
    const T* weight = has_weight_ ? ctx.in<T>(2) : nullptr;
    auto at = [&](Index n, Index c, Index i) { return static_cast<std::size_t>((n * c_ + c) * inner_ + i); };
    if (softmax_) {
      for (Index n = 0; n < n_; ++n) {
        for (Index i = 0; i < inner_; ++i) {
          double max = -std::numeric_limits<double>::infinity();
          for (Index c = 0; c < c_; ++c) max = std::max(max, static_cast<double>(load_value(x[at(n, c, i)])));
          double sum = 0;
          for (Index c = 0; c < c_; ++c) sum += std::exp(static_cast<double>(load_value(x[at(n, c, i)])) - max);
          double log_sum = std::log(sum);
          for (Index c = 0; c < c_; ++c) log_prob_[at(n, c, i)] = static_cast<double>(load_value(x[at(n, c, i)])) - max - log_sum;
        }
      }
      if (log_prob_out_) {
        T* lp = ctx.out<T>(1);
        for (std::size_t j = 0; j < log_prob_.size(); ++j) lp[j] = store_value<T>(static_cast<compute_t<T>>(log_prob_[j]));
      }
    }
    double total = 0, weights = 0;
    for (Index n = 0; n < n_; ++n) {
      for (Index i = 0; i < inner_; ++i) {
        auto k = static_cast<Index>(target[n * inner_ + i]);
        double loss = 0, w = 0;
        if ((!ignore_ || k != *ignore_) && k >= 0 && k < c_) {
          w = weight ? static_cast<double>(load_value(weight[k])) : 1.0;
          double v = softmax_ ? log_prob_[at(n, k, i)] : static_cast<double>(load_value(x[at(n, k, i)]));
          loss = -v * w;
        }
        losses_[static_cast<std::size_t>(n * inner_ + i)] = loss;
        total += loss;
        weights += w;
      }
    }
    T* y = ctx.out<T>(0);
    switch (reduction_) {
      case Reduction::none:
        for (std::size_t j = 0; j < losses_.size(); ++j) y[j] = store_value<T>(static_cast<compute_t<T>>(losses_[j]));
        break;
      case Reduction::sum: y[0] = store_value<T>(static_cast<compute_t<T>>(total)); break;
      case Reduction::mean: y[0] = store_value<T>(static_cast<compute_t<T>>(total / weights)); break;
    }
  }

  std::string kernel() const override { return softmax_ ? "softmax_cross_entropy" : "nll_loss"; }

 private:
  bool softmax_;
  Index n_ = 0, c_ = 0, inner_ = 1;
  bool has_weight_ = false, log_prob_out_ = false;
  Reduction reduction_ = Reduction::mean;
  std::optional<Index> ignore_;
  std::vector<double> losses_, log_prob_;
};

std::unique_ptr<BoundOp> bind_loss(const BindArgs& a, bool softmax) {
  DType d = a.in(0).dtype;
  DType t = a.in(1).dtype;
  if (t != DType::int32 && t != DType::int64) a.fail("target must be int32 or int64, not {}", dtype_name(t));
  auto with_index = [&]<class T>() -> std::unique_ptr<BoundOp> {
    if (t == DType::int32) return std::make_unique<LossOp<T, std::int32_t>>(a, softmax);
    return std::make_unique<LossOp<T, std::int64_t>>(a, softmax);
  };
  switch (d) {
    case DType::float32: return with_index.operator()<float>();
    case DType::float64: return with_index.operator()<double>();
    case DType::float16: return with_index.operator()<float16>();
    case DType::bfloat16: return with_index.operator()<bfloat16>();
    default: a.unsupported("element type {} is not supported", dtype_name(d));
  }
}

std::unique_ptr<BoundOp> bind_nll_loss(const BindArgs& a) { return bind_loss(a, false); }
std::unique_ptr<BoundOp> bind_sce_loss(const BindArgs& a) { return bind_loss(a, true); }

constexpr OpBinding kBindings[] = {
    {"", "NegativeLogLikelihoodLoss", bind_nll_loss},
    {"", "SoftmaxCrossEntropyLoss", bind_sce_loss},
};

}  // namespace

std::span<const OpBinding> loss_bindings() {
  return kBindings;
}

}  // namespace lowp::runtime
