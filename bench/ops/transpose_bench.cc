// bench/ops/transpose_bench.cc: lowp_transpose_bench: GB/s (bytes read + written) of the
// Transpose kernel (runtime/ops/shape_ops.cc) on the layouts transformers and CNNs move,
// beside memcpy of the same bytes as the ceiling. Median of 21 timed blocks.
#include <fmt/format.h>

#include <cstring>
#include <vector>

#include "base/aligned_buffer.h"
#include "base/timer.h"
#include "ir/graph.h"
#include "runtime/op.h"

namespace {

using namespace lowp;

struct Case {
  const char* what;
  std::vector<std::int64_t> dims, perm;
};

double gbps(std::size_t bytes, double seconds) { return 2.0 * static_cast<double>(bytes) / seconds / 1e9; }

template <class Fn>
double median_seconds(Fn&& fn, std::size_t bytes) {
  // Enough calls per block for ~2 ms, then the median block.
  std::size_t calls = std::max<std::size_t>(1, (std::size_t{2} << 20) * 2 / std::max<std::size_t>(bytes, 1) * 4);
  std::vector<double> blocks;
  fn();
  for (int b = 0; b < 21; ++b) {
    Stopwatch t;
    for (std::size_t c = 0; c < calls; ++c) fn();
    blocks.push_back(t.seconds() / static_cast<double>(calls));
  }
  return median(blocks);
}

}  // namespace

int main() {
  const std::vector<Case> cases = {
      {"attention heads [B,S,H,D]->[B,H,S,D]", {1, 128, 12, 64}, {0, 2, 1, 3}},
      {"keys^T [B,H,S,D]->[B,H,D,S]", {1, 12, 128, 64}, {0, 1, 3, 2}},
      {"weight [768,3072]->[3072,768]", {768, 3072}, {1, 0}},
      {"NCHW->NHWC [1,64,56,56]", {1, 64, 56, 56}, {0, 2, 3, 1}},
      {"NHWC->NCHW [1,56,56,64]", {1, 56, 56, 64}, {0, 3, 1, 2}},
  };
  fmt::print("{:<40} {:>10} {:>12} {:>12}  kernel\n", "case (float32)", "MiB", "GB/s", "memcpy GB/s");
  for (const Case& c : cases) {
    ir::Node node;
    node.op_type = "Transpose";
    node.attributes["perm"] = ir::Attribute::of_ints(c.perm);
    Shape in(c.dims);
    std::vector<std::int64_t> out_dims;
    for (std::int64_t p : c.perm) out_dims.push_back(c.dims[static_cast<std::size_t>(p)]);
    runtime::BindArgs args{node, {runtime::TensorInfo{DType::float32, in, nullptr}},
                           {runtime::TensorInfo{DType::float32, Shape(out_dims), nullptr}}};
    std::unique_ptr<runtime::BoundOp> op = runtime::find_binder("", "Transpose")(args);
    std::size_t bytes = in.elements() * 4;
    AlignedBuffer<std::byte> x(bytes), y(bytes);
    std::memset(x.data(), 1, bytes);
    const std::byte* ins[] = {x.data()};
    std::byte* outs[] = {y.data()};
    runtime::RunContext ctx{ins, outs, nullptr};
    double t = median_seconds([&] { op->run(ctx); }, bytes);
    double m = median_seconds([&] { std::memcpy(y.data(), x.data(), bytes); }, bytes);
    fmt::print("{:<40} {:>10.2f} {:>12.1f} {:>12.1f}  {}\n", c.what, static_cast<double>(bytes) / (1 << 20),
               gbps(bytes, t), gbps(bytes, m), op->kernel());
  }
}
