// quant/compare.cc
#include "quant/compare.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>

#include "base/error.h"
#include "base/float_types.h"
#include "passes/passes.h"

namespace lowp::quant {

// ---- metrics ----

void MetricsAccumulator::add(std::span<const float> reference, std::span<const float> test) {
  LOWP_CHECK(reference.size() == test.size(), "compare: tensors of {} and {} elements", reference.size(),
             test.size());
  for (std::size_t i = 0; i < reference.size(); ++i) {
    const float r = reference[i], t = test[i];
    if (!std::isfinite(r) || !std::isfinite(t)) {
      // The same infinity on both sides, or NaN on both, is agreement; anything else is not.
      bool same = (std::isnan(r) && std::isnan(t)) || r == t;
      if (!same) ++non_finite_;
      continue;
    }
    const double rd = r, td = t, e = rd - td;
    signal_ += rd * rd;
    noise_ += e * e;
    dot_ += rd * td;
    ref_sq_ += rd * rd;
    test_sq_ += td * td;
    max_error_ = std::max(max_error_, std::fabs(e));
    ++elements_;
  }
}

TensorMetrics MetricsAccumulator::result() const {
  TensorMetrics m;
  m.elements = elements_;
  m.non_finite = non_finite_;
  m.max_abs_error = max_error_;
  constexpr double inf = std::numeric_limits<double>::infinity();
  m.noise_to_signal = noise_ == 0 ? 0.0 : signal_ == 0 ? inf : noise_ / signal_;
  if (noise_ == 0) m.sqnr_db = inf;
  else if (signal_ == 0) m.sqnr_db = -inf;
  else m.sqnr_db = 10.0 * std::log10(signal_ / noise_);
  if (ref_sq_ == 0 && test_sq_ == 0) m.cosine = 1.0;
  else if (ref_sq_ == 0 || test_sq_ == 0) m.cosine = 0.0;
  else m.cosine = std::clamp(dot_ / (std::sqrt(ref_sq_) * std::sqrt(test_sq_)), -1.0, 1.0);
  return m;
}

TensorMetrics compare_tensors(std::span<const float> reference, std::span<const float> test) {
  MetricsAccumulator acc;
  acc.add(reference, test);
  return acc.result();
}

bool worse_than(const TensorMetrics& a, const TensorMetrics& b) {
  if ((a.non_finite > 0) != (b.non_finite > 0)) return a.non_finite > 0;
  if (a.sqnr_db != b.sqnr_db) return a.sqnr_db < b.sqnr_db;
  return a.cosine < b.cosine;
}

double added_noise_db(double nsr_out, double nsr_in) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  if (std::isinf(nsr_out)) return std::isinf(nsr_in) ? inf : -inf;
  double added = nsr_out - nsr_in;
  return added > 0 ? -10.0 * std::log10(added) : inf;
}

