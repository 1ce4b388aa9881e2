// tests/onnx/import_test.cc: the importer on good models built with the ONNX protos, and
// on every kind of bad input ../shared/BAD_INPUTS.md lists for model files: each gives one
// lowp::Error naming the file, tensor or node and the rule broken.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "ir/dump.h"
#include "onnx/import.h"
#include "onnx/onnx_pb.h"

namespace lowp {
namespace {

namespace fs = std::filesystem;

onnx::ModelProto relu_model(int opset = 17) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* o = m.add_opset_import();
  o->set_domain("");
  o->set_version(opset);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto* in = g->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_param("batch");
  tt->mutable_shape()->add_dim()->set_dim_value(4);
  auto* n = g->add_node();
  n->set_op_type("Relu");
  n->set_name("relu");
  n->add_input("x");
  n->add_output("y");
  g->add_output()->set_name("y");
  return m;
}

std::unique_ptr<ir::Graph> import(const onnx::ModelProto& m, const fs::path& dir = ".") {
  return onnx_io::import_model_bytes(m.SerializeAsString(), "model.onnx", dir);
}

// The import fails with a message containing every one of `parts`.
void expect_error(const std::function<void()>& f, std::initializer_list<std::string> parts) {
  try {
    f();
    FAIL() << "no error";
  } catch (const Error& e) {
    std::string what = e.what();
    for (const std::string& p : parts) EXPECT_NE(what.find(p), std::string::npos) << what << "\nmissing: " << p;
  }
}

onnx::TensorProto float_initializer(const std::string& name, std::vector<std::int64_t> dims, std::size_t bytes) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  for (std::int64_t d : dims) t.add_dims(d);
  t.set_raw_data(std::string(bytes, '\0'));
  return t;
}

// x + W, with W an initializer.
onnx::ModelProto add_model(const onnx::TensorProto& w) {
  onnx::ModelProto m = relu_model();
  auto* g = m.mutable_graph();
  *g->add_initializer() = w;
  auto* n = g->mutable_node(0);
  n->set_op_type("Add");
  n->add_input(w.name());
  return m;
}

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("lowp_import_test_" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_ / "model");
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}

TEST(Import, ReadsTypesSymbolicDimsAndNodes) {
  auto g = import(relu_model());
  EXPECT_EQ(ir::dump(*g), "graph g\n  input x: float32[batch, 4]\n  relu = Relu(x) -> y: ?[...]\n  output y\n");
}

TEST(Import, UpgradesOldOpsetsToTheIrOpset) {
  onnx::ModelProto m = relu_model(11);
  auto* n = m.mutable_graph()->mutable_node(0);
  n->set_op_type("Unsqueeze");
  auto* a = n->add_attribute();
  a->set_name("axes");
  a->set_type(onnx::AttributeProto::INTS);
  a->add_ints(0);
  auto g = import(m);
  // The axes attribute became a constant input (the opset 13 form).
  EXPECT_EQ(ir::dump(*g),
            "graph g\n  input x: float32[batch, 4]\n  const relu_axes: int64[1]\n"
            "  relu = Unsqueeze(x, relu_axes) -> y: ?[...]\n  output y\n");
}

TEST(Import, ConstantNodesBecomeConstants) {
  onnx::ModelProto m = relu_model();
  auto* g = m.mutable_graph();
  auto* c = g->add_node();
  c->set_op_type("Constant");
  c->add_output("k");
  auto* a = c->add_attribute();
  a->set_name("value_floats");
  a->set_type(onnx::AttributeProto::FLOATS);
  a->add_floats(1.0f);
  a->add_floats(2.0f);
  g->mutable_node(0)->set_op_type("Add");
  g->mutable_node(0)->add_input("k");
  auto graph = import(m);
  ASSERT_NE(graph->find_value("k"), nullptr);
  EXPECT_TRUE(graph->find_value("k")->is_constant());
  EXPECT_EQ(graph->nodes().size(), 1u);
}

TEST(ImportBadInput, EmptyRandomTruncatedAndForeignFiles) {
  expect_error([] { onnx_io::import_model_bytes("", "model.onnx", "."); }, {"model.onnx", "empty"});
  std::string random(4096, '\0');
  std::uint32_t state = 12345;
  for (char& c : random) c = static_cast<char>((state = state * 1664525u + 1013904223u) >> 24);
  expect_error([&] { onnx_io::import_model_bytes(random, "model.onnx", "."); }, {"model.onnx"});
  std::string good = relu_model().SerializeAsString();
  for (std::size_t cut : {good.size() / 2, good.size() - 1}) {
    expect_error([&] { onnx_io::import_model_bytes(good.substr(0, cut), "model.onnx", "."); }, {"model.onnx"});
  }
  // Another message: a TensorProto's fields clash with ModelProto's wire types; a
  // message that does parse (here an OperatorSetIdProto-like one) has no graph.
  onnx::TensorProto t = float_initializer("w", {2}, 8);
  expect_error([&] { onnx_io::import_model_bytes(t.SerializeAsString(), "model.onnx", "."); }, {"model.onnx"});
  onnx::ModelProto no_graph;
  no_graph.set_ir_version(8);
  expect_error([&] { onnx_io::import_model_bytes(no_graph.SerializeAsString(), "model.onnx", "."); },
               {"model.onnx", "not an ONNX model"});
}

