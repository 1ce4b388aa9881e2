// ir/graph.h: lowp's graph IR: values, nodes, attributes, graphs.
//
// The IR holds one meaning per op: the importer (src/onnx) upgrades every node to the
// semantics of the newest opset lowp knows (kIrOpset), so schemas, passes and kernels see a
// single version of Squeeze, Clip, Softmax... and export writes that opset.
//
// Ownership: a Graph owns its Values and Nodes (unique_ptr, stable addresses). Nodes refer
// to Values by pointer; a null input is an omitted optional input. The node list is kept
// in topological order by every pass (sort_topologically() restores it after a rewrite).
// Constant data (initializers, Constant nodes, folded results) is shared, immutable, and
// hangs off the Value, so cloning a graph never copies weights.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace lowp::ir {

// The ai.onnx opset whose semantics the IR holds and export writes.
inline constexpr int kIrOpset = 21;
// The oldest ai.onnx opset the importer upgrades from.
inline constexpr int kMinImportOpset = 7;

// One dimension: a known size, a named symbol ("batch"), or unknown (neither).
struct Dim {
  std::int64_t value = -1;
  std::string symbol;

  static Dim known(std::int64_t v) { return Dim{v, {}}; }
  static Dim named(std::string s) { return Dim{-1, std::move(s)}; }
  bool is_known() const { return value >= 0; }
  bool operator==(const Dim& other) const = default;
};

// The type of a tensor value: element type and, when known, rank and dimensions.
struct TensorType {
  std::optional<DType> dtype;
  std::optional<std::vector<Dim>> dims;  // nullopt: rank unknown

  bool has_rank() const { return dims.has_value(); }
  std::size_t rank() const { return dims->size(); }
  // Every dimension known: the shape is concrete.
  bool is_concrete() const;
  Shape concrete_shape() const;  // requires is_concrete()
  static TensorType of(DType dtype, const Shape& shape);
  std::string str() const;  // "float32[batch, 3, 224, 224]"
};

class Node;

class Value {
 public:
  std::string name;
  TensorType type;
  // Set for initializers, Constant nodes and folded results; never changes once set.
  std::shared_ptr<const Tensor> constant;
  Node* producer = nullptr;  // maintained by Graph
  bool is_constant() const { return constant != nullptr; }
};

struct Attribute {
  enum class Kind { kFloat, kInt, kString, kTensor, kFloats, kInts, kStrings, kGraph };
  Kind kind = Kind::kInt;
  float f = 0;
  std::int64_t i = 0;
  std::string s;
  std::shared_ptr<const Tensor> t;
  std::vector<float> floats;
  std::vector<std::int64_t> ints;
  std::vector<std::string> strings;

  static Attribute of_int(std::int64_t v);
  static Attribute of_float(float v);
  static Attribute of_string(std::string v);
  static Attribute of_ints(std::vector<std::int64_t> v);
  static Attribute of_floats(std::vector<float> v);
  static Attribute of_tensor(std::shared_ptr<const Tensor> v);
};
std::string_view attribute_kind_name(Attribute::Kind kind);

class Node {
 public:
  std::string name;
  std::string op_type;
  std::string domain;  // "" is ai.onnx; "com.microsoft", "lowp" for fused ops
  std::vector<Value*> inputs;   // nullptr: omitted optional input
  std::vector<Value*> outputs;  // nullptr: omitted optional output
  std::map<std::string, Attribute> attributes;

  // The node's name when it has one, else its op type and first output: for messages.
  std::string label() const;
  bool has_input(std::size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
  bool has_attribute(const std::string& key) const { return attributes.contains(key); }
  // Typed attribute access; a present attribute of another kind is an error naming the node.
  std::int64_t attr_int(const std::string& key, std::int64_t fallback) const;
  float attr_float(const std::string& key, float fallback) const;
  std::string attr_string(const std::string& key, const std::string& fallback) const;
  std::vector<std::int64_t> attr_ints(const std::string& key,
                                      std::vector<std::int64_t> fallback = {}) const;
  std::vector<float> attr_floats(const std::string& key) const;
  const Attribute* find_attribute(const std::string& key, Attribute::Kind kind) const;
};

// A consumer of a value: the node and the input slot.
struct Use {
  Node* node;
  std::size_t input;
};

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  // A deep copy of nodes and values; constant tensors are shared.
  std::unique_ptr<Graph> clone() const;

  std::string name;
  std::map<std::string, int> opsets;  // domain -> version, as imported
  std::vector<Value*> inputs;
  std::vector<Value*> outputs;

  // A new value; its name must be unique (checked).
  Value* add_value(std::string name, TensorType type = {});
  Value* add_constant(std::string name, std::shared_ptr<const Tensor> tensor);
  // A name not used yet, from a stem ("conv1_bnfold", "conv1_bnfold_1", ...).
  std::string unique_name(const std::string& stem);
  Value* find_value(const std::string& name) const;

  // Appends a node (producers of its outputs set); call sort_topologically() after
  // inserting nodes out of order.
  Node* add_node(std::string op_type, std::vector<Value*> inputs, std::vector<Value*> outputs,
                 std::string name = {}, std::string domain = {});
  const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }

  // Removes nodes (their outputs lose their producer), then values nothing refers to.
  void remove_nodes(const std::vector<Node*>& dead);
  // Makes every use of `from` (node inputs and graph outputs) use `to` instead.
  void replace_all_uses(Value* from, Value* to);
  // Consumers of every value (graph outputs are not listed).
  std::unordered_map<const Value*, std::vector<Use>> uses() const;
  bool is_graph_output(const Value* v) const;
  // Reorders nodes so producers precede consumers; throws on a cycle naming a node in it.
  void sort_topologically();
  // Drops values that no node, input or output refers to.
  void remove_unused_values();
  std::size_t value_count() const { return values_.size(); }

 private:
  std::vector<std::unique_ptr<Value>> values_;
  std::unordered_map<std::string, Value*> by_name_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::size_t next_name_ = 0;
};

}  // namespace lowp::ir
