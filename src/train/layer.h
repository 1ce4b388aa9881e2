// train/layer.h: what every trainable layer is, and the eager tape that differentiates
// a chain of them (docs/design.md "Training" says why a tape of layers and not autodiff
// over the graph IR).
//
// A Model (train/model.h) is a chain of Layers. forward() runs them in order and keeps
// every layer's input and output: that list is the tape. backward() walks it in reverse:
// each layer receives dL/d(its output) together with the input and output it produced,
// writes dL/d(its parameters) into Param::grad and, when asked, dL/d(its input). Layers
// keep in themselves whatever else backward needs (max-pool positions, BatchNorm's
// normalized input, dropout masks), sized on first use and reused at every step.
//
// Layout: images are NHWC [N, H, W, C], the layout of lowp's convolution kernels; every
// layer's parameters are stored in ONNX / PyTorch layout (a Conv weight is
// [out][in / groups][kh][kw]), so checkpoints, ONNX export and a PyTorch model agree.
// Flatten turns NHWC into the (c, h, w) order PyTorch flattens NCHW in, so a Linear layer
// after it has PyTorch's weight layout too.
//
// Determinism: every layer gives the same bits at any thread count. Matrix work runs the
// GEMM and convolution kernels, which split rows and never k; every reduction over the
// batch (bias and BatchNorm sums, col2im, max-pool scatter) runs in one fixed order.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "base/float_types.h"
#include "base/thread_pool.h"
#include "ir/graph.h"

namespace lowp::train {

// Activations or their gradients for a batch: row-major, the batch on the first axis.
// Stored as fp32 (data) or, between the layers that take it in bf16 training, as bf16
// (bits; see Context::matrix): half the bytes for the memory-bound layers to stream.
struct Batch {
  std::vector<int> shape;
  std::vector<float> data;          // the values when !bf16
  std::vector<std::uint16_t> bits;  // the values' bf16 bits when bf16
  bool bf16 = false;

  // Sets the shape and sizes data (or bits) to match (contents unspecified).
  void resize(std::vector<int> new_shape);
  void resize_bf16(std::vector<int> new_shape);
  void resize_as(std::vector<int> new_shape, bool as_bf16) {
    as_bf16 ? resize_bf16(std::move(new_shape)) : resize(std::move(new_shape));
  }
  int rows() const { return shape.empty() ? 0 : shape[0]; }
  std::size_t per_row() const;  // elements of one sample
  std::size_t elements() const { return bf16 ? bits.size() : data.size(); }
};

// bf16 storage, element by element (round to nearest even, as the convert kernels), for
// the layers' own loops; and whole batches converted on the convert kernels.
inline float bf16_value(std::uint16_t bits) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}
inline std::uint16_t bf16_bits(float v) {
  return bfloat16::from_float(v).bits();
}
// The same for loops templated on the storage type T (float, or std::uint16_t bf16 bits):
// a stored value as fp32, and an fp32 value as stored (exact for float, rounded for bf16).
inline float value_of(float v) {
  return v;
}
inline float value_of(std::uint16_t bits) {
  return bf16_value(bits);
}
template <class T>
T stored_as(float v) {
  if constexpr (std::is_same_v<T, float>) {
    return v;
  } else {
    return bf16_bits(v);
  }
}
// out = in as fp32 (in bf16) or as bf16 (in fp32); same shape.
void convert_batch(const Batch& in, Batch& out, bool to_bf16, ThreadPool* pool);
// n fp32 values to bf16 bits, on the pool.
void narrow_to_bf16(const float* in, std::uint16_t* out, std::size_t n, ThreadPool* pool);

std::size_t shape_elements(std::span<const int> shape);
std::string shape_str(std::span<const int> shape);

// A trainable tensor and its gradient, in ONNX layout.
struct Param {
  std::string name;  // "conv1.weight": checkpoints, ONNX initializers, errors
  std::vector<int> shape;
  std::vector<float> value;
  std::vector<float> grad;  // written by backward(), same size as value
  bool trainable = true;    // false: frozen (no gradient, the optimizer leaves it)
};

// A tensor that is not trained but belongs to the model (BatchNorm's running statistics):
// checkpointed and exported.
struct StateTensor {
  std::string name;
  std::vector<int> shape;
  std::vector<float> value;
};