namespace {

// ---- how a reference tensor is read in the quantized model ----

struct Counterpart {
  std::string reference;  // tensor of the reference model
  std::string observed;   // tensor of the quantized model
  bool dequantize = false;
  float scale = 1.0f;
  std::int32_t zero_point = 0;
};

std::optional<double> scalar_constant(const ir::Value* v) {
  if (!v || !v->constant || v->constant->elements() != 1) return std::nullopt;
  const Tensor& t = *v->constant;
  switch (t.dtype()) {
    case DType::float32: return t.values<float>()[0];
    case DType::uint8: return t.values<std::uint8_t>()[0];
    case DType::int8: return t.values<std::int8_t>()[0];
    case DType::uint16: return t.values<std::uint16_t>()[0];
    case DType::int16: return t.values<std::int16_t>()[0];
    case DType::int32: return t.values<std::int32_t>()[0];
    default: return std::nullopt;
  }
}

// A value that the lowered model still computes (or is given).
bool alive(const ir::Graph& g, const std::string& name) {
  const ir::Value* v = g.find_value(name);
  if (!v || v->constant) return false;
  if (v->producer) return true;
  return std::find(g.inputs.begin(), g.inputs.end(), v) != g.inputs.end();
}

std::optional<Counterpart> find_counterpart(const std::string& tensor, const ir::Graph& quantized,
                                            const ir::Graph& lowered,
                                            const std::map<std::string, const ir::Node*>& q_reading) {
  auto it = q_reading.find(tensor);
  if (it != q_reading.end()) {
    const ir::Node* q = it->second;
    auto scale = scalar_constant(q->inputs[1]);
    std::optional<double> zero = 0.0;
    if (q->has_input(2)) zero = scalar_constant(q->inputs[2]);
    if (scale && zero && std::isfinite(*scale) && *scale > 0 && q->outputs[0] &&
        alive(lowered, q->outputs[0]->name)) {
      return Counterpart{tensor, q->outputs[0]->name, true, static_cast<float>(*scale),
                         static_cast<std::int32_t>(*zero)};
    }
  }
  if (alive(lowered, tensor) && quantized.find_value(tensor)) return Counterpart{tensor, tensor, false, 1.0f, 0};
  return std::nullopt;
}

// ---- tensors as fp32 ----

bool is_real(DType t) {
  return t == DType::float32 || t == DType::float16 || t == DType::bfloat16 || t == DType::float64;
}

template <class T>
void dequantize_into(const Tensor& t, float scale, std::int32_t zero_point, std::vector<float>& out) {
  auto v = t.values<T>();
  out.resize(v.size());
  // ONNX DequantizeLinear: (x - zero_point) * scale, in fp32.
  for (std::size_t i = 0; i < v.size(); ++i)
    out[i] = static_cast<float>(static_cast<std::int32_t>(v[i]) - zero_point) * scale;
}

// The real values of `t` (numbers of any type as fp32; integers exactly when they fit).
std::vector<float> as_float(const Tensor& t) {
  std::vector<float> out(t.elements());
  switch (t.dtype()) {
    case DType::float32: {
      auto v = t.values<float>();
      std::copy(v.begin(), v.end(), out.begin());
      break;
    }
    case DType::float16: {
      auto v = t.values<std::uint16_t>();
      for (std::size_t i = 0; i < v.size(); ++i) out[i] = float16::from_bits(v[i]).to_float();
      break;
    }
    case DType::bfloat16: {
      auto v = t.values<std::uint16_t>();
      for (std::size_t i = 0; i < v.size(); ++i) out[i] = bfloat16::from_bits(v[i]).to_float();
      break;
    }
    case DType::float64: {
      auto v = t.values<double>();
      for (std::size_t i = 0; i < v.size(); ++i) out[i] = static_cast<float>(v[i]);
      break;
    }
    case DType::int64: {
      auto v = t.values<std::int64_t>();
      for (std::size_t i = 0; i < v.size(); ++i) out[i] = static_cast<float>(v[i]);
      break;
    }
    case DType::int32: {
      auto v = t.values<std::int32_t>();
      for (std::size_t i = 0; i < v.size(); ++i) out[i] = static_cast<float>(v[i]);
      break;
    }
    case DType::uint8: dequantize_into<std::uint8_t>(t, 1.0f, 0, out); break;
    case DType::int8: dequantize_into<std::int8_t>(t, 1.0f, 0, out); break;
    case DType::boolean: {
      auto v = t.values<std::uint8_t>();
      for (std::size_t i = 0; i < v.size(); ++i) out[i] = v[i] ? 1.0f : 0.0f;
      break;
    }
    default:
      fail("compare: no comparison for tensors of dtype {}", dtype_name(t.dtype()));
  }
  return out;
}

// The quantized model's value of a matched tensor, in the reference's terms.
std::optional<std::vector<float>> observed_values(const Counterpart& c, const Tensor& t) {
  if (!c.dequantize) {
    if (!is_real(t.dtype())) return std::nullopt;
    return as_float(t);
  }
  std::vector<float> out;
  switch (t.dtype()) {
    case DType::uint8: dequantize_into<std::uint8_t>(t, c.scale, c.zero_point, out); break;
    case DType::int8: dequantize_into<std::int8_t>(t, c.scale, c.zero_point, out); break;
    case DType::uint16: dequantize_into<std::uint16_t>(t, c.scale, c.zero_point, out); break;
    case DType::int16: dequantize_into<std::int16_t>(t, c.scale, c.zero_point, out); break;
    default: return std::nullopt;
  }
  return out;
}

// Largest |a - b| over two lists of outputs (NaN against a number counts as infinite).
double largest_change(const std::vector<Tensor>& a, const std::vector<Tensor>& b, std::size_t count) {
  double change = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (a[i].dtype() != b[i].dtype() || a[i].shape() != b[i].shape() || a[i].bytes() != b[i].bytes())
      return std::numeric_limits<double>::infinity();
    if (a[i].bytes() == 0 || std::memcmp(a[i].raw(), b[i].raw(), a[i].bytes()) == 0) continue;
    std::vector<float> x = as_float(a[i]), y = as_float(b[i]);
    for (std::size_t j = 0; j < x.size(); ++j) {
      if (std::isnan(x[j]) != std::isnan(y[j])) return std::numeric_limits<double>::infinity();
      if (std::isnan(x[j]) || x[j] == y[j]) continue;
      change = std::max(change, std::fabs(static_cast<double>(x[j]) - y[j]));
      if (change == 0) change = std::numeric_limits<double>::min();  // equal values, other bits
    }
  }
  return change;
}

