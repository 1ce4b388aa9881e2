// ir/schema.h: what lowp knows of each op: arity and type/shape inference.
//
// One OpSchema per (domain, op type), for the IR's opset (kIrOpset): the importer has
// already upgraded older forms. Inference is lowp's own (libonnx 1.12's does not know the
// newer opsets) and uses constant inputs where the output shape depends on values
// (Reshape's shape, Slice's starts...). When an input's rank or dims are unknown the output
// is left as unknown as it must be; once a session binds concrete input shapes every value
// becomes concrete. The schemas of a family of ops live together in ir/ops_*.cc.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "ir/graph.h"

namespace lowp::ir {

class InferContext {
 public:
  explicit InferContext(const Node& node) : node_(node) {}

  const Node& node() const { return node_; }
  std::size_t input_count() const { return node_.inputs.size(); }
  bool has_input(std::size_t i) const { return node_.has_input(i); }
  const TensorType& input(std::size_t i) const;
  DType input_dtype(std::size_t i) const;  // error when unknown
  // The input's constant tensor, or nullptr when it is not constant (or absent).
  const Tensor* constant(std::size_t i) const;
  // An int64 / int32 constant input read as integers; nullopt when not constant.
  std::optional<std::vector<std::int64_t>> constant_ints(std::size_t i) const;
  std::size_t output_count() const { return node_.outputs.size(); }
  void set_output(std::size_t i, TensorType type);

  // Throws lowp::Error prefixed with the node's name and op type.
  template <class... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) const {
    ::lowp::fail("node '{}' ({}): {}", node_.label(), node_.op_type,
                 fmt::format(format, std::forward<Args>(args)...));
  }
  void check(bool condition, std::string_view rule) const {
    if (!condition) fail("{}", rule);
  }
  // Normalizes a possibly negative axis against `rank`; error names the attribute.
  std::int64_t axis(std::int64_t axis, std::size_t rank, std::string_view what = "axis") const;

 private:
  const Node& node_;
};

using InferFn = void (*)(InferContext&);

struct OpSchema {
  std::string_view domain;
  std::string_view op_type;
  int min_inputs;
  int max_inputs;
  int min_outputs;
  int max_outputs;
  InferFn infer;
};

// The schema of an op, or nullptr when lowp does not know it.
const OpSchema* find_schema(std::string_view domain, std::string_view op_type);
// Every schema, sorted by domain and op type (for docs/ONNX_SUPPORT.md and inspect).
std::vector<const OpSchema*> all_schemas();

// Runs the schemas' inference over the graph in node order, filling each output's type.
// A declared type (value_info) is kept where inference knows less. Throws on a node with
// no schema or on inputs that break an op's rules.
void infer_types(Graph& graph);
// Inference of one node (used by passes that infer as they fold).
void infer_node(Node& node);

// Shared inference helpers for the ops_*.cc files.
std::vector<Dim> broadcast_dims(const InferContext& ctx, std::span<const std::vector<Dim>> all);
TensorType same_as_input(const InferContext& ctx, std::size_t i);

// The schema families, each defined in its own ops_*.cc.
std::span<const OpSchema> elementwise_schemas();
std::span<const OpSchema> shape_op_schemas();
std::span<const OpSchema> nn_schemas();
std::span<const OpSchema> quant_schemas();
std::span<const OpSchema> reduce_schemas();
std::span<const OpSchema> more_op_schemas();  // ops_more.cc

}  // namespace lowp::ir
