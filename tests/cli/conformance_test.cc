// tests/cli/conformance_test.cc: the conformance runner (tools/lowp/conformance.h) on test
// folders written here: each outcome comes from the right cause, comparisons follow the
// stated tolerances, and the expected-failure list is enforced both ways.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "conformance.h"
#include "onnx/onnx_pb.h"
#include "onnx/tensor_file.h"
#include "onnx/tensor_proto.h"

namespace lowp::cli {
namespace {

namespace fs = std::filesystem;

class ConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("lowp_conformance_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "node");
  }
  void TearDown() override { fs::remove_all(root_); }

  // A one-node model y = op(x) with x and y of `elem` type and shape [n].
  fs::path write_model(const std::string& test, const std::string& op, int elem, std::int64_t n, int opset = 17) {
    fs::path dir = root_ / "node" / test;
    fs::create_directories(dir);
    onnx::ModelProto m;
    m.set_ir_version(8);
    m.add_opset_import()->set_version(opset);
    onnx::GraphProto* g = m.mutable_graph();
    g->set_name(test);
    onnx::NodeProto* node = g->add_node();
    node->set_op_type(op);
    node->add_input("x");
    node->add_output("y");
    for (auto [list, name] : {std::pair{g->add_input(), "x"}, std::pair{g->add_output(), "y"}}) {
      list->set_name(name);
      auto* tt = list->mutable_type()->mutable_tensor_type();
      tt->set_elem_type(elem);
      tt->mutable_shape()->add_dim()->set_dim_value(n);
    }
    std::ofstream(dir / "model.onnx", std::ios::binary) << m.SerializeAsString();
    return dir;
  }

  static void write_tensor(const fs::path& path, const Tensor& t) {
    fs::create_directories(path.parent_path());
    onnx::TensorProto p;
    onnx_io::tensor_to_proto(t, p);
    std::ofstream(path, std::ios::binary) << p.SerializeAsString();
  }

  static Tensor floats(const std::vector<float>& v) {
    Tensor t(DType::float32, Shape{static_cast<std::int64_t>(v.size())});
    std::copy(v.begin(), v.end(), t.values<float>().begin());
    return t;
  }

  // Data set 0 of `dir`: input x, expected y.
  static void write_data(const fs::path& dir, const Tensor& x, const Tensor& y) {
    write_tensor(dir / "test_data_set_0" / "input_0.pb", x);
    write_tensor(dir / "test_data_set_0" / "output_0.pb", y);
  }

  TestResult run(const fs::path& dir) { return run_conformance_test(dir, "node", ConformanceOptions{}); }