std::string names(const std::vector<ir::Value*>& values) {
  std::string s;
  for (const ir::Value* v : values) s += (s.empty() ? "" : ", ") + v->name;
  return "[" + s + "]";
}

std::set<std::string> name_set(const std::vector<ir::Value*>& values) {
  std::set<std::string> s;
  for (const ir::Value* v : values) s.insert(v->name);
  return s;
}

// Checks that the given inputs fit `model`'s declared inputs.
void check_inputs(const ir::Graph& model, const std::string& file, const std::vector<CompareInput>& inputs) {
  std::set<std::string> given;
  for (const CompareInput& in : inputs) {
    LOWP_CHECK(given.insert(in.name).second, "compare: input '{}' is given twice", in.name);
    const ir::Value* v = nullptr;
    for (const ir::Value* x : model.inputs) {
      if (x->name == in.name) v = x;
    }
    LOWP_CHECK(v != nullptr, "compare: {} has no input '{}' (its inputs: {})", file, in.name, names(model.inputs));
    if (v->type.dtype && *v->type.dtype != in.tensor.dtype()) {
      fail("compare: input '{}' of {} is {}, the file gives {}", in.name, file, dtype_name(*v->type.dtype),
           dtype_name(in.tensor.dtype()));
    }
    if (v->type.dims) {
      const Shape& s = in.tensor.shape();
      bool fits = v->type.rank() == s.rank();
      for (std::size_t d = 0; fits && d < s.rank(); ++d) {
        const ir::Dim& dim = (*v->type.dims)[d];
        fits = !dim.is_known() || dim.value == s[d];
      }
      LOWP_CHECK(fits, "compare: input '{}' of {} has shape {}, the file gives {}", in.name, file,
                 v->type.str(), s.str());
    }
  }
  for (const ir::Value* v : model.inputs) {
    LOWP_CHECK(given.contains(v->name), "compare: input '{}' of {} is not given (--input {}=FILE.npy)", v->name,
               file, v->name);
  }
}

// Rows [begin, end) of axis 0.
Tensor rows_of(const Tensor& t, std::size_t begin, std::size_t end) {
  std::vector<std::int64_t> dims(t.shape().dims().begin(), t.shape().dims().end());
  const std::size_t row_bytes = t.shape()[0] == 0 ? 0 : t.bytes() / static_cast<std::size_t>(t.shape()[0]);
  dims[0] = static_cast<std::int64_t>(end - begin);
  Tensor out(t.dtype(), Shape(dims));
  if (row_bytes) std::memcpy(out.raw(), t.raw() + begin * row_bytes, (end - begin) * row_bytes);
  return out;
}

// The reference node chain that ends at `tensor`'s producer: nodes whose single-use output
// had no counterpart are folded in front (Conv -> BatchNormalization -> Relu).
std::vector<const ir::Node*> chain_of(const ir::Graph& g, const ir::Value* tensor, const std::set<std::string>& matched,
                                      const std::unordered_map<const ir::Value*, std::vector<ir::Use>>& uses) {
  std::vector<const ir::Node*> chain = {tensor->producer};
  const ir::Node* cur = tensor->producer;
  while (true) {
    const ir::Value* in = nullptr;
    for (const ir::Value* v : cur->inputs) {
      if (v && !v->constant && v->producer) {
        in = v;
        break;
      }
    }
    if (!in || matched.contains(in->name) || g.is_graph_output(in)) break;
    auto u = uses.find(in);
    if (u == uses.end() || u->second.size() != 1 || in->producer->outputs.size() != 1) break;
    cur = in->producer;
    chain.insert(chain.begin(), cur);
  }
  return chain;
}

}  // namespace