TEST(ImportBadInput, InitializerSizesAndDims) {
  expect_error([] { import(add_model(float_initializer("W", {4}, 12))); }, {"tensor 'W'", "raw_data is 12 bytes", "needs 16"});
  expect_error([] { import(add_model(float_initializer("W", {4}, 20))); }, {"tensor 'W'", "raw_data is 20 bytes"});
  expect_error([] { import(add_model(float_initializer("W", {-4}, 16))); }, {"tensor 'W'", "negative"});
  expect_error([] { import(add_model(float_initializer("W", {1LL << 40, 1LL << 40}, 16))); }, {"tensor 'W'"});
  // A huge implied size with no data: refused before any allocation.
  expect_error([] { import(add_model(float_initializer("W", {1LL << 30, 64}, 16))); }, {"tensor 'W'", "needs"});
  onnx::TensorProto typed;
  typed.set_name("W");
  typed.set_data_type(onnx::TensorProto::FLOAT);
  typed.add_dims(3);
  typed.add_float_data(1.0f);
  expect_error([&] { import(add_model(typed)); }, {"tensor 'W'", "holds 1 values", "needs 3"});
  onnx::TensorProto strings = float_initializer("W", {1}, 4);
  strings.set_data_type(onnx::TensorProto::STRING);
  expect_error([&] { import(add_model(strings)); }, {"tensor 'W'", "element type 8 is not supported"});
}

TEST(ImportBadInput, ExternalDataMustStayInTheModelsFolder) {
  TempDir dir;
  fs::path model_dir = dir.path() / "model";
  write_file(model_dir / "w.bin", std::string(64, '\0'));
  write_file(dir.path() / "outside.bin", std::string(64, '\0'));
  fs::create_symlink(dir.path() / "outside.bin", model_dir / "link.bin");
  auto external = [&](const std::string& location, std::string offset, std::string length) {
    onnx::TensorProto t;
    t.set_name("W");
    t.set_data_type(onnx::TensorProto::FLOAT);
    t.add_dims(4);
    t.set_data_location(onnx::TensorProto::EXTERNAL);
    auto add = [&](const std::string& k, const std::string& v) {
      auto* e = t.add_external_data();
      e->set_key(k);
      e->set_value(v);
    };
    add("location", location);
    if (!offset.empty()) add("offset", offset);
    if (!length.empty()) add("length", length);
    return import(add_model(t), model_dir);
  };
  EXPECT_NO_THROW(external("w.bin", "16", "16"));
  expect_error([&] { external("../outside.bin", "", ""); }, {"tensor 'W'", "'..' is refused"});
  expect_error([&] { external((dir.path() / "outside.bin").string(), "", ""); }, {"tensor 'W'", "absolute paths are refused"});
  expect_error([&] { external("link.bin", "", ""); }, {"tensor 'W'", "outside the model's folder"});
  expect_error([&] { external("w.bin", "56", ""); }, {"tensor 'W'", "runs past its end"});
  expect_error([&] { external("w.bin", "0", "12"); }, {"tensor 'W'", "length 12"});
  expect_error([&] { external("w.bin", "-1", ""); }, {"tensor 'W'", "not a byte count"});
  expect_error([&] { external("missing.bin", "", ""); }, {"tensor 'W'", "missing.bin"});
}

TEST(ImportBadInput, GraphStructure) {
  // Undefined input.
  onnx::ModelProto m = relu_model();
  m.mutable_graph()->mutable_node(0)->set_input(0, "nowhere");
  expect_error([&] { import(m); }, {"node 'relu'", "'nowhere'", "not defined"});
  // A cycle: a = Relu(b), b = Relu(a).
  onnx::ModelProto c = relu_model();
  auto* g = c.mutable_graph();
  g->mutable_node(0)->set_input(0, "b");
  g->mutable_node(0)->set_output(0, "a");
  auto* n2 = g->add_node();
  n2->set_op_type("Relu");
  n2->set_name("relu2");
  n2->add_input("a");
  n2->add_output("b");
  g->mutable_output(0)->set_name("b");
  expect_error([&] { import(c); }, {"cycle"});
  // Wrong arity.
  onnx::ModelProto a = relu_model();
  a.mutable_graph()->mutable_node(0)->add_input("x");
  expect_error([&] { import(a); }, {"node 'relu'", "2 inputs", "1 to 1"});
  // A value produced twice.
  onnx::ModelProto d = relu_model();
  *d.mutable_graph()->add_node() = d.graph().node(0);
  expect_error([&] { import(d); }, {"'y'", "produced twice"});
  // An output nothing computes.
  onnx::ModelProto o = relu_model();
  o.mutable_graph()->mutable_output(0)->set_name("ghost");
  expect_error([&] { import(o); }, {"output 'ghost'"});
  // Opset outside what lowp imports.
  expect_error([] { import(relu_model(5)); }, {"opset 5", "7..21"});
  expect_error([] { import(relu_model(30)); }, {"opset 30"});
  // A negative declared dimension.
  onnx::ModelProto neg = relu_model();
  neg.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(1)->set_dim_value(-3);
  expect_error([&] { import(neg); }, {"'x'", "negative dimension"});
}

TEST(ImportBadInput, FilesThatAreNotRegular) {
  expect_error([] { onnx_io::import_model("/nonexistent/model.onnx"); }, {"/nonexistent/model.onnx"});
  expect_error([] { onnx_io::import_model("/tmp"); }, {"/tmp", "not a readable file"});
}

}  // namespace
}  // namespace lowp
