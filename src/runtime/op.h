// runtime/op.h: how the runtime binds an IR node to a kernel.
//
// Binding happens once per concrete shape signature (runtime/session.h): every input and
// output has a known dtype and shape, constant inputs are visible, and the binder returns
// a BoundOp that has already validated its inputs, packed its weights and sized its
// scratch, so that run() only computes. run() gets raw pointers (inputs, outputs) in the
// node's order; an omitted optional input is null. Ops never allocate in run() and never
// throw from it.
#pragma once

#include <atomic>
#include <mutex>
#include <string>

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace lowp::runtime {

struct TensorInfo {
  DType dtype = DType::float32;
  Shape shape;
  const Tensor* constant = nullptr;  // inputs only: the value when it is constant
};

struct BindArgs {
  const ir::Node& node;
  std::vector<std::optional<TensorInfo>> inputs;  // nullopt: omitted optional input
  std::vector<std::optional<TensorInfo>> outputs;

  bool has(std::size_t i) const { return i < inputs.size() && inputs[i].has_value(); }
  const TensorInfo& in(std::size_t i) const;
  const TensorInfo& out(std::size_t i) const;
  // The constant tensor of input i, or an error saying the op needs it constant.
  const Tensor& constant(std::size_t i, std::string_view what) const;
  template <class... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) const {
    ::lowp::fail("node '{}' ({}): {}", node.label(), node.op_type,
                 fmt::format(format, std::forward<Args>(args)...));
  }
  // For a valid node that uses something the kernel does not cover (an element type, an
  // attribute value): throws lowp::UnsupportedError.
  template <class... Args>
  [[noreturn]] void unsupported(fmt::format_string<Args...> format, Args&&... args) const {
    ::lowp::fail_unsupported("node '{}' ({}): {}", node.label(), node.op_type,
                             fmt::format(format, std::forward<Args>(args)...));
  }
};

// What an op found wrong in its inputs while running (an index out of range that only
// the data shows): the op writes something safe and reports; Session::run then fails the
// whole run with the node's name instead of returning numbers built on it. The first
// report wins; reporting is thread-safe and allocates only on this error path.
class RunErrors {
 public:
  void report(std::string message) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!set_.load(std::memory_order_relaxed)) message_ = std::move(message);
    set_.store(true, std::memory_order_release);
  }
  bool any() const { return set_.load(std::memory_order_acquire); }
  const std::string& message() const { return message_; }

 private:
  std::atomic<bool> set_{false};
  std::mutex mutex_;
  std::string message_;
};

struct RunContext {
  std::span<const std::byte* const> inputs;
  std::span<std::byte* const> outputs;
  ThreadPool* pool = nullptr;
  RunErrors* errors = nullptr;  // null: nothing to report to (constant folding checks at bind)

  void report(std::string message) const {
    if (errors) errors->report(std::move(message));
  }

  template <class T>
  const T* in(std::size_t i) const { return reinterpret_cast<const T*>(inputs[i]); }
  template <class T>
  T* out(std::size_t i) const { return reinterpret_cast<T*>(outputs[i]); }
};

class BoundOp {
 public:
  virtual ~BoundOp() = default;
  virtual void run(const RunContext& ctx) = 0;
  // The kernel that runs, for `lowp inspect` and --profile ("gemm_avx512", "copy").
  virtual std::string kernel() const = 0;
  // Whether output 0 can be written as rows of its last dimension spaced further apart:
  // a slice of a wider tensor along its last axis, so that a Concat on that axis needs no
  // copy (runtime/concat_in_place.h). Asked once the op is bound, before any run.
  virtual bool can_space_output_rows() const { return false; }
  // From now on write output 0's rows `row_stride` elements apart (>= the last dimension).
  // Only called when can_space_output_rows().
  virtual void space_output_rows(std::size_t row_stride) { (void)row_stride; }
};

// A BoundOp from a lambda: most ops need nothing more.
class FunctionOp final : public BoundOp {
 public:
  FunctionOp(std::string kernel, std::function<void(const RunContext&)> fn)
      : kernel_(std::move(kernel)), fn_(std::move(fn)) {}
  void run(const RunContext& ctx) override { fn_(ctx); }
  std::string kernel() const override { return kernel_; }

 private:
  std::string kernel_;
  std::function<void(const RunContext&)> fn_;
};

using Binder = std::unique_ptr<BoundOp> (*)(const BindArgs&);

struct OpBinding {
  std::string_view domain;
  std::string_view op_type;
  Binder bind;
};

// The binder of an op, or nullptr when the runtime has no kernel for it.
Binder find_binder(std::string_view domain, std::string_view op_type);

// The op families, each in runtime/ops/*.cc.
std::span<const OpBinding> elementwise_bindings();
std::span<const OpBinding> shape_op_bindings();
std::span<const OpBinding> nn_bindings();
std::span<const OpBinding> reduce_bindings();
std::span<const OpBinding> quant_bindings();
std::span<const OpBinding> resize_bindings();          // resize.cc
std::span<const OpBinding> conv_transpose_bindings();  // conv_transpose.cc
std::span<const OpBinding> index_op_bindings();        // index_ops.cc
std::span<const OpBinding> math_op_bindings();         // math_ops.cc
std::span<const OpBinding> loss_bindings();            // loss_ops.cc

}  // namespace lowp::runtime