  fs::path root_;
};

TEST_F(ConformanceTest, PassesWithinTheTolerancesAndFailsBeyond) {
  // |got - expected| <= 1e-7 + 1e-3 |expected|: Identity of x against x nudged.
  fs::path dir = write_model("test_identity", "Identity", onnx::TensorProto::FLOAT, 4);
  Tensor x = floats({1.0f, -100.0f, NAN, INFINITY});
  write_data(dir, x, floats({1.0009f, -100.09f, NAN, INFINITY}));
  TestResult ok = run(dir);
  EXPECT_EQ(ok.outcome, Outcome::passed) << ok.reason;
  EXPECT_EQ(ok.ops, std::vector<std::string>{"Identity"});

  write_data(dir, x, floats({1.0f, -100.2f, NAN, INFINITY}));
  TestResult bad = run(dir);
  EXPECT_EQ(bad.outcome, Outcome::failed);
  EXPECT_NE(bad.reason.find("1 of 4 elements differ; first at [1]"), std::string::npos) << bad.reason;

  write_data(dir, x, floats({1.0f, -100.0f, 0.0f, INFINITY}));  // NaN only matches NaN
  EXPECT_EQ(run(dir).outcome, Outcome::failed);
  write_data(dir, x, floats({1.0f, -100.0f, NAN, -INFINITY}));  // an infinity only itself
  EXPECT_EQ(run(dir).outcome, Outcome::failed);
}

TEST_F(ConformanceTest, IntegersMustBeExactAndTypesAndShapesMustMatch) {
  fs::path dir = write_model("test_abs_int", "Abs", onnx::TensorProto::INT32, 2);
  Tensor x(DType::int32, Shape{2});
  x.values<std::int32_t>()[0] = -5;
  x.values<std::int32_t>()[1] = 1 << 30;
  Tensor y(DType::int32, Shape{2});
  y.values<std::int32_t>()[0] = 5;
  y.values<std::int32_t>()[1] = (1 << 30) + 1;  // within any relative tolerance, still wrong
  write_data(dir, x, y);
  EXPECT_EQ(run(dir).outcome, Outcome::failed);
  y.values<std::int32_t>()[1] = 1 << 30;
  write_data(dir, x, y);
  EXPECT_EQ(run(dir).outcome, Outcome::passed) << run(dir).reason;

  Tensor y64(DType::int64, Shape{2});
  write_data(dir, x, y64);
  TestResult wrong_type = run(dir);
  EXPECT_EQ(wrong_type.outcome, Outcome::failed);
  EXPECT_NE(wrong_type.reason.find("type int32, expected int64"), std::string::npos) << wrong_type.reason;
}

TEST_F(ConformanceTest, UnsupportedIsToldApartByCause) {
  fs::path op = write_model("test_unknown_op", "Frobnicate", onnx::TensorProto::FLOAT, 1);
  write_data(op, floats({1}), floats({1}));
  EXPECT_EQ(run(op).outcome, Outcome::unsupported) << run(op).reason;

  fs::path str = write_model("test_string", "Identity", onnx::TensorProto::STRING, 1);
  EXPECT_EQ(run(str).outcome, Outcome::unsupported) << run(str).reason;

  fs::path old = write_model("test_opset6", "Abs", onnx::TensorProto::FLOAT, 1, 6);
  write_data(old, floats({-1}), floats({1}));
  EXPECT_EQ(run(old).outcome, Outcome::unsupported) << run(old).reason;

  // A broken test (no data set) is a failure, not "unsupported".
  fs::path empty = write_model("test_no_data", "Abs", onnx::TensorProto::FLOAT, 1);
  EXPECT_EQ(run(empty).outcome, Outcome::failed);
}

TEST_F(ConformanceTest, SuitesFilterTableAndExpectedFailures) {
  for (const char* suite : {"pytorch-converted", "pytorch-operator", "simple"}) fs::create_directories(root_ / suite);
  fs::path a = write_model("test_abs", "Abs", onnx::TensorProto::FLOAT, 2);
  write_data(a, floats({-1, 2}), floats({1, 2}));
  fs::path b = write_model("test_abs_wrong", "Abs", onnx::TensorProto::FLOAT, 2);
  write_data(b, floats({-1, 2}), floats({1, 3}));
  ConformanceOptions options;
  options.data_dir = root_;
  ConformanceReport report = run_conformance(options);
  EXPECT_EQ(report.summary(), "1 passed, 1 failed, 0 unsupported");
  std::string table = op_table(report);
  std::erase(table, ' ');
  EXPECT_NE(table.find("|Abs|1|1|0|"), std::string::npos) << op_table(report);
  EXPECT_EQ(report_json(report, options)["tests"][1]["result"], "failed");

  options.filter = "abs_wrong";
  EXPECT_EQ(run_conformance(options).summary(), "0 passed, 1 failed, 0 unsupported");

  ExpectationCheck none = check_expected_failures(report, {});
  EXPECT_EQ(none.unexpected_failures, std::vector<std::string>{"node/test_abs_wrong"});
  ExpectationCheck listed = check_expected_failures(report, {{"node/test_abs_wrong", "why"}});
  EXPECT_TRUE(listed.ok());
  ExpectationCheck stale = check_expected_failures(report, {{"node/test_abs_wrong", "why"}, {"node/test_abs", "why"}});
  EXPECT_EQ(stale.stale, std::vector<std::string>{"node/test_abs"});

  std::ofstream(root_ / "list.txt") << "# comment\nnode/test_abs_wrong   data: a reason  # trailing\n\n";
  ExpectedFailures read = read_expected_failures(root_ / "list.txt");
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read.at("node/test_abs_wrong"), "data: a reason  ");
  std::ofstream(root_ / "bad.txt") << "node/test_abs_wrong\n";
  EXPECT_THROW(read_expected_failures(root_ / "bad.txt"), Error);

  options.data_dir = root_ / "missing";
  EXPECT_THROW(run_conformance(options), Error);
}

TEST_F(ConformanceTest, TensorFilesAreChecked) {
  fs::path p = root_ / "t.pb";
  write_tensor(p, floats({1, 2, 3}));
  onnx_io::NamedTensor t = onnx_io::read_tensor_file(p);
  EXPECT_EQ(t.tensor->shape().str(), "[3]");
  // Truncated: raw_data shorter than its shape.
  std::string bytes;
  {
    std::ifstream in(p, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() - 4);
  EXPECT_THROW(onnx_io::read_tensor_file(p), Error);
  // A string tensor is valid ONNX lowp cannot hold.
  onnx::TensorProto s;
  s.set_data_type(onnx::TensorProto::STRING);
  s.add_dims(1);
  s.add_string_data("a");
  std::ofstream(p, std::ios::binary | std::ios::trunc) << s.SerializeAsString();
  EXPECT_THROW(onnx_io::read_tensor_file(p), UnsupportedError);
  EXPECT_THROW(onnx_io::read_tensor_file(root_ / "missing.pb"), Error);
}

}  // namespace
}  // namespace lowp::cli
