// passes/cancel_transposes.cc
//
// Moves each Transpose down past element-wise work until it meets another Transpose,
// then composes the two (and drops the result when it is the identity). A Transpose is
// only moved when the op it passes is its sole consumer, so moving never duplicates one.
#include <algorithm>
#include <cstring>
#include <set>

#include "passes/passes.h"
#include "passes/rewrite_util.h"

namespace lowp::passes {
namespace {

using Perm = std::vector<std::int64_t>;

const std::set<std::string> kUnary = {
    "Relu",  "Clip",     "Sigmoid",  "HardSigmoid", "HardSwish", "LeakyRelu", "Tanh",  "Erf",
    "Exp",   "Log",      "Neg",      "Abs",         "Sqrt",      "Elu",       "Selu",  "Celu",
    "Softplus", "Softsign", "Gelu",  "Mish",        "Cast",      "Floor",     "Ceil",  "Round",
    "Reciprocal", "Sin", "Cos",      "Sign",        "Not",       "IsNaN",     "IsInf", "Identity"};
const std::set<std::string> kBinary = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Pow", "Equal",
                                       "Less", "Greater", "And", "Or", "Xor", "Where"};

// QuantizeLinear / DequantizeLinear with one scale (and zero point): element-wise, so a
// transpose commutes with them.
bool per_tensor_quantization(const ir::Node& n) {
  if (n.op_type != "QuantizeLinear" && n.op_type != "DequantizeLinear") return false;
  for (std::size_t i = 1; i < n.inputs.size(); ++i) {
    if (n.inputs[i] && (!n.inputs[i]->constant || n.inputs[i]->constant->elements() != 1)) return false;
  }
  return n.attr_int("block_size", 0) == 0;
}

Perm perm_of(const ir::Node& t) {
  return t.attr_ints("perm");
}

bool is_identity(const Perm& p) {
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] != static_cast<std::int64_t>(i)) return false;
  }
  return true;
}

// The Transpose producing `v` with an explicit perm, when `consumer` is v's sole reader.
ir::Node* sole_transpose(const ir::Graph& g, const UseMap& uses, const ir::Value* v, const ir::Node* consumer) {
  if (!v || !v->producer) return nullptr;
  ir::Node* t = v->producer;
  if (t->op_type != "Transpose" || !t->domain.empty() || perm_of(*t).empty()) return nullptr;
  if (sole_consumer(g, uses, v) != consumer) return nullptr;
  return t;
}

// A constant as if transposed by the inverse of `perm` (after padding its rank with
// leading ones to perm's size), so that op(T(a), c) == T(op(a, inverse(c))).
std::shared_ptr<Tensor> inverse_transposed(const Tensor& c, const Perm& perm) {
  std::size_t rank = perm.size();
  if (c.shape().rank() > rank) return nullptr;
  std::vector<std::int64_t> dims(rank - c.shape().rank(), 1);
  for (std::int64_t d : c.shape().dims()) dims.push_back(d);
  // out axis perm[i] takes in axis i.
  std::vector<std::int64_t> out_dims(rank);
  for (std::size_t i = 0; i < rank; ++i) out_dims[static_cast<std::size_t>(perm[i])] = dims[i];
  auto out = std::make_shared<Tensor>(c.dtype(), Shape(out_dims));
  std::size_t width = dtype_bits(c.dtype()) / 8;
  if (width == 0) return nullptr;
  std::vector<std::size_t> in_strides(rank, 1), out_strides(rank, 1);
  for (std::size_t i = rank; i-- > 1;) {
    in_strides[i - 1] = in_strides[i] * static_cast<std::size_t>(dims[i]);
    out_strides[i - 1] = out_strides[i] * static_cast<std::size_t>(out_dims[i]);
  }
  std::vector<std::int64_t> idx(rank, 0);
  for (std::size_t flat = 0; flat < c.elements(); ++flat) {
    std::size_t rem = flat, dst = 0;
    for (std::size_t i = 0; i < rank; ++i) {
      std::size_t v = rem / in_strides[i];
      rem %= in_strides[i];
      dst += v * out_strides[static_cast<std::size_t>(perm[i])];
    }
    std::memcpy(out->raw() + dst * width, c.raw() + flat * width, width);
  }
  return out;
}

class Mover {
 public:
  explicit Mover(ir::Graph& g) : g_(g) {}

  std::size_t run() {
    std::size_t total = 0;
    for (bool changed = true; changed;) {
      changed = false;
      UseMap uses = g_.uses();
      for (const auto& n : g_.nodes()) {
        if (done_.contains(n.get())) continue;
        if (step(*n, uses)) {
          changed = true;
          ++total;
          break;  // the use map is stale: start over
        }
      }
      g_.sort_topologically();
    }
    std::vector<ir::Node*> dead(done_.begin(), done_.end());
    g_.remove_nodes(dead);
    return total;
  }

 private:
  bool step(ir::Node& n, const UseMap& uses) {
    if (!n.domain.empty() || n.outputs.size() != 1 || !n.outputs[0]) return false;
    if (n.op_type == "Transpose") return compose(n, uses);
    if (kUnary.contains(n.op_type) || per_tensor_quantization(n)) {
      ir::Node* t = sole_transpose(g_, uses, n.inputs[0], &n);
      if (!t) return false;
      n.inputs[0] = t->inputs[0];
      push_after(n, perm_of(*t));
      retire(*t);
      return true;
    }
    if (kBinary.contains(n.op_type)) return through_binary(n, uses);
    if (n.op_type == "Concat") return through_concat(n, uses);
    return false;
  }

