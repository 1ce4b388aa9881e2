// tests/runtime/conv_residual_test.cc: a Conv followed by the Add of a residual runs as one
// lowp::FusedConv with the residual in its epilogue (passes/fuse_conv_add.cc), giving the
// bytes of the two ops, and only same-shaped residuals are fused.
#include <gtest/gtest.h>

#include <cstring>

#include "ir/schema.h"
#include "op_test_util.h"
#include "passes/passes.h"
#include "runtime/session.h"

namespace lowp {
namespace {

using ir::Graph;
using ir::TensorType;

ir::Value* conv(Graph& g, const std::string& name, ir::Value* in, std::int64_t in_c, std::int64_t out_c,
                std::int64_t k, std::int64_t stride, std::uint64_t seed, std::int64_t group = 1) {
  ir::Value* y = g.add_value(name + "_y");
  ir::Node* n = g.add_node(
      "Conv",
      {in, g.add_constant(name + "_W", test::random_floats({out_c, in_c / group, k, k}, seed, -0.4f, 0.4f)),
       g.add_constant(name + "_B", test::random_floats({out_c}, seed + 1, -0.1f, 0.1f))},
      {y}, name);
  n->attributes["pads"] = ir::Attribute::of_ints({k / 2, k / 2, k / 2, k / 2});
  n->attributes["strides"] = ir::Attribute::of_ints({stride, stride});
  n->attributes["group"] = ir::Attribute::of_int(group);
  return y;
}

ir::Value* op(Graph& g, const std::string& type, std::vector<ir::Value*> in, const std::string& name) {
  ir::Value* y = g.add_value(name + "_y");
  g.add_node(type, std::move(in), {y}, name);
  return y;
}

// x [batch, 8, H, W]: a basic block (conv, relu, conv, + x, relu), then a downsampling
// block whose shortcut is a strided 1x1 conv (Add of two convs), then a depthwise conv plus
// its input (no activation: MobileNetV2's form), and a broadcast Add that must stay.
std::unique_ptr<Graph> blocks(std::int64_t hw) {
  auto g = std::make_unique<Graph>();
  g->name = "blocks";
  std::vector<ir::Dim> dims = {ir::Dim::named("batch"), ir::Dim::known(8), ir::Dim::known(hw), ir::Dim::known(hw)};
  ir::Value* x = g->add_value("x", TensorType{DType::float32, dims});
  g->inputs.push_back(x);
  ir::Value* a = op(*g, "Relu", {conv(*g, "a1", x, 8, 8, 3, 1, 10)}, "a1_relu");
  ir::Value* b = op(*g, "Relu", {op(*g, "Add", {conv(*g, "a2", a, 8, 8, 3, 1, 20), x}, "a_add")}, "a_relu");
  ir::Value* main = conv(*g, "b1", b, 8, 16, 3, 2, 30);
  ir::Value* shortcut = conv(*g, "b_down", b, 8, 16, 1, 2, 40);
  ir::Value* c = op(*g, "Relu", {op(*g, "Add", {main, shortcut}, "b_add")}, "b_relu");
  ir::Value* d = op(*g, "Add", {c, conv(*g, "dw", c, 16, 16, 3, 1, 50, 16)}, "dw_add");
  ir::Value* e = op(*g, "Add", {conv(*g, "last", d, 16, 16, 1, 1, 60), g->add_constant("one", test::random_floats({16, 1, 1}, 70))},
                    "broadcast_add");
  g->outputs.push_back(e);
  ir::infer_types(*g);
  return g;
}

TEST(ConvResidual, SameBytesAsConvThenAdd) {
  // 12 x 12: the implicit GEMM's epilogue; 2 x 2: below 8 output pixels after the stride,
  // the gathered GEMM and the pass over the output.
  for (std::int64_t hw : {12, 2}) {
    auto g = blocks(hw);
    for (std::int64_t batch : {1, 3}) {
      Tensor in = *test::random_floats({batch, 8, hw, hw}, 80 + batch);
      Tensor want = test::run_graph(*g, in, false, 1)[0];
      for (int threads : {1, 2}) {
        Tensor got = test::run_graph(*g, in, true, threads)[0];
        ASSERT_EQ(got.shape(), want.shape());
        EXPECT_EQ(0, std::memcmp(got.raw(), want.raw(), got.bytes()))
            << "hw " << hw << " batch " << batch << " threads " << threads;
      }
    }
  }
}

TEST(ConvResidual, FusesOnlySameShapedResiduals) {
  auto g = blocks(12);
  passes::optimize(*g, runtime::evaluate_node);
  std::size_t adds = 0, residuals = 0;
  for (const auto& n : g->nodes()) {
    if (n->op_type == "Add") ++adds;
    if (n->op_type == "NhwcConv" && n->has_input(3)) ++residuals;
  }
  EXPECT_EQ(residuals, 3u);  // the basic block, the downsampling block, the depthwise one
  EXPECT_EQ(adds, 1u);       // the broadcast Add stays
}

}  // namespace
}  // namespace lowp
