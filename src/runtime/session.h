// runtime/session.h: load a model, optimize it, bind kernels, run it.
//
// A Session holds the optimized graph, whose input dims may be symbolic ("batch"). The
// first run with a given set of input shapes specializes a copy of the graph to them:
// types inferred, shape sub-graphs folded to constants, every op bound to its kernel with
// weights packed, and activation memory planned by liveness into one arena. That Plan is
// cached, so later runs with the same shapes only execute. Thread count is a session
// option; batch size (any symbolic dim) is chosen by the inputs of each run.
//
// Shapes that depend on the values of inputs (an int64 input giving a length) are handled
// the same way: when a first specialization leaves such values unknown, integer inputs of
// at most 64 elements become constants of the plan, and their values part of its key.
//
// A Session runs one request at a time (run() is not reentrant).
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "runtime/op.h"

namespace lowp::runtime {

struct SessionOptions {
  int threads = 1;
  bool optimize = true;
  // Refuse a plan whose arena plus outputs exceed this many bytes (0: no limit).
  std::size_t max_memory_bytes = 0;
};

// One bound node of a plan.
struct PlanStep {
  const ir::Node* node = nullptr;
  std::unique_ptr<BoundOp> op;
  std::vector<int> inputs;   // slot per input, -1 for an omitted one
  std::vector<int> outputs;  // slot per output, -1 for an omitted one
};

// Where a value lives while a plan runs.
struct Slot {
  // view: a part of another slot (`index`), `offset` bytes in: a Concat's input that its
  // producer writes straight into the Concat's output (runtime/concat_in_place.h).
  enum class Kind { constant, graph_input, arena, graph_output, view };
  Kind kind = Kind::arena;
  std::size_t index = 0;  // graph input / output index, arena offset, or the viewed slot
  std::size_t offset = 0;  // view: bytes into the viewed slot
  const std::byte* constant = nullptr;
  std::size_t bytes = 0;
};

struct Plan {
  std::unique_ptr<ir::Graph> graph;  // the specialized copy the steps point into
  std::vector<Slot> slots;
  std::vector<PlanStep> steps;
  std::vector<int> output_slots;  // per graph output
  std::size_t arena_bytes = 0;
  AlignedBuffer<std::byte> arena;
  // Time per step of the last profiled runs, accumulated.
  std::vector<double> step_seconds;
  std::size_t profiled_runs = 0;
};

struct NamedInput {
  std::string name;
  const Tensor* tensor;
};

class Session {
 public:
  Session(std::unique_ptr<ir::Graph> graph, SessionOptions options);
  static std::unique_ptr<Session> load(const std::filesystem::path& path, SessionOptions options);

  const ir::Graph& graph() const { return *graph_; }
  const SessionOptions& options() const { return options_; }
  // Outputs in the graph's output order. Every graph input must be given once.
  std::vector<Tensor> run(const std::vector<NamedInput>& inputs, bool profile = false);
  // The plan for these input shapes (built if needed), for inspection.
  const Plan& plan_for(const std::vector<NamedInput>& inputs);
  // Rewrites the optimizer made at load.
  std::size_t rewrites() const { return rewrites_; }

 private:
  Plan& plan(const std::vector<const Tensor*>& ordered);
  std::vector<const Tensor*> order_inputs(const std::vector<NamedInput>& inputs) const;
  // nullptr when some value's shape depends on input values and `by_value` is off.
  std::unique_ptr<Plan> specialize(const std::vector<const Tensor*>& ordered, bool by_value) const;
  std::string signature(const std::vector<const Tensor*>& ordered) const;
  // Throws when the plan's activations and outputs exceed the memory budget.
  void check_memory_budget(const Plan& plan, const std::vector<const Tensor*>& ordered) const;

  std::unique_ptr<ir::Graph> graph_;
  SessionOptions options_;
  std::unique_ptr<ThreadPool> pool_;
  std::map<std::string, std::unique_ptr<Plan>> plans_;  // keyed by the input signature
  std::size_t rewrites_ = 0;
  // Set once a model turns out to compute shapes from input values (a Range over an input
  // scalar...): small integer inputs are then constants of the plan and part of its key.
  bool key_by_value_ = false;
};

// Evaluates one node whose inputs are all constant (constant folding, and the conformance
// runner's single-op models). Output types must be concrete.
std::vector<std::shared_ptr<const Tensor>> evaluate_node(const ir::Node& node);

}  // namespace lowp::runtime
