// reduce/compress_low_rank.cc
#include "reduce/compress_low_rank.h"

#include <fmt/ranges.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_set>

#include "base/error.h"
#include "ir/schema.h"

namespace lowp {
namespace {

enum class Form { gemm, matmul, conv };

// A layer that can be factorized: W [k, n] and how the op stores it.
struct Dense {
  Form form = Form::gemm;
  std::int64_t k = 0, n = 0;
  bool trans_b = false;              // Gemm: B is [n, k]
  std::int64_t bias_params = 0;      // constant bias elements
  std::int64_t rows_per_sample = 1;  // GEMM rows per sample of the batch
};

const Tensor* float_constant(const ir::Value* v) {
  return v && v->constant && v->constant->dtype() == DType::float32 ? v->constant.get() : nullptr;
}

bool float_input(const ir::Node& node) {
  const ir::Value* x = node.has_input(0) ? node.inputs[0] : nullptr;
  return x && x->type.dtype && *x->type.dtype == DType::float32;
}

// Product of the known dims [from, to) of a value's type; unknown dims count as 1.
std::int64_t known_product(const ir::Value* v, std::size_t from, std::size_t to) {
  std::int64_t p = 1;
  if (!v || !v->type.has_rank()) return p;
  for (std::size_t i = from; i < to && i < v->type.rank(); ++i) {
    const ir::Dim& d = (*v->type.dims)[i];
    if (d.is_known() && d.value > 0) p *= d.value;
  }
  return p;
}

// Why `node` is not a layer this pass factorizes (empty when it is; `d` is then filled).
std::string dense_form(const ir::Node& node, Dense& d) {
  if (node.outputs.empty() || !node.outputs[0]) return "no output";
  if (!float_input(node)) return "input is not float32";
  const Tensor* w = float_constant(node.has_input(1) ? node.inputs[1] : nullptr);
  if (!w) return "weights are not a float32 constant";
  const Shape& s = w->shape();
  if (w->elements() == 0) return "weights are empty";
  const ir::Value* bias = node.has_input(2) ? node.inputs[2] : nullptr;
  if (node.op_type == "Gemm" || node.op_type == "MatMul") {
    if (s.rank() != 2) return "weights are not 2-D";
    d.form = node.op_type == "Gemm" ? Form::gemm : Form::matmul;
    d.trans_b = d.form == Form::gemm && node.attr_int("transB", 0) != 0;
    d.k = d.trans_b ? s[1] : s[0];
    d.n = d.trans_b ? s[0] : s[1];
    if (d.form == Form::matmul) {
      const ir::Value* a = node.inputs[0];
      if (a->type.has_rank() && a->type.rank() >= 3)
        d.rows_per_sample = known_product(a, 1, a->type.rank() - 1);
    }
  } else {  // Conv
    if (s.rank() < 3) return "weights are not [out, in, kernel...]";
    for (std::size_t i = 2; i < s.rank(); ++i) {
      if (s[i] != 1)
        return fmt::format("kernel {} is not 1x1",
                           fmt::join(s.dims().begin() + 2, s.dims().end(), "x"));
    }
    if (node.attr_int("group", 1) != 1)
      return fmt::format("group {} (only group 1 is factorized)", node.attr_int("group", 1));
    d.form = Form::conv;
    d.k = s[1];
    d.n = s[0];
    const ir::Value* y = node.outputs[0];
    d.rows_per_sample = known_product(y, 2, y->type.has_rank() ? y->type.rank() : 0);
  }
  const bool bias_used = d.form != Form::gemm || node.attr_float("beta", 1.0f) != 0.0f;
  if (const Tensor* b = float_constant(bias); b && bias_used)
    d.bias_params = static_cast<std::int64_t>(b->elements());
  constexpr std::int64_t kMax = std::numeric_limits<int>::max();
  if (d.k > kMax || d.n > kMax || d.k * d.n > kMax) return "weights too large";
  return {};
}

// W [k][n] (the layout of x W) from the op's storage.
std::vector<float> weight_kn(const ir::Node& node, const Dense& d) {
  auto src = node.inputs[1]->constant->values<float>();
  const auto k = static_cast<std::size_t>(d.k), n = static_cast<std::size_t>(d.n);
  const bool stored_nk = d.form == Form::conv || d.trans_b;  // [n][k]
  if (!stored_nk) return {src.begin(), src.end()};
  std::vector<float> w(k * n);
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < k; ++i) w[i * n + j] = src[j * k + i];
  return w;
}

void check_finite(const ir::Node& node) {
  auto values = node.inputs[1]->constant->values<float>();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i]))
      fail(
          "node '{}': weight '{}' holds {} at flat index {}; low-rank factorization needs finite "
          "weights",
          node.label(), node.inputs[1]->name, values[i], i);
  }
}