CompareResult compare_models(const ir::Graph& reference, const ir::Graph& quantized,
                             const std::vector<CompareInput>& inputs, const ModelBackend& backend,
                             const CompareOptions& options) {
  const std::string& rname = options.reference_name;
  const std::string& qname = options.quantized_name;
  LOWP_CHECK(options.batch >= 1, "compare: batch must be at least 1");
  if (name_set(reference.inputs) != name_set(quantized.inputs)) {
    fail("compare: the models have different inputs: {} has {}, {} has {}", rname, names(reference.inputs), qname,
         names(quantized.inputs));
  }
  if (name_set(reference.outputs) != name_set(quantized.outputs) ||
      reference.outputs.size() != quantized.outputs.size()) {
    fail("compare: the models have different outputs: {} has {}, {} has {}", rname, names(reference.outputs), qname,
         names(quantized.outputs));
  }
  check_inputs(reference, rname, inputs);
  check_inputs(quantized, qname, inputs);

  // What lowp runs of the quantized model: lowered as a session lowers it.
  auto lowered = quantized.clone();
  passes::remove_identities(*lowered);
  passes::lower_qdq(*lowered);
  std::map<std::string, const ir::Node*> q_reading;  // tensor -> the QuantizeLinear reading it
  for (const auto& n : quantized.nodes()) {
    if (n->domain.empty() && n->op_type == "QuantizeLinear" && n->has_input(0) &&
        n->attr_int("block_size", 0) == 0 && !q_reading.contains(n->inputs[0]->name)) {
      q_reading[n->inputs[0]->name] = n.get();
    }
  }

  // Reference tensors, in node order, with their counterparts.
  CompareResult result;
  std::vector<Counterpart> pairs;
  std::vector<const ir::Value*> pair_values;
  // The graph inputs too (not rows): their quantization is the first layers' input error.
  for (const ir::Value* v : reference.inputs) {
    auto c = find_counterpart(v->name, quantized, *lowered, q_reading);
    if (c && c->dequantize) {
      pairs.push_back(*c);
      pair_values.push_back(v);
    }
  }
  const std::size_t first_layer_pair = pairs.size();
  for (const auto& n : reference.nodes()) {
    if (n->op_type == "Constant") continue;
    bool all_constant = true;
    for (const ir::Value* v : n->inputs) all_constant = all_constant && (!v || v->constant);
    if (all_constant) continue;
    for (const ir::Value* v : n->outputs) {
      if (!v || v->name.empty()) continue;
      if (v->type.dtype && !is_real(*v->type.dtype)) continue;
      auto c = find_counterpart(v->name, quantized, *lowered, q_reading);
      if (c) {
        pairs.push_back(*c);
        pair_values.push_back(v);
      } else {
        result.unmatched.push_back(v->name);
      }
    }
  }

  // Both models with the matched tensors as extra outputs.
  auto observing = [](const ir::Graph& model, const std::vector<std::string>& extra, std::vector<std::size_t>& index) {
    auto g = model.clone();
    std::map<std::string, std::size_t> position;
    for (std::size_t i = 0; i < g->outputs.size(); ++i) position[g->outputs[i]->name] = i;
    for (const std::string& name : extra) {
      auto it = position.find(name);
      if (it == position.end()) {
        ir::Value* v = g->find_value(name);
        LOWP_CHECK(v != nullptr, "compare: no tensor '{}'", name);
        it = position.emplace(name, g->outputs.size()).first;
        g->outputs.push_back(v);
      }
      index.push_back(it->second);
    }
    return g;
  };
  std::vector<std::string> ref_names, q_names;
  for (const Counterpart& c : pairs) {
    ref_names.push_back(c.reference);
    q_names.push_back(c.observed);
  }
  std::vector<std::size_t> ref_index, q_index;
  NamedRunner run_ref_observed = backend.make_named_runner(observing(reference, ref_names, ref_index));
  NamedRunner run_q_observed = backend.make_named_runner(observing(quantized, q_names, q_index));
  NamedRunner run_ref = backend.make_named_runner(reference.clone());
  NamedRunner run_q = backend.make_named_runner(quantized.clone());

  // Batches along axis 0 when it is symbolic everywhere and the inputs agree on it.
  bool batched = !inputs.empty();
  std::size_t rows = 0;
  for (const ir::Graph* g : {&reference, &quantized}) {
    for (const ir::Value* v : g->inputs) batched = batched && v->type.dims && v->type.rank() >= 1 && !(*v->type.dims)[0].is_known();
  }
  for (std::size_t i = 0; batched && i < inputs.size(); ++i) {
    const Shape& s = inputs[i].tensor.shape();
    if (s.rank() == 0) batched = false;
    else if (i == 0) rows = static_cast<std::size_t>(s[0]);
    else if (static_cast<std::size_t>(s[0]) != rows) batched = false;
  }
  if (batched && rows == 0) fail("compare: the inputs have no rows (axis 0 is 0)");

  std::vector<MetricsAccumulator> layer_acc(pairs.size()), output_acc(reference.outputs.size());
  std::vector<bool> comparable(pairs.size(), true);
  std::vector<std::string> forms(pairs.size());
  std::vector<std::size_t> agree(reference.outputs.size(), 0), argmax_rows(reference.outputs.size(), 0);
  std::vector<bool> logits(reference.outputs.size(), true);
  std::map<std::string, std::size_t> q_output_position;
  for (std::size_t i = 0; i < quantized.outputs.size(); ++i) q_output_position[quantized.outputs[i]->name] = i;

  const std::size_t step = batched ? options.batch : std::max<std::size_t>(rows, 1);
  const std::size_t total = batched ? rows : 1;
  for (std::size_t begin = 0; begin < total; begin += step) {
    std::vector<Tensor> slices;
    std::vector<NamedTensor> feed;
    slices.reserve(inputs.size());
    for (const CompareInput& in : inputs) {
      if (batched) slices.push_back(rows_of(in.tensor, begin, std::min(total, begin + step)));
    }
    for (std::size_t i = 0; i < inputs.size(); ++i)
      feed.emplace_back(inputs[i].name, batched ? &slices[i] : &inputs[i].tensor);

    std::vector<Tensor> ref_out = run_ref_observed(feed);
    std::vector<Tensor> q_out = run_q_observed(feed);
    std::vector<Tensor> ref_plain = run_ref(feed);
    std::vector<Tensor> q_plain = run_q(feed);
    result.observation_change_reference =
        std::max(result.observation_change_reference, largest_change(ref_plain, ref_out, ref_plain.size()));
    result.observation_change_quantized =
        std::max(result.observation_change_quantized, largest_change(q_plain, q_out, q_plain.size()));
    ++result.runs;
    result.samples += batched ? std::min(total, begin + step) - begin : 1;

    for (std::size_t p = 0; p < pairs.size(); ++p) {
      if (!comparable[p]) continue;
      const Tensor& r = ref_out[ref_index[p]];
      const Tensor& q = q_out[q_index[p]];
      auto qv = observed_values(pairs[p], q);
      if (!is_real(r.dtype()) || !qv || r.elements() != q.elements()) {
        comparable[p] = false;  // not a float tensor (shape arithmetic), or not the same tensor
        continue;
      }
      if (forms[p].empty()) {
        forms[p] = pairs[p].dequantize ? fmt::format("{} scale={:.6g} zero_point={}", dtype_name(q.dtype()),
                                                     pairs[p].scale, pairs[p].zero_point)
                                       : std::string(dtype_name(q.dtype()));
      }
      std::vector<float> rv = as_float(r);
      layer_acc[p].add(rv, *qv);
    }
    for (std::size_t o = 0; o < reference.outputs.size(); ++o) {
      const Tensor& r = ref_plain[o];
      const Tensor& q = q_plain[q_output_position.at(reference.outputs[o]->name)];
      LOWP_CHECK(r.elements() == q.elements(), "compare: output '{}' has shape {} in {} and {} in {}",
                 reference.outputs[o]->name, r.shape().str(), rname, q.shape().str(), qname);
      std::vector<float> rv = as_float(r), qv = as_float(q);
      output_acc[o].add(rv, qv);
      logits[o] = logits[o] && is_real(r.dtype()) && r.shape().rank() == 2 && r.shape()[1] >= 2;
      if (!logits[o]) continue;
      const std::size_t n = static_cast<std::size_t>(r.shape()[0]), c = static_cast<std::size_t>(r.shape()[1]);
      for (std::size_t i = 0; i < n; ++i) {
        auto first = rv.begin() + static_cast<std::ptrdiff_t>(i * c);
        auto qfirst = qv.begin() + static_cast<std::ptrdiff_t>(i * c);
        if (std::max_element(first, first + static_cast<std::ptrdiff_t>(c)) - first ==
            std::max_element(qfirst, qfirst + static_cast<std::ptrdiff_t>(c)) - qfirst)
          ++agree[o];
      }
      argmax_rows[o] += n;
    }
  }

  auto uses = reference.uses();
  std::set<std::string> matched;
  for (std::size_t p = 0; p < pairs.size(); ++p) {
    if (comparable[p]) matched.insert(pairs[p].reference);
  }
  std::map<const ir::Value*, std::pair<double, double>> error_at;  // tensor -> (nsr, sqnr)
  std::vector<TensorMetrics> metrics(pairs.size());
  for (std::size_t p = 0; p < pairs.size(); ++p) {
    if (!comparable[p]) continue;
    metrics[p] = layer_acc[p].result();
    error_at[pair_values[p]] = {metrics[p].noise_to_signal, metrics[p].sqnr_db};
  }
  // The error at a layer's inputs: at the nearest observed tensor up each input's path
  // (exact at a graph input fed unchanged); the worst input counts.
  auto input_error = [&](const ir::Node* head, std::string& where) {
    std::pair<double, double> worst = {0.0, std::numeric_limits<double>::infinity()};
    where.clear();
    for (const ir::Value* v : head->inputs) {
      while (v && !v->constant && !error_at.contains(v) && v->producer) {
        const ir::Value* next = nullptr;
        for (const ir::Value* x : v->producer->inputs) {
          if (x && !x->constant) {
            next = x;
            break;
          }
        }
        v = next;
      }
      if (!v || v->constant) continue;
      auto it = error_at.find(v);
      if (it != error_at.end() && (where.empty() || it->second.first > worst.first)) {
        worst = it->second;
        where = v->name;
      }
    }
    return worst;
  };
  for (std::size_t p = first_layer_pair; p < pairs.size(); ++p) {
    if (!comparable[p]) continue;
    LayerComparison row;
    const ir::Value* v = pair_values[p];
    std::vector<const ir::Node*> chain = chain_of(reference, v, matched, uses);
    for (const ir::Node* n : chain) row.nodes.push_back(n->name.empty() ? n->outputs[0]->name : n->name);
    const ir::Node* head = chain.front();
    row.node = row.nodes.front();
    row.op_type = head->op_type;
    row.tensor = pairs[p].reference;
    row.observed = pairs[p].observed;
    row.form = forms[p];
    row.metrics = metrics[p];
    auto [nsr_in, sqnr_in] = input_error(head, row.input);
    row.input_sqnr_db = sqnr_in;
    row.added_db = added_noise_db(row.metrics.noise_to_signal, nsr_in);
    row.order = p;
    result.layers.push_back(std::move(row));
  }
  std::stable_sort(result.layers.begin(), result.layers.end(),
                   [&](const LayerComparison& a, const LayerComparison& b) {
                     if (options.order == LayerOrder::added_noise) {
                       if ((a.metrics.non_finite > 0) != (b.metrics.non_finite > 0)) return a.metrics.non_finite > 0;
                       if (a.added_db != b.added_db) return a.added_db < b.added_db;
                     }
                     return worse_than(a.metrics, b.metrics);
                   });
  for (std::size_t o = 0; o < reference.outputs.size(); ++o) {
    OutputComparison oc;
    oc.name = reference.outputs[o]->name;
    oc.metrics = output_acc[o].result();
    if (logits[o] && argmax_rows[o] > 0) {
      oc.top1_agreement = static_cast<double>(agree[o]) / static_cast<double>(argmax_rows[o]);
      oc.rows = argmax_rows[o];
    }
    result.outputs.push_back(std::move(oc));
  }
  return result;
}

}  // namespace lowp::quant