// The precision of the matrix work (Linear and Conv2d, forward and both gradients).
// bf16: both operands rounded to bf16 (nearest even), products summed in fp32 on the
// bf16 kernels (kernels/bf16dot: vdpbf16ps where the CPU has it); the master weights,
// the values passed between layers, the optimizer and every reduction (BatchNorm
// statistics, bias gradients, loss) stay fp32: PyTorch's bf16 autocast, on lowp's kernels.
enum class MatrixPrecision { fp32, bf16 };

struct Context {
  ThreadPool* pool = nullptr;  // null: the calling thread alone
  bool training = true;        // BatchNorm batch statistics, Dropout masks
  // Seeds this step's dropout masks; the trainer derives it from the run's seed and the
  // global step, so a resumed run draws the same masks as an uninterrupted one.
  std::uint64_t step_seed = 0;
  // Values passed between layers rounded to fp16 (train/loss_scaler.h), checked for
  // overflow.
  bool fp16_storage = false;
  MatrixPrecision matrix = MatrixPrecision::fp32;
};

class Layer {
 public:
  explicit Layer(std::string name) : name_(std::move(name)) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  const std::string& name() const { return name_; }
  virtual const char* kind() const = 0;

  // The output shape for an input shape (batch axis included). Throws lowp::Error naming
  // the layer and the rule when the input does not fit it.
  virtual std::vector<int> output_shape(std::span<const int> in) const = 0;
  // y = f(x); in training mode also keeps what backward() needs.
  virtual void forward(const Batch& x, Batch& y, const Context& ctx) = 0;
  // From dy = dL/dy, with x and y as forward() left them: writes every trainable
  // parameter's grad, and dx = dL/dx when dx is not null (the first layer's input needs
  // no gradient).
  virtual void backward(const Batch& x, const Batch& y, const Batch& dy, Batch* dx,
                        const Context& ctx) = 0;

  virtual std::vector<Param*> params() { return {}; }
  virtual std::vector<StateTensor*> states() { return {}; }

  // Whether forward() and backward() take bf16 batches (bf16 training). Such a layer
  // gives its input gradient in its input's format, and says in its header which format
  // its output has (BatchNorm, ReLU, pooling, Flatten: the input's; Conv2d: bf16 in bf16
  // training; Linear: fp32); the output gradient always comes in the output's format.
  // Model converts around the layers that do not take bf16.
  virtual bool handles_bf16() const { return false; }

  // Appends the layer's inference form to an ONNX-layout (NCHW) graph: x is its input,
  // the return value its output. Layers that are the identity at inference return x.
  virtual ir::Value* export_to(ir::Graph& graph, ir::Value* x) const = 0;

 private:
  std::string name_;
};

// Shared by the layers' export_to: a float32 constant named `name` from a Param-like
// tensor, and a fresh value for a node's output.
ir::Value* export_constant(ir::Graph& graph, const std::string& name, std::span<const int> shape,
                           std::span<const float> values);
ir::Value* export_value(ir::Graph& graph, const std::string& stem);

// Runs fn(begin, end) over [0, n) on the pool when n is large enough to pay for the
// hand-off. For element-wise work only: each element's result must not depend on the split.
void parallel_elements(ThreadPool* pool, std::size_t n,
                       const std::function<void(std::size_t, std::size_t)>& fn);
// The same over rows of row_elements elements each: fn(begin_row, end_row), split when the
// elements (not the rows) are enough to pay for the hand-off.
void parallel_rows(ThreadPool* pool, std::size_t rows, std::size_t row_elements,
                   const std::function<void(std::size_t, std::size_t)>& fn);

// Sums of per-row contributions over rows [0, rows), `width` doubles wide: the rows are cut
// into fixed blocks of kSumBlockRows, add_rows(begin, end, acc) adds a block's rows into its
// own zeroed accumulator (blocks run on the pool when given), then out[j] is the sum of the
// blocks' acc[j] in block order. The blocks do not depend on the thread count, so the sums
// are the same bits at any thread count (BatchNorm statistics, bias gradients).
inline constexpr std::size_t kSumBlockRows = 1024;
void blocked_sums(ThreadPool* pool, std::size_t rows, std::size_t width,
                  const std::function<void(std::size_t, std::size_t, double*)>& add_rows,
                  double* out);

}  // namespace lowp::train