std::shared_ptr<const Tensor> float_tensor(Shape shape, const std::vector<float>& values) {
  auto t = std::make_shared<Tensor>(DType::float32, std::move(shape));
  LOWP_CHECK(t->elements() == values.size(), "internal: {} values for a tensor of {}",
             values.size(), t->elements());
  std::memcpy(t->raw(), values.data(), values.size() * sizeof(float));
  return t;
}

std::vector<float> transposed(const std::vector<float>& m, std::size_t rows, std::size_t cols) {
  std::vector<float> t(m.size());
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) t[j * rows + i] = m[i * cols + j];
  return t;
}

// The intermediate value: the node's output type with the channel axis (last for Gemm and
// MatMul, 1 for Conv) set to the rank.
ir::TensorType middle_type(const ir::Node& node, const Dense& d, int rank) {
  ir::TensorType t;
  t.dtype = DType::float32;
  const ir::TensorType& out = node.outputs[0]->type;
  if (out.has_rank() && out.rank() >= 1) {
    std::vector<ir::Dim> dims = *out.dims;
    std::size_t axis = d.form == Form::conv ? 1 : dims.size() - 1;
    if (axis < dims.size()) {
      dims[axis] = ir::Dim::known(rank);
      t.dims = std::move(dims);
    }
  }
  return t;
}

// Replaces `node` by the two factors: a new first node, and `node` itself reading the
// first node's output with the second factor (so it keeps its output and bias).
void rewrite(ir::Graph& g, ir::Node& node, const Dense& d, const LowRankFactors& f) {
  const auto k = static_cast<std::size_t>(d.k), n = static_cast<std::size_t>(d.n);
  const auto r = static_cast<std::size_t>(f.rank);
  const std::int64_t rank = f.rank;
  const std::string stem = node.inputs[1]->name;
  std::vector<float> second = f.second;
  if (d.form == Form::gemm) {
    // alpha goes into W2 (and beta into a constant C), so the second Gemm is a plain dense
    // layer, which fine-tuning (train::model_from_graph) takes.
    const float alpha = node.attr_float("alpha", 1.0f);
    for (float& v : second) v *= alpha;
    node.attributes.erase("alpha");
    const float beta = node.attr_float("beta", 1.0f);
    if (beta == 0.0f && node.has_input(2)) {
      node.inputs.resize(2);
      node.attributes.erase("beta");
    } else if (const Tensor* c =
                   beta != 1.0f && node.has_input(2) ? float_constant(node.inputs[2]) : nullptr) {
      auto values = c->values<float>();
      std::vector<float> scaled(values.begin(), values.end());
      for (float& v : scaled) v *= beta;
      node.inputs[2] = g.add_constant(g.unique_name(node.inputs[2]->name + "_beta"),
                                      float_tensor(c->shape(), scaled));
      node.attributes.erase("beta");
    }
  }
  std::shared_ptr<const Tensor> w1, w2;
  if (d.form == Form::conv) {
    std::vector<std::int64_t> s1 = {rank, d.k}, s2 = {d.n, rank};
    const std::size_t spatial = node.inputs[1]->constant->shape().rank() - 2;
    s1.insert(s1.end(), spatial, 1);
    s2.insert(s2.end(), spatial, 1);
    w1 = float_tensor(Shape(s1), transposed(f.first, k, r));
    w2 = float_tensor(Shape(s2), transposed(second, r, n));
  } else if (d.trans_b) {
    w1 = float_tensor(Shape{rank, d.k}, transposed(f.first, k, r));
    w2 = float_tensor(Shape{d.n, rank}, transposed(second, r, n));
  } else {
    w1 = float_tensor(Shape{d.k, rank}, f.first);
    w2 = float_tensor(Shape{rank, d.n}, second);
  }
  ir::Value* v1 = g.add_constant(g.unique_name(stem + "_lowrank1"), w1);
  ir::Value* v2 = g.add_constant(g.unique_name(stem + "_lowrank2"), w2);
  const std::string base = node.name.empty() ? node.outputs[0]->name : node.name;
  ir::Value* mid = g.add_value(g.unique_name(base + "_lowrank"), middle_type(node, d, f.rank));

  ir::Node* first = g.add_node(node.op_type, {node.inputs[0], v1}, {mid}, base + "_lowrank1");
  if (d.form == Form::gemm) {
    // The first Gemm: the original transA and transB; C stays on the second.
    if (node.attr_int("transA", 0) != 0) first->attributes["transA"] = ir::Attribute::of_int(1);
    if (d.trans_b) first->attributes["transB"] = ir::Attribute::of_int(1);
    node.attributes.erase("transA");
  } else if (d.form == Form::conv) {
    // Stride, padding and dilation act on the first (pointwise) convolution only.
    first->attributes = node.attributes;
    for (const char* key : {"strides", "pads", "dilations", "auto_pad"}) node.attributes.erase(key);
  }
  node.inputs[0] = mid;
  node.inputs[1] = v2;
  node.name = base + "_lowrank2";
  ir::infer_node(*first);
}