  // Transpose(Transpose(x, P), Q) = Transpose(x, R), R[i] = P[Q[i]]. The inner one need
  // not be dead: reading x directly never adds work (it goes when nothing else reads it).
  bool compose(ir::Node& n, const UseMap& uses) {
    ir::Value* v = n.inputs[0];
    ir::Node* t = v ? v->producer : nullptr;
    if (!t || t->op_type != "Transpose" || !t->domain.empty() || perm_of(*t).empty()) return false;
    bool inner_dead = sole_consumer(g_, uses, v) == &n;
    Perm p = perm_of(*t), q = perm_of(n);
    if (p.size() != q.size()) return false;
    Perm r(q.size());
    for (std::size_t i = 0; i < q.size(); ++i) r[i] = p[static_cast<std::size_t>(q[i])];
    n.inputs[0] = t->inputs[0];
    n.attributes["perm"] = ir::Attribute::of_ints(r);
    if (inner_dead) retire(*t);
    if (is_identity(r)) {
      ir::Value* x = n.inputs[0];
      ir::Value* y = n.outputs[0];
      if (g_.is_graph_output(y)) {
        n.op_type = "Identity";  // keeps the output's name; remove_identities renames it
        n.attributes.clear();
      } else {
        g_.replace_all_uses(y, x);
        retire(n);
      }
    }
    return true;
  }

  bool through_binary(ir::Node& n, const UseMap& uses) {
    // Every non-constant input must come from a sole-consumer Transpose of one perm;
    // constants are permuted to match.
    std::optional<Perm> perm;
    std::vector<ir::Node*> transposes(n.inputs.size(), nullptr);
    for (std::size_t i = 0; i < n.inputs.size(); ++i) {
      ir::Value* v = n.inputs[i];
      if (!v) return false;
      if (v->is_constant()) continue;
      ir::Node* t = sole_transpose(g_, uses, v, &n);
      // The same value on both sides (x + x) has two uses by this node: allow it.
      if (!t && v->producer && v->producer->op_type == "Transpose" && v->producer->domain.empty()) {
        auto it = uses.find(v);
        bool only_here = it != uses.end() && !g_.is_graph_output(v) &&
                         std::all_of(it->second.begin(), it->second.end(), [&](const ir::Use& u) { return u.node == &n; });
        if (only_here) t = v->producer;
      }
      if (!t) return false;
      Perm p = perm_of(*t);
      if (perm && *perm != p) return false;
      perm = p;
      transposes[i] = t;
    }
    if (!perm) return false;
    std::vector<ir::Value*> new_inputs = n.inputs;
    for (std::size_t i = 0; i < n.inputs.size(); ++i) {
      if (transposes[i]) {
        new_inputs[i] = transposes[i]->inputs[0];
        continue;
      }
      const Tensor& c = *n.inputs[i]->constant;
      if (c.elements() == 1 && c.shape().rank() <= perm->size()) continue;  // a scalar broadcasts anyway
      std::shared_ptr<Tensor> moved = inverse_transposed(c, *perm);
      if (!moved) return false;
      new_inputs[i] = g_.add_constant(g_.unique_name(n.inputs[i]->name + "_nhwc"), moved);
    }
    n.inputs = new_inputs;
    push_after(n, *perm);
    for (ir::Node* t : transposes) {
      if (t) retire(*t);
    }
    return true;
  }

  bool through_concat(ir::Node& n, const UseMap& uses) {
    std::optional<Perm> perm;
    std::vector<ir::Node*> transposes;
    for (ir::Value* v : n.inputs) {
      ir::Node* t = sole_transpose(g_, uses, v, &n);
      if (!t || (perm && *perm != perm_of(*t))) return false;
      perm = perm_of(*t);
      transposes.push_back(t);
    }
    if (!perm) return false;
    auto rank = static_cast<std::int64_t>(perm->size());
    std::int64_t axis = n.attr_int("axis", 0);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) return false;
    for (std::size_t i = 0; i < n.inputs.size(); ++i) n.inputs[i] = transposes[i]->inputs[0];
    n.attributes["axis"] = ir::Attribute::of_int((*perm)[static_cast<std::size_t>(axis)]);
    push_after(n, *perm);
    for (ir::Node* t : transposes) retire(*t);
    return true;
  }

  // n now computes in the transposed layout: its old output value is written by a new
  // Transpose of n's fresh output.
  void push_after(ir::Node& n, const Perm& perm) {
    ir::Value* y = n.outputs[0];
    ir::Value* inner = g_.add_value(g_.unique_name(y->name + "_moved"));
    y->producer = nullptr;
    n.outputs[0] = inner;
    inner->producer = &n;
    std::string stem = n.name.empty() ? y->name : n.name;
    ir::Node* t = g_.add_node("Transpose", {inner}, {y}, g_.unique_name(stem + "_transpose"));
    t->attributes["perm"] = ir::Attribute::of_ints(perm);
  }

  void retire(ir::Node& t) {
    done_.insert(&t);
    for (ir::Value*& v : t.inputs) v = nullptr;
    for (ir::Value* v : t.outputs) {
      if (v && v->producer == &t) v->producer = nullptr;
    }
  }

  ir::Graph& g_;
  std::set<ir::Node*> done_;
};

}  // namespace

std::size_t cancel_transposes(ir::Graph& graph) {
  return Mover(graph).run();
}

}  // namespace lowp::passes
