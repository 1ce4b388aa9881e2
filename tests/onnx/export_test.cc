// tests/onnx/export_test.cc: ONNX export. A model read back after export is the graph that
// was written (the IR dump is the same), over every model of ONNX's conformance data that
// lowp imports; external data lands aligned in "<model>.data"; lowp's fused ops come out
// as standard ops. tests/cli/export_ort.sh checks ONNX Runtime's results on exported models.
#include "onnx/export.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>

#include "io/io_test_util.h"
#include "ir/dump.h"
#include "onnx/import.h"
#include "onnx/onnx_pb.h"

namespace lowp::onnx_io {
namespace {

namespace fs = std::filesystem;
using lowp::testing::TempDir;

const fs::path kTestData = "/usr/share/libonnx-testdata/data";

std::shared_ptr<Tensor> iota_tensor(DType dtype, Shape shape) {
  auto t = std::make_shared<Tensor>(dtype, std::move(shape));
  for (std::size_t i = 0; i < t->bytes(); ++i) t->raw()[i] = static_cast<std::byte>(i * 7 + 1);
  return t;
}

onnx::ModelProto read_proto(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  onnx::ModelProto model;
  EXPECT_TRUE(model.ParseFromIstream(&in)) << path;
  return model;
}

// Every model of ONNX's backend conformance data that lowp imports reads back, after
// export, as the same graph.
TEST(OnnxExport, RoundTripOfConformanceModels) {
  if (!fs::is_directory(kTestData)) GTEST_SKIP() << kTestData << " is missing (libonnx-testdata)";
  // ~900 atomic writes, each fsynced: in memory where there is a tmpfs, or they take seconds.
  TempDir dir(fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path());
  int round_trips = 0, not_imported = 0;
  for (const char* suite : {"node", "pytorch-converted", "pytorch-operator", "simple"}) {
    for (const auto& entry : fs::directory_iterator(kTestData / suite)) {
      fs::path model = entry.path() / "model.onnx";
      if (!fs::exists(model)) continue;
      std::unique_ptr<ir::Graph> first;
      try {
        first = import_model(model);
      } catch (const Error&) {
        ++not_imported;  // types or ops lowp does not read: nothing to round-trip
        continue;
      }
      fs::path out = dir / "model.onnx";
      try {
        export_model(*first, out);
      } catch (const Error& e) {
        // Only subgraphs (If, Loop, Scan) may be refused.
        EXPECT_NE(std::string(e.what()).find("subgraph"), std::string::npos)
            << model << ": " << e.what();
        continue;
      }
      std::unique_ptr<ir::Graph> second = import_model(out);
      EXPECT_EQ(ir::dump(*first), ir::dump(*second)) << model;
      // The constants read back bit for bit.
      for (const auto& n : first->nodes()) {
        for (const ir::Value* v : n->inputs) {
          if (!v || !v->is_constant()) continue;
          const ir::Value* w = second->find_value(v->name);
          ASSERT_TRUE(w && w->is_constant()) << model << ": " << v->name;
          ASSERT_EQ(v->constant->bytes(), w->constant->bytes());
          if (v->constant->bytes() == 0) continue;  // empty tensors hold no buffer
          EXPECT_EQ(std::memcmp(v->constant->raw(), w->constant->raw(), v->constant->bytes()), 0)
              << model << ": " << v->name;
        }
      }
      ++round_trips;
    }
  }
  // 1.12's data: ~1,100 models, a few hundred of them with types or ops lowp does not read.
  EXPECT_GT(round_trips, 700) << not_imported << " not imported";
  std::printf("%d models round-tripped, %d not imported\n", round_trips, not_imported);
}

// A graph built in code: symbolic dims, an omitted optional input, constants shared by
// two nodes, a constant graph output, attributes of every kind.
std::unique_ptr<ir::Graph> sample_graph(std::size_t big_elements) {
  auto g = std::make_unique<ir::Graph>();
  g->name = "sample";
  ir::Value* x = g->add_value(
      "x", ir::TensorType{DType::float32,
                          std::vector<ir::Dim>{ir::Dim::named("batch"), ir::Dim::known(4)}});
  g->inputs.push_back(x);
  ir::Value* big = g->add_constant(
      "big", iota_tensor(DType::float32, Shape{static_cast<std::int64_t>(big_elements)}));
  ir::Value* small = g->add_constant("small", iota_tensor(DType::int8, Shape{3}));
  ir::Value* other = g->add_constant(
      "other", iota_tensor(DType::float32, Shape{static_cast<std::int64_t>(big_elements)}));
  ir::Value* lo = g->add_constant("lo", iota_tensor(DType::float32, Shape{}));
  ir::Value* y = g->add_value(
      "y", ir::TensorType{DType::float32, std::vector<ir::Dim>{ir::Dim::named("batch"), {}}});
  ir::Value* z = g->add_value("z");
  ir::Node* clip = g->add_node("Clip", {x, nullptr, lo}, {y}, "clip");
  clip->attributes["note_ints"] = ir::Attribute::of_ints({1, -2});
  clip->attributes["note_floats"] = ir::Attribute::of_floats({0.5f, -1e-30f});
  clip->attributes["note_string"] = ir::Attribute::of_string("s");
  clip->attributes["note_tensor"] = ir::Attribute::of_tensor(iota_tensor(DType::uint8, Shape{2}));
  ir::Node* add = g->add_node("Add", {big, other}, {z}, "add");
  add->attributes["note_float"] = ir::Attribute::of_float(2.5f);
  g->add_node("Mul", {big, big}, {g->add_value("w")}, "");
  g->outputs = {y, z, small, g->find_value("w")};
  return g;
}

TEST(OnnxExport, ExternalDataIsAlignedAndReadsBack) {
  TempDir dir;
  std::unique_ptr<ir::Graph> g = sample_graph(1000);  // 4000-byte tensors
  ExportOptions options;
  options.external_threshold_bytes = 4000;  // "at or above"
  ExportSummary s = export_model(*g, dir / "m.onnx", options);
  EXPECT_EQ(s.external_tensors, 2u);
  // big at 0, other at 4032 (4000 rounded up to 64).
  EXPECT_EQ(s.external_bytes, 4032u + 4000u);
  EXPECT_EQ(fs::file_size(dir / "m.onnx.data"), s.external_bytes);
  EXPECT_EQ(dir.entries(), (std::set<std::string>{"m.onnx", "m.onnx.data"}));  // no temporaries
  onnx::ModelProto model = read_proto(dir / "m.onnx");
  EXPECT_EQ(model.ir_version(), kExportIrVersion);
  ASSERT_EQ(model.opset_import_size(), 1);
  EXPECT_EQ(model.opset_import(0).version(), ir::kIrOpset);
  int external = 0;
  for (const auto& init : model.graph().initializer()) {
    if (init.data_location() != onnx::TensorProto_DataLocation_EXTERNAL) {
      EXPECT_TRUE(init.has_raw_data()) << init.name();
      continue;
    }
    ++external;
    EXPECT_FALSE(init.has_raw_data());
    std::map<std::string, std::string> kv;
    for (const auto& e : init.external_data()) kv[e.key()] = e.value();
    EXPECT_EQ(kv["location"], "m.onnx.data");
    EXPECT_EQ(std::stoull(kv["offset"]) % kExternalDataAlignment, 0u);
    EXPECT_EQ(kv["length"], "4000");
  }
  EXPECT_EQ(external, 2);
  std::unique_ptr<ir::Graph> back = import_model(dir / "m.onnx");
  EXPECT_EQ(ir::dump(*g), ir::dump(*back));
  const Tensor& other = *back->find_value("other")->constant;
  EXPECT_EQ(std::memcmp(other.raw(), g->find_value("other")->constant->raw(), other.bytes()), 0);
}

TEST(OnnxExport, ThresholdZeroKeepsEverythingInside) {
  TempDir dir;
  std::unique_ptr<ir::Graph> g = sample_graph(1000);
  ExportOptions options;
  options.external_threshold_bytes = 0;
  ExportSummary s = export_model(*g, dir / "m.onnx", options);
  EXPECT_EQ(s.external_tensors, 0u);
  EXPECT_EQ(dir.entries(), std::set<std::string>{"m.onnx"});
  EXPECT_EQ(ir::dump(*g), ir::dump(*import_model(dir / "m.onnx")));
}

TEST(OnnxExport, TypesOfInputsOutputsAndIntermediates) {
  TempDir dir;
  std::unique_ptr<ir::Graph> g = sample_graph(10);
  export_model(*g, dir / "m.onnx");
  onnx::ModelProto model = read_proto(dir / "m.onnx");
  const auto& x = model.graph().input(0);
  EXPECT_EQ(x.name(), "x");
  EXPECT_EQ(x.type().tensor_type().elem_type(), 1);
  ASSERT_EQ(x.type().tensor_type().shape().dim_size(), 2);
  EXPECT_EQ(x.type().tensor_type().shape().dim(0).dim_param(), "batch");
  EXPECT_EQ(x.type().tensor_type().shape().dim(1).dim_value(), 4);
  const auto& y = model.graph().output(0);
  EXPECT_EQ(y.type().tensor_type().shape().dim(0).dim_param(), "batch");
  EXPECT_FALSE(y.type().tensor_type().shape().dim(1).has_dim_value());
  EXPECT_FALSE(y.type().tensor_type().shape().dim(1).has_dim_param());
  // The omitted optional input stays a "" in its slot.
  const auto& clip = model.graph().node(0);
  ASSERT_EQ(clip.input_size(), 3);
  EXPECT_EQ(clip.input(1), "");
  EXPECT_EQ(clip.input(2), "lo");
  // Only used constants are written: "lo", "big", "other", "small".
  EXPECT_EQ(model.graph().initializer_size(), 4);
}

// FusedConv and FusedGemm become Conv / MatMul + Add and their activation.
TEST(OnnxExport, FusedOpsBecomeStandardOps) {
  TempDir dir;
  ir::Graph g;
  g.name = "fused";
  auto f32 = [](std::vector<ir::Dim> dims) {
    return ir::TensorType{DType::float32, std::move(dims)};
  };
  using ir::Dim;
  ir::Value* x =
      g.add_value("x", f32({Dim::named("n"), Dim::known(3), Dim::known(8), Dim::known(8)}));
  g.inputs.push_back(x);
  ir::Value* w = g.add_constant("w", iota_tensor(DType::float32, Shape{4, 3, 3, 3}));
  ir::Value* b = g.add_constant("b", iota_tensor(DType::float32, Shape{4}));
  ir::Value* c =
      g.add_value("c", f32({Dim::named("n"), Dim::known(4), Dim::known(8), Dim::known(8)}));
  ir::Node* conv = g.add_node("FusedConv", {x, w, b}, {c}, "conv", "lowp");
  conv->attributes["pads"] = ir::Attribute::of_ints({1, 1, 1, 1});
  conv->attributes["activation"] = ir::Attribute::of_string("clip");
  conv->attributes["activation_min"] = ir::Attribute::of_float(0.0f);
  conv->attributes["activation_max"] = ir::Attribute::of_float(6.0f);
  ir::Value* wm = g.add_constant("wm", iota_tensor(DType::float32, Shape{8, 5}));
  ir::Value* bm = g.add_constant("bm", iota_tensor(DType::float32, Shape{5}));
  ir::Value* y =
      g.add_value("y", f32({Dim::named("n"), Dim::known(4), Dim::known(8), Dim::known(5)}));
  ir::Node* gemm = g.add_node("FusedGemm", {c, wm, bm}, {y}, "fc", "lowp");
  gemm->attributes["activation"] = ir::Attribute::of_string("silu");
  ir::Value* y2 =
      g.add_value("y2", f32({Dim::named("n"), Dim::known(4), Dim::known(8), Dim::known(5)}));
  g.add_node("FusedGemm", {c, wm}, {y2}, "", "lowp");  // no bias, no activation
  g.outputs = {y, y2};
  export_model(g, dir / "m.onnx");
  onnx::ModelProto model = read_proto(dir / "m.onnx");
  for (const auto& o : model.opset_import()) EXPECT_NE(o.domain(), "lowp");
  std::unique_ptr<ir::Graph> back = import_model(dir / "m.onnx");
  EXPECT_EQ(ir::dump(*back),
            "graph fused\n"
            "  input x: float32[n, 3, 8, 8]\n"
            "  const w: float32[4, 3, 3, 3]\n"
            "  const b: float32[4]\n"
            "  const c_min: float32[]\n"
            "  const c_max: float32[]\n"
            "  const wm: float32[8, 5]\n"
            "  const bm: float32[5]\n"
            "  conv = Conv[pads=[1, 1, 1, 1]](x, w, b) -> c_conv: float32[n, 4, 8, 8]\n"
            "  conv_clip = Clip(c_conv, c_min, c_max) -> c: float32[n, 4, 8, 8]\n"
            "  fc = MatMul(c, wm) -> y_matmul: float32[n, 4, 8, 5]\n"
            "  fc_bias = Add(y_matmul, bm) -> y_bias: float32[n, 4, 8, 5]\n"
            "  fc_silu_sigmoid = Sigmoid(y_bias) -> y_sigmoid: float32[n, 4, 8, 5]\n"
            "  fc_silu = Mul(y_bias, y_sigmoid) -> y: float32[n, 4, 8, 5]\n"
            "  _ = MatMul(c, wm) -> y2: float32[n, 4, 8, 5]\n"
            "  output y\n"
            "  output y2\n");
}

// The NHWC forms run their ONNX op between Transposes, and the pair between two of them
// cancels; node names stay unique even where the layout pass already named its own
// Transposes after the node.
TEST(OnnxExport, NhwcOpsBecomeTransposedStandardOps) {
  TempDir dir;
  ir::Graph g;
  g.name = "nhwc";
  using ir::Dim;
  auto f32 = [](std::vector<Dim> dims) { return ir::TensorType{DType::float32, std::move(dims)}; };
  ir::Value* x =
      g.add_value("x", f32({Dim::named("n"), Dim::known(8), Dim::known(8), Dim::known(3)}));
  g.inputs.push_back(x);
  ir::Value* w = g.add_constant("w", iota_tensor(DType::float32, Shape{4, 3, 3, 3}));
  ir::Value* c =
      g.add_value("c", f32({Dim::named("n"), Dim::known(8), Dim::known(8), Dim::known(4)}));
  ir::Node* conv = g.add_node("NhwcConv", {x, w}, {c}, "conv", "lowp");
  conv->attributes["pads"] = ir::Attribute::of_ints({1, 1, 1, 1});
  conv->attributes["activation"] = ir::Attribute::of_string("relu");
  ir::Value* p =
      g.add_value("p", f32({Dim::named("n"), Dim::known(4), Dim::known(4), Dim::known(4)}));
  ir::Node* pool = g.add_node("NhwcMaxPool", {c}, {p}, "pool", "lowp");
  pool->attributes["kernel_shape"] = ir::Attribute::of_ints({2, 2});
  pool->attributes["strides"] = ir::Attribute::of_ints({2, 2});
  ir::Value* q =
      g.add_value("q", f32({Dim::named("n"), Dim::known(4), Dim::known(4), Dim::known(4)}));
  g.add_node("Relu", {p}, {q}, "conv_to_nchw");  // a name the export would derive
  g.outputs = {q};
  export_model(g, dir / "m.onnx");
  onnx::ModelProto model = read_proto(dir / "m.onnx");
  std::set<std::string> names;
  for (const auto& n : model.graph().node()) EXPECT_TRUE(names.insert(n.name()).second) << n.name();
  EXPECT_EQ(ir::dump(*import_model(dir / "m.onnx")),
            "graph nhwc\n"
            "  input x: float32[n, 8, 8, 3]\n"
            "  const w: float32[4, 3, 3, 3]\n"
            "  conv_to_nchw_1 = Transpose[perm=[0, 3, 1, 2]](x) -> c_nchw_in: float32[n, 3, 8, 8]\n"
            "  conv = Conv[pads=[1, 1, 1, 1]](c_nchw_in, w) -> c_nchw_conv: float32[n, 4, 8, 8]\n"
            "  conv_relu = Relu(c_nchw_conv) -> c_nchw: float32[n, 4, 8, 8]\n"
            "  pool = MaxPool[kernel_shape=[2, 2], strides=[2, 2]](c_nchw) -> p_nchw: float32[n, "
            "4, 4, 4]\n"
            "  pool_to_nhwc = Transpose[perm=[0, 2, 3, 1]](p_nchw) -> p: float32[n, 4, 4, 4]\n"
            "  conv_to_nchw = Relu(p) -> q: float32[n, 4, 4, 4]\n"
            "  output q\n");
}

TEST(OnnxExport, ComMicrosoftDomainIsDeclared) {
  TempDir dir;
  ir::Graph g;
  g.opsets["com.microsoft"] = 1;
  ir::Value* a = g.add_value(
      "a",
      ir::TensorType{DType::float32, std::vector<ir::Dim>{ir::Dim::known(1), ir::Dim::known(32)}});
  g.inputs.push_back(a);
  ir::Value* b = g.add_constant("b", iota_tensor(DType::uint8, Shape{4, 1, 16}));
  ir::Value* s = g.add_constant("s", iota_tensor(DType::float32, Shape{4}));
  ir::Value* y = g.add_value("y");
  ir::Node* n = g.add_node("MatMulNBits", {a, b, s}, {y}, "q", "com.microsoft");
  n->attributes["K"] = ir::Attribute::of_int(32);
  n->attributes["N"] = ir::Attribute::of_int(4);
  g.outputs = {y};
  export_model(g, dir / "m.onnx");
  onnx::ModelProto model = read_proto(dir / "m.onnx");
  ASSERT_EQ(model.opset_import_size(), 2);
  EXPECT_EQ(model.opset_import(1).domain(), "com.microsoft");
  EXPECT_EQ(model.opset_import(1).version(), 1);
  EXPECT_EQ(model.graph().node(0).domain(), "com.microsoft");
}

TEST(OnnxExport, RefusalsNameTheNodeAndLeaveTheFileAlone) {
  TempDir dir;
  lowp::testing::write_bytes(dir / "m.onnx", lowp::testing::to_bytes("old"));
  ir::Graph g;
  ir::Value* x = g.add_value(
      "x",
      ir::TensorType{DType::float32, std::vector<ir::Dim>{ir::Dim::known(2), ir::Dim::known(2)}});
  g.inputs.push_back(x);
  ir::Value* w = g.add_constant("w", iota_tensor(DType::float32, Shape{2, 2}));
  ir::Value* y = g.add_value("y");
  ir::Node* n = g.add_node("FusedGemm", {x, w}, {y}, "fc", "lowp");
  n->attributes["activation"] = ir::Attribute::of_string("swishy");
  g.outputs = {y};
  EXPECT_ERROR_CONTAINS(export_model(g, dir / "m.onnx"),
                        "node 'fc' (lowp::FusedGemm): activation 'swishy'");
  n->attributes["activation"] = ir::Attribute::of_string("relu");
  n->attributes["transB"] = ir::Attribute::of_int(1);
  EXPECT_ERROR_CONTAINS(export_model(g, dir / "m.onnx"),
                        "attribute 'transB' is not part of FusedGemm");
  n->attributes.erase("transB");
  n->op_type = "FusedAttention";
  EXPECT_ERROR_CONTAINS(export_model(g, dir / "m.onnx"), "no standard ONNX form");
  n->op_type = "If";
  n->domain.clear();
  n->attributes["then_branch"].kind = ir::Attribute::Kind::kGraph;
  EXPECT_ERROR_CONTAINS(export_model(g, dir / "m.onnx"),
                        "attribute 'then_branch' holds a subgraph");
  EXPECT_EQ(lowp::testing::read_bytes(dir / "m.onnx"), lowp::testing::to_bytes("old"));
  EXPECT_EQ(dir.entries(), std::set<std::string>{"m.onnx"});
}

}  // namespace
}  // namespace lowp::onnx_io