std::int64_t model_params(const ir::Graph& g) {
  std::unordered_set<const ir::Value*> seen;
  std::int64_t total = 0;
  for (const auto& node : g.nodes()) {
    for (const ir::Value* v : node->inputs) {
      if (const Tensor* t = float_constant(v); t && seen.insert(v).second)
        total += static_cast<std::int64_t>(t->elements());
    }
  }
  return total;
}

}  // namespace

int LowRankReport::factorized() const {
  int count = 0;
  for (const auto& l : layers) count += l.factorized ? 1 : 0;
  return count;
}

std::unique_ptr<ir::Graph> compress_low_rank(const ir::Graph& model, const LowRankOptions& options,
                                             LowRankReport& report) {
  LOWP_CHECK(options.batch >= 1, "low-rank: batch {} must be at least 1", options.batch);
  LOWP_CHECK(std::isfinite(options.min_speedup) && options.min_speedup >= 0.0,
             "low-rank: the minimum speed-up {} must be finite and at least 0",
             options.min_speedup);
  for (const std::string& name : options.exclude) {
    bool found = false;
    for (const auto& n : model.nodes()) found = found || n->name == name;
    LOWP_CHECK(found, "--exclude names node '{}', which the model does not have", name);
  }
  LowRankTimer timer = options.timer ? options.timer : [](int rows, int k, int n, int rank) {
    return time_low_rank(rows, k, n, rank);
  };

  auto g = model.clone();
  report = {};
  report.params_before = model_params(*g);
  // The candidates first: rewriting appends nodes to the list being walked.
  std::vector<ir::Node*> nodes;
  for (const auto& n : g->nodes()) {
    if (n->domain.empty() &&
        (n->op_type == "Gemm" || n->op_type == "MatMul" || n->op_type == "Conv"))
      nodes.push_back(n.get());
  }
  bool changed = false;
  for (ir::Node* node : nodes) {
    LowRankLayerReport& l = report.layers.emplace_back();
    l.node = node->label();
    l.op_type = node->op_type;
    if (options.exclude.contains(node->name)) {
      l.reason = "excluded (--exclude)";
      continue;
    }
    Dense d;
    l.reason = dense_form(*node, d);
    if (!l.reason.empty()) continue;
    check_finite(*node);
    l.k = d.k;
    l.n = d.n;
    l.params_before = d.k * d.n + d.bias_params;
    const std::int64_t full = std::min(d.k, d.n);
    const std::int64_t rows = d.rows_per_sample * options.batch;
    LOWP_CHECK(rows <= std::numeric_limits<int>::max(),
               "node '{}': {} rows at batch {} are too many to time", l.node, rows, options.batch);
    l.rows = rows;
    auto saves = [&](std::int64_t r) { return r * (d.k + d.n) < d.k * d.n; };
    // rank=R: when R itself saves nothing, the SVD is not worth running.
    if (options.spec.kind == RankSpec::Kind::rank &&
        !saves(std::min<std::int64_t>(options.spec.rank, full))) {
      l.rank = static_cast<int>(std::min<std::int64_t>(options.spec.rank, full));
      l.params_after = l.params_before;
      l.reason = fmt::format("rank {} saves no parameters (r (K + N) >= K N)", l.rank);
      continue;
    }
    std::vector<float> w = weight_kn(*node, d);
    LowRankFactors f;
    try {
      f = factorize_low_rank(w.data(), static_cast<int>(d.k), static_cast<int>(d.n), options.spec);
    } catch (const Error&) {
      rethrow_with_context(fmt::format("node '{}'", l.node));
    }
    l.rank = f.rank;
    l.energy_kept = f.energy_kept;
    l.params_after = l.params_before;
    if (!saves(f.rank)) {
      l.reason = fmt::format("rank {} of {} saves no parameters (r (K + N) >= K N)", f.rank, full);
      continue;
    }
    std::string speed = "not timed (minimum speed-up 0)";
    if (options.min_speedup > 0.0) {
      LowRankTiming t =
          timer(static_cast<int>(rows), static_cast<int>(d.k), static_cast<int>(d.n), f.rank);
      l.dense_us = t.dense_us;
      l.factored_us = t.factored_us;
      if (!(t.speedup() >= options.min_speedup)) {
        l.reason = fmt::format("rank {} of {} not fast enough: {:.2f}x at {} rows, needs {:.2f}x",
                               f.rank, full, t.speedup(), rows, options.min_speedup);
        continue;
      }
      speed = fmt::format("{:.2f}x faster at {} rows", t.speedup(), rows);
    }
    rewrite(*g, *node, d, f);
    changed = true;
    l.factorized = true;
    l.params_after = static_cast<std::int64_t>(f.rank) * (d.k + d.n) + d.bias_params;
    l.reason = fmt::format("rank {} of {}, {}", f.rank, full, speed);
  }
  if (changed) {
    g->sort_topologically();
    g->remove_unused_values();
  }
  report.params_after = model_params(*g);
  return g;
}

}  // namespace lowp
