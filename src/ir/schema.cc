// ir/schema.cc: the schema registry, the inference context and the graph-wide driver.
#include "ir/schema.h"

#include <algorithm>
#include <map>

namespace lowp::ir {
namespace {

using Key = std::pair<std::string_view, std::string_view>;

const std::map<Key, const OpSchema*>& registry() {
  static const std::map<Key, const OpSchema*> table = [] {
    std::map<Key, const OpSchema*> t;
    for (auto family : {elementwise_schemas(), shape_op_schemas(), nn_schemas(),
                        quant_schemas(), reduce_schemas(), more_op_schemas()}) {
      for (const OpSchema& s : family) {
        bool fresh = t.emplace(Key{s.domain, s.op_type}, &s).second;
        if (!fresh) fail("internal: schema {}::{} registered twice", s.domain, s.op_type);
      }
    }
    return t;
  }();
  return table;
}

// The more specific of a declared and an inferred type (inferred wins where it knows).
TensorType merge(const TensorType& declared, TensorType inferred) {
  if (!inferred.dtype) inferred.dtype = declared.dtype;
  if (!inferred.dims) return TensorType{inferred.dtype, declared.dims};
  if (declared.dims && declared.dims->size() == inferred.dims->size()) {
    for (std::size_t i = 0; i < inferred.dims->size(); ++i) {
      Dim& d = (*inferred.dims)[i];
      const Dim& e = (*declared.dims)[i];
      if (!d.is_known() && d.symbol.empty()) d = e;
    }
  }
  return inferred;
}

}  // namespace

const TensorType& InferContext::input(std::size_t i) const {
  if (!has_input(i)) fail("input {} is missing", i);
  return node_.inputs[i]->type;
}

DType InferContext::input_dtype(std::size_t i) const {
  const TensorType& t = input(i);
  if (!t.dtype) fail("input {} ('{}') has no known element type", i, node_.inputs[i]->name);
  return *t.dtype;
}

const Tensor* InferContext::constant(std::size_t i) const {
  if (!has_input(i)) return nullptr;
  return node_.inputs[i]->constant.get();
}

std::optional<std::vector<std::int64_t>> InferContext::constant_ints(std::size_t i) const {
  const Tensor* t = constant(i);
  if (!t) return std::nullopt;
  std::vector<std::int64_t> out;
  if (t->dtype() == DType::int64) {
    for (std::int64_t v : t->values<std::int64_t>()) out.push_back(v);
  } else if (t->dtype() == DType::int32) {
    for (std::int32_t v : t->values<std::int32_t>()) out.push_back(v);
  } else {
    fail("input {} ('{}') must be int64 or int32, not {}", i, node_.inputs[i]->name,
         dtype_name(t->dtype()));
  }
  return out;
}

void InferContext::set_output(std::size_t i, TensorType type) {
  if (i >= node_.outputs.size() || node_.outputs[i] == nullptr) return;
  Value* v = node_.outputs[i];
  v->type = merge(v->type, std::move(type));
}

std::int64_t InferContext::axis(std::int64_t a, std::size_t rank, std::string_view what) const {
  auto r = static_cast<std::int64_t>(rank);
  if (a < -r || a >= r) fail("{} {} is out of range for rank {}", what, a, rank);
  return a < 0 ? a + r : a;
}

const OpSchema* find_schema(std::string_view domain, std::string_view op_type) {
  auto it = registry().find(Key{domain, op_type});
  return it == registry().end() ? nullptr : it->second;
}

std::vector<const OpSchema*> all_schemas() {
  std::vector<const OpSchema*> out;
  for (const auto& [key, schema] : registry()) out.push_back(schema);
  return out;
}

void infer_node(Node& node) {
  const OpSchema* schema = find_schema(node.domain, node.op_type);
  LOWP_CHECK(schema != nullptr, "node '{}': op {}{}{} is not supported", node.label(),
             node.domain, node.domain.empty() ? "" : "::", node.op_type);
  InferContext ctx(node);
  // A constant output (folded) keeps its exact type.
  bool all_constant = std::all_of(node.outputs.begin(), node.outputs.end(),
                                  [](const Value* v) { return !v || v->is_constant(); });
  if (all_constant && !node.outputs.empty()) return;
  schema->infer(ctx);
}

void infer_types(Graph& graph) {
  for (const auto& n : graph.nodes()) infer_node(*n);
}

std::vector<Dim> broadcast_dims(const InferContext& ctx, std::span<const std::vector<Dim>> all) {
  std::size_t rank = 0;
  for (const auto& d : all) rank = std::max(rank, d.size());
  std::vector<Dim> out(rank, Dim::known(1));
  for (std::size_t axis = 0; axis < rank; ++axis) {
    bool have = false;
    Dim result = Dim::known(1);
    for (const auto& dims : all) {
      std::size_t offset = rank - dims.size();
      if (axis < offset) continue;
      const Dim& d = dims[axis - offset];
      if (d.is_known() && d.value == 1) continue;
      if (!have) {
        result = d;
        have = true;
        continue;
      }
      if (d.is_known() && result.is_known()) {
        if (d.value != result.value) {
          ctx.fail("shapes cannot broadcast: dimension {} vs {} at output axis {}", result.value,
                   d.value, axis);
        }
      } else if (!result.is_known() && d.is_known()) {
        result = d;
      } else if (!(d == result)) {
        result = Dim{};  // two different symbols: unknown until concrete
      }
    }
    out[axis] = result;
  }
  return out;
}

TensorType same_as_input(const InferContext& ctx, std::size_t i) {
  return ctx.input(i);
}

}  // namespace lowp::ir
