// train/layer.cc
#include "train/layer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "base/checked_math.h"
#include "base/error.h"
#include "core/tensor.h"
#include "kernels/convert/convert.h"

namespace lowp::train {

std::size_t shape_elements(std::span<const int> shape) {
  std::size_t n = 1;
  for (int d : shape) {
    LOWP_CHECK(d >= 0, "training: negative dimension in shape {}", shape_str(shape));
    n = checked_mul(n, static_cast<std::size_t>(d), "training activations");
  }
  return n;
}

std::string shape_str(std::span<const int> shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

void Batch::resize(std::vector<int> new_shape) {
  std::size_t n = shape_elements(new_shape);
  shape = std::move(new_shape);
  data.resize(n);
  bf16 = false;
}

void Batch::resize_bf16(std::vector<int> new_shape) {
  std::size_t n = shape_elements(new_shape);
  shape = std::move(new_shape);
  bits.resize(n);
  bf16 = true;
}

void narrow_to_bf16(const float* in, std::uint16_t* out, std::size_t n, ThreadPool* pool) {
  parallel_elements(pool, n, [&](std::size_t b, std::size_t e) {
    convert_f32_to_bf16(in + b, out + b, e - b);
  });
}

void convert_batch(const Batch& in, Batch& out, bool to_bf16, ThreadPool* pool) {
  LOWP_CHECK(in.bf16 != to_bf16, "convert_batch: the batch is already in that format");
  out.resize_as(in.shape, to_bf16);
  if (to_bf16) {
    narrow_to_bf16(in.data.data(), out.bits.data(), in.data.size(), pool);
  } else {
    parallel_elements(pool, in.bits.size(), [&](std::size_t b, std::size_t e) {
      convert_bf16_to_f32(in.bits.data() + b, out.data.data() + b, e - b);
    });
  }
}

std::size_t Batch::per_row() const {
  return shape.empty() ? 0 : shape_elements(std::span<const int>(shape).subspan(1));
}

ir::Value* export_constant(ir::Graph& graph, const std::string& name, std::span<const int> shape,
                           std::span<const float> values) {
  std::vector<std::int64_t> dims(shape.begin(), shape.end());
  auto tensor = std::make_shared<Tensor>(DType::float32, Shape(std::move(dims)));
  LOWP_CHECK(tensor->elements() == values.size(), "export: {} has {} values for shape {}", name,
             values.size(), shape_str(shape));
  if (!values.empty()) std::memcpy(tensor->raw(), values.data(), values.size() * sizeof(float));
  return graph.add_constant(graph.unique_name(name), std::move(tensor));
}

ir::Value* export_value(ir::Graph& graph, const std::string& stem) {
  return graph.add_value(graph.unique_name(stem));
}

void parallel_elements(ThreadPool* pool, std::size_t n,
                       const std::function<void(std::size_t, std::size_t)>& fn) {
  constexpr std::size_t kMinPerThread = 1 << 15;
  if (pool == nullptr || pool->threads() == 1 || n < 2 * kMinPerThread) {
    fn(0, n);
    return;
  }
  pool->parallel_for(n, kMinPerThread, fn);
}

void parallel_rows(ThreadPool* pool, std::size_t rows, std::size_t row_elements,
                   const std::function<void(std::size_t, std::size_t)>& fn) {
  constexpr std::size_t kMinPerThread = 1 << 15;
  const std::size_t min_rows = std::max<std::size_t>(1, kMinPerThread / std::max<std::size_t>(1, row_elements));
  if (pool == nullptr || pool->threads() == 1 || rows < 2 * min_rows) {
    fn(0, rows);
    return;
  }
  pool->parallel_for(rows, min_rows, fn);
}

void blocked_sums(ThreadPool* pool, std::size_t rows, std::size_t width,
                  const std::function<void(std::size_t, std::size_t, double*)>& add_rows,
                  double* out) {
  const std::size_t blocks = (rows + kSumBlockRows - 1) / kSumBlockRows;
  std::vector<double> partial(blocks * width, 0.0);
  auto run = [&](std::size_t b0, std::size_t b1) {
    for (std::size_t b = b0; b < b1; ++b) {
      add_rows(b * kSumBlockRows, std::min(rows, (b + 1) * kSumBlockRows),
               partial.data() + b * width);
    }
  };
  if (pool == nullptr || pool->threads() == 1 || blocks < 4) {
    run(0, blocks);
  } else {
    pool->parallel_for(blocks, 1, run);
  }
  std::fill(out, out + width, 0.0);
  for (std::size_t b = 0; b < blocks; ++b) {
    for (std::size_t j = 0; j < width; ++j) out[j] += partial[b * width + j];
  }
}

}  // namespace lowp::train
