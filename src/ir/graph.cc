// ir/graph.cc
#include "ir/graph.h"

#include <algorithm>
#include <unordered_set>

#include "base/error.h"

namespace lowp::ir {

bool TensorType::is_concrete() const {
  if (!dims) return false;
  return std::all_of(dims->begin(), dims->end(), [](const Dim& d) { return d.is_known(); });
}

Shape TensorType::concrete_shape() const {
  LOWP_CHECK(is_concrete(), "shape {} is not concrete", str());
  std::vector<std::int64_t> sizes;
  for (const Dim& d : *dims) sizes.push_back(d.value);
  return Shape(std::move(sizes));
}

TensorType TensorType::of(DType dtype, const Shape& shape) {
  std::vector<Dim> dims;
  for (std::int64_t d : shape.dims()) dims.push_back(Dim::known(d));
  return TensorType{dtype, std::move(dims)};
}

std::string TensorType::str() const {
  std::string s = dtype ? std::string(dtype_name(*dtype)) : std::string("?");
  if (!dims) return s + "[...]";
  s += "[";
  for (std::size_t i = 0; i < dims->size(); ++i) {
    if (i) s += ", ";
    const Dim& d = (*dims)[i];
    s += d.is_known() ? std::to_string(d.value) : (d.symbol.empty() ? "?" : d.symbol);
  }
  return s + "]";
}

Attribute Attribute::of_int(std::int64_t v) {
  Attribute a;
  a.kind = Kind::kInt;
  a.i = v;
  return a;
}
Attribute Attribute::of_float(float v) {
  Attribute a;
  a.kind = Kind::kFloat;
  a.f = v;
  return a;
}
Attribute Attribute::of_string(std::string v) {
  Attribute a;
  a.kind = Kind::kString;
  a.s = std::move(v);
  return a;
}
Attribute Attribute::of_ints(std::vector<std::int64_t> v) {
  Attribute a;
  a.kind = Kind::kInts;
  a.ints = std::move(v);
  return a;
}
Attribute Attribute::of_floats(std::vector<float> v) {
  Attribute a;
  a.kind = Kind::kFloats;
  a.floats = std::move(v);
  return a;
}
Attribute Attribute::of_tensor(std::shared_ptr<const Tensor> v) {
  Attribute a;
  a.kind = Kind::kTensor;
  a.t = std::move(v);
  return a;
}

std::string_view attribute_kind_name(Attribute::Kind kind) {
  switch (kind) {
    case Attribute::Kind::kFloat: return "float";
    case Attribute::Kind::kInt: return "int";
    case Attribute::Kind::kString: return "string";
    case Attribute::Kind::kTensor: return "tensor";
    case Attribute::Kind::kFloats: return "floats";
    case Attribute::Kind::kInts: return "ints";
    case Attribute::Kind::kStrings: return "strings";
    case Attribute::Kind::kGraph: return "graph";
  }
  return "?";
}

std::string Node::label() const {
  if (!name.empty()) return name;
  std::string first = !outputs.empty() && outputs[0] ? outputs[0]->name : std::string("?");
  return op_type + " -> " + first;
}

const Attribute* Node::find_attribute(const std::string& key, Attribute::Kind kind) const {
  auto it = attributes.find(key);
  if (it == attributes.end()) return nullptr;
  LOWP_CHECK(it->second.kind == kind, "node '{}' ({}): attribute '{}' is {}, expected {}",
             label(), op_type, key, attribute_kind_name(it->second.kind),
             attribute_kind_name(kind));
  return &it->second;
}

std::int64_t Node::attr_int(const std::string& key, std::int64_t fallback) const {
  const Attribute* a = find_attribute(key, Attribute::Kind::kInt);
  return a ? a->i : fallback;
}
float Node::attr_float(const std::string& key, float fallback) const {
  const Attribute* a = find_attribute(key, Attribute::Kind::kFloat);
  return a ? a->f : fallback;
}
std::string Node::attr_string(const std::string& key, const std::string& fallback) const {
  const Attribute* a = find_attribute(key, Attribute::Kind::kString);
  return a ? a->s : fallback;
}
std::vector<std::int64_t> Node::attr_ints(const std::string& key,
                                          std::vector<std::int64_t> fallback) const {
  const Attribute* a = find_attribute(key, Attribute::Kind::kInts);
  return a ? a->ints : fallback;
}
std::vector<float> Node::attr_floats(const std::string& key) const {
  const Attribute* a = find_attribute(key, Attribute::Kind::kFloats);
  return a ? a->floats : std::vector<float>{};
}

std::unique_ptr<Graph> Graph::clone() const {
  auto copy = std::make_unique<Graph>();
  copy->name = name;
  copy->opsets = opsets;
  copy->next_name_ = next_name_;
  std::unordered_map<const Value*, Value*> map;
  for (const auto& v : values_) {
    Value* c = copy->add_value(v->name, v->type);
    c->constant = v->constant;
    map[v.get()] = c;
  }
  auto mapped = [&](Value* v) { return v ? map.at(v) : nullptr; };
  for (const auto& n : nodes_) {
    std::vector<Value*> ins, outs;
    for (Value* v : n->inputs) ins.push_back(mapped(v));
    for (Value* v : n->outputs) outs.push_back(mapped(v));
    Node* c = copy->add_node(n->op_type, std::move(ins), std::move(outs), n->name, n->domain);
    c->attributes = n->attributes;
  }
  for (Value* v : inputs) copy->inputs.push_back(mapped(v));
  for (Value* v : outputs) copy->outputs.push_back(mapped(v));
  return copy;
}

Value* Graph::add_value(std::string value_name, TensorType type) {
  LOWP_CHECK(!value_name.empty(), "graph '{}': a value needs a name", name);
  LOWP_CHECK(!by_name_.contains(value_name), "graph '{}': value '{}' is defined twice", name,
             value_name);
  auto v = std::make_unique<Value>();
  v->name = std::move(value_name);
  v->type = std::move(type);
  Value* raw = v.get();
  by_name_[raw->name] = raw;
  values_.push_back(std::move(v));
  return raw;
}

Value* Graph::add_constant(std::string value_name, std::shared_ptr<const Tensor> tensor) {
  Value* v = add_value(std::move(value_name), TensorType::of(tensor->dtype(), tensor->shape()));
  v->constant = std::move(tensor);
  return v;
}

std::string Graph::unique_name(const std::string& stem) {
  if (!by_name_.contains(stem)) return stem;
  for (;;) {
    std::string candidate = stem + "_" + std::to_string(++next_name_);
    if (!by_name_.contains(candidate)) return candidate;
  }
}

Value* Graph::find_value(const std::string& value_name) const {
  auto it = by_name_.find(value_name);
  return it == by_name_.end() ? nullptr : it->second;
}

Node* Graph::add_node(std::string op_type, std::vector<Value*> ins, std::vector<Value*> outs,
                      std::string node_name, std::string domain) {
  auto n = std::make_unique<Node>();
  n->op_type = std::move(op_type);
  n->inputs = std::move(ins);
  n->outputs = std::move(outs);
  n->name = std::move(node_name);
  n->domain = std::move(domain);
  for (Value* v : n->outputs) {
    if (!v) continue;
    LOWP_CHECK(v->producer == nullptr && !v->is_constant(),
               "graph '{}': value '{}' is produced twice (by '{}' and '{}')", name, v->name,
               v->producer ? v->producer->label() : std::string("an initializer"), n->label());
    v->producer = n.get();
  }
  nodes_.push_back(std::move(n));
  return nodes_.back().get();
}

void Graph::remove_nodes(const std::vector<Node*>& dead) {
  if (dead.empty()) return;
  std::unordered_set<const Node*> doomed(dead.begin(), dead.end());
  for (Node* n : dead) {
    for (Value* v : n->outputs) {
      if (v && v->producer == n) v->producer = nullptr;
    }
  }
  std::erase_if(nodes_, [&](const std::unique_ptr<Node>& n) { return doomed.contains(n.get()); });
  remove_unused_values();
}

void Graph::replace_all_uses(Value* from, Value* to) {
  for (auto& n : nodes_) {
    for (Value*& v : n->inputs) {
      if (v == from) v = to;
    }
  }
  for (Value*& v : outputs) {
    if (v == from) v = to;
  }
}

std::unordered_map<const Value*, std::vector<Use>> Graph::uses() const {
  std::unordered_map<const Value*, std::vector<Use>> result;
  for (const auto& n : nodes_) {
    for (std::size_t i = 0; i < n->inputs.size(); ++i) {
      if (n->inputs[i]) result[n->inputs[i]].push_back(Use{n.get(), i});
    }
  }
  return result;
}

bool Graph::is_graph_output(const Value* v) const {
  return std::find(outputs.begin(), outputs.end(), v) != outputs.end();
}

void Graph::sort_topologically() {
  // Kahn's algorithm, stable: among ready nodes the earlier one in the current order goes
  // first, so an already sorted graph keeps its order (golden dumps stay readable).
  std::unordered_map<const Node*, std::size_t> position;
  for (std::size_t i = 0; i < nodes_.size(); ++i) position[nodes_[i].get()] = i;
  std::vector<std::size_t> pending(nodes_.size(), 0);
  std::vector<std::vector<std::size_t>> consumers(nodes_.size());
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    std::unordered_set<const Node*> seen;
    for (Value* v : nodes_[i]->inputs) {
      if (!v || !v->producer) continue;
      auto it = position.find(v->producer);
      if (it == position.end() || !seen.insert(v->producer).second) continue;
      ++pending[i];
      consumers[it->second].push_back(i);
    }
  }
  std::vector<std::size_t> ready;  // kept sorted descending: pop the smallest
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (pending[i] == 0) ready.push_back(i);
  }
  std::sort(ready.rbegin(), ready.rend());
  std::vector<std::unique_ptr<Node>> sorted;
  sorted.reserve(nodes_.size());
  while (!ready.empty()) {
    std::size_t i = ready.back();
    ready.pop_back();
    for (std::size_t c : consumers[i]) {
      if (--pending[c] == 0) {
        ready.insert(std::upper_bound(ready.begin(), ready.end(), c, std::greater<>()), c);
      }
    }
    sorted.push_back(std::move(nodes_[i]));
  }
  if (sorted.size() != nodes_.size()) {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i]) {
        fail("graph '{}' has a cycle through node '{}' ({})", name, nodes_[i]->label(),
             nodes_[i]->op_type);
      }
    }
  }
  nodes_ = std::move(sorted);
}

void Graph::remove_unused_values() {
  std::unordered_set<const Value*> used;
  for (const auto& n : nodes_) {
    for (Value* v : n->inputs) used.insert(v);
    for (Value* v : n->outputs) used.insert(v);
  }
  for (Value* v : inputs) used.insert(v);
  for (Value* v : outputs) used.insert(v);
  std::erase_if(values_, [&](const std::unique_ptr<Value>& v) {
    if (used.contains(v.get())) return false;
    by_name_.erase(v->name);
    return true;
  });
}

}  // namespace lowp::ir