namespace lowp::onnx_io {
namespace {

// A one-node model at `opset`, for the upgrades that export depends on.
std::unique_ptr<ir::Graph> one_node(
    int opset, const std::string& op, int outputs,
    const std::vector<std::pair<std::string, std::string>>& string_attrs = {}, int inputs = 1) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.add_opset_import()->set_version(opset);
  onnx::GraphProto& g = *m.mutable_graph();
  onnx::NodeProto& n = *g.add_node();
  n.set_op_type(op);
  for (int i = 0; i < inputs; ++i) {  // x0 float32[4]; the others int64[4] (indices)
    auto* x = g.add_input();
    x->set_name("x" + std::to_string(i));
    x->mutable_type()->mutable_tensor_type()->set_elem_type(i == 1 ? 7 : 1);
    x->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(4);
    n.add_input(x->name());
  }
  for (int i = 0; i < outputs; ++i) {
    n.add_output("y" + std::to_string(i));
    g.add_output()->set_name("y" + std::to_string(i));
  }
  for (const auto& [key, value] : string_attrs) {
    auto* a = n.add_attribute();
    a->set_name(key);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(value);
  }
  std::string bytes;
  m.SerializeToString(&bytes);
  return import_model_bytes(bytes, "test", ".");
}

// Opset-21 files must say what older opsets implied, or ONNX Runtime reads them otherwise.
TEST(OnnxUpgrade, OlderFormsAreWrittenInTheirOpset21Spelling) {
  std::unique_ptr<ir::Graph> split = one_node(13, "Split", 2);
  EXPECT_EQ(split->nodes()[0]->attr_int("num_outputs", 0), 2);  // required by opset 18
  EXPECT_EQ(one_node(18, "Split", 2)->nodes()[0]->has_attribute("num_outputs"), false);
  EXPECT_EQ(one_node(13, "Scatter", 1, {}, 3)->nodes()[0]->op_type, "ScatterElements");
  EXPECT_EQ(
      one_node(16, "GridSample", 1, {{"mode", "bicubic"}})->nodes()[0]->attr_string("mode", ""),
      "cubic");
  EXPECT_EQ(one_node(16, "GridSample", 1)->nodes()[0]->attr_string("mode", ""), "linear");
  std::unique_ptr<ir::Graph> dft = one_node(17, "DFT", 1);
  const ir::Node& n = *dft->nodes()[0];
  EXPECT_FALSE(n.has_attribute("axis"));
  ASSERT_TRUE(n.has_input(2));
  EXPECT_EQ(n.inputs[2]->constant->values<std::int64_t>()[0], 1);  // opset 17's default axis
}

}  // namespace
}  // namespace lowp::onnx_io
