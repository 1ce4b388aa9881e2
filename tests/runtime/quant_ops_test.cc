// tests/runtime/quant_ops_test.cc: the quantization ops (runtime/ops/quant.cc).
//
// - ONNX's conformance data for each op (its inputs are all graph inputs, so this runs the
//   reference loops): outputs bit for bit.
// - Each kernel path (constant weights: int8 GEMM, int8 convolution) against the reference
//   path (the same node with the weights as a graph input) bit for bit, and both against
//   sums written out here in int64.
// - QuantizeLinear / DequantizeLinear per axis, blocked, float8 and 16-bit types, NaN and
//   saturation; DynamicQuantizeLinear's definition; MatMulNBits against dequantized weights.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "base/float_types.h"
#include "base/random.h"
#include "io/io_test_util.h"
#include "kernels/quantize/quantize.h"
#include "onnx/onnx_pb.h"
#include "onnx/tensor_proto.h"
#include "runtime/session.h"

namespace lowp::runtime {
namespace {

namespace fs = std::filesystem;

// ---- building and running one-node graphs ----

struct In {
  std::shared_ptr<Tensor> tensor;  // null: an omitted optional input
  bool constant = false;
};

template <class T>
std::shared_ptr<Tensor> tensor(DType dtype, Shape shape, const std::vector<T>& values) {
  auto t = std::make_shared<Tensor>(dtype, std::move(shape));
  EXPECT_EQ(t->elements(), values.size());
  EXPECT_EQ(dtype_storage_bytes(dtype, 1), sizeof(T));
  std::memcpy(t->raw(), values.data(), t->bytes());
  return t;
}
std::shared_ptr<Tensor> f32(Shape shape, const std::vector<float>& v) {
  return tensor(DType::float32, std::move(shape), v);
}
std::shared_ptr<Tensor> u8(Shape shape, const std::vector<std::uint8_t>& v) {
  return tensor(DType::uint8, std::move(shape), v);
}
std::shared_ptr<Tensor> s8(Shape shape, const std::vector<std::int8_t>& v) {
  return tensor(DType::int8, std::move(shape), v);
}
std::shared_ptr<Tensor> s32(Shape shape, const std::vector<std::int32_t>& v) {
  return tensor(DType::int32, std::move(shape), v);
}

std::shared_ptr<Tensor> random_tensor(DType dtype, Shape shape, Random& rng) {
  auto t = std::make_shared<Tensor>(dtype, std::move(shape));
  for (std::size_t i = 0; i < t->bytes(); ++i)
    t->raw()[i] = static_cast<std::byte>(rng.next() & 0xFF);
  return t;
}

struct Result {
  std::vector<Tensor> outputs;
  std::string kernel;
};

Result run_node(const std::string& op, const std::vector<In>& inputs,
                std::map<std::string, ir::Attribute> attrs = {}, std::size_t outputs = 1,
                const std::string& domain = "") {
  auto g = std::make_unique<ir::Graph>();
  std::vector<ir::Value*> ins;
  std::vector<std::string> names;
  std::vector<const Tensor*> given;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const In& in = inputs[i];
    std::string name = "in" + std::to_string(i);
    if (!in.tensor) {
      ins.push_back(nullptr);
    } else if (in.constant) {
      ins.push_back(g->add_constant(name, in.tensor));
    } else {
      ir::Value* v = g->add_value(name, ir::TensorType::of(in.tensor->dtype(), in.tensor->shape()));
      g->inputs.push_back(v);
      ins.push_back(v);
      names.push_back(name);
      given.push_back(in.tensor.get());
    }
  }
  std::vector<ir::Value*> outs;
  for (std::size_t i = 0; i < outputs; ++i) outs.push_back(g->add_value("out" + std::to_string(i)));
  ir::Node* n = g->add_node(op, ins, outs, "node", domain);
  n->attributes = std::move(attrs);
  g->outputs = outs;
  SessionOptions options;
  options.optimize = false;
  Session session(std::move(g), options);
  std::vector<NamedInput> named;
  for (std::size_t i = 0; i < names.size(); ++i) named.push_back({names[i], given[i]});
  Result r;
  r.kernel = session.plan_for(named).steps.at(0).op->kernel();
  r.outputs = session.run(named);
  return r;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         (a.bytes() == 0 || std::memcmp(a.raw(), b.raw(), a.bytes()) == 0);
}

template <class T>
std::vector<T> values_of(const Tensor& t) {
  std::vector<T> v(t.elements());
  std::memcpy(v.data(), t.raw(), t.bytes());
  return v;
}

ir::Attribute I(std::int64_t v) {
  return ir::Attribute::of_int(v);
}
ir::Attribute Is(std::vector<std::int64_t> v) {
  return ir::Attribute::of_ints(std::move(v));
}

// ---- ONNX's conformance data ----

std::shared_ptr<Tensor> read_pb(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  onnx::TensorProto proto;
  EXPECT_TRUE(proto.ParseFromIstream(&in)) << path;
  return onnx_io::tensor_from_proto(proto, {path.string(), path.parent_path()});
}

class Conformance : public ::testing::TestWithParam<const char*> {};

TEST_P(Conformance, MatchesOnnxBitForBit) {
  fs::path dir = fs::path("/usr/share/libonnx-testdata/data/node") / GetParam();
  if (!fs::exists(dir / "model.onnx")) GTEST_SKIP() << dir << " is missing (libonnx-testdata)";
  std::unique_ptr<Session> session = Session::load(dir / "model.onnx", {});
  int sets = 0;
  for (const auto& set : fs::directory_iterator(dir)) {
    if (!set.is_directory()) continue;
    ++sets;
    std::vector<std::shared_ptr<Tensor>> inputs;
    std::vector<NamedInput> named;
    for (std::size_t i = 0; fs::exists(set.path() / ("input_" + std::to_string(i) + ".pb")); ++i) {
      inputs.push_back(read_pb(set.path() / ("input_" + std::to_string(i) + ".pb")));
      named.push_back({session->graph().inputs.at(i)->name, inputs.back().get()});
    }
    std::vector<Tensor> got = session->run(named);
    for (std::size_t i = 0; i < got.size(); ++i) {
      std::shared_ptr<Tensor> want = read_pb(set.path() / ("output_" + std::to_string(i) + ".pb"));
      EXPECT_TRUE(same_bytes(got[i], *want))
          << set.path() << " output " << i << ": " << dtype_name(got[i].dtype())
          << got[i].shape().str() << " vs " << want->shape().str();
    }
  }
  EXPECT_GT(sets, 0) << dir << " has no test_data_set";
}

INSTANTIATE_TEST_SUITE_P(
    OnnxNodeTests, Conformance,
    ::testing::Values("test_quantizelinear", "test_quantizelinear_axis", "test_dequantizelinear",
                      "test_dequantizelinear_axis", "test_dynamicquantizelinear",
                      "test_dynamicquantizelinear_max_adjusted",
                      "test_dynamicquantizelinear_min_adjusted", "test_matmulinteger",
                      "test_qlinearmatmul_2D", "test_qlinearmatmul_3D", "test_qlinearconv",
                      "test_basic_convinteger", "test_convinteger_with_padding",
                      "test_convinteger_without_padding"));

// ---- QuantizeLinear / DequantizeLinear ----

TEST(QuantizeLinear, PerTensorFollowsQuantizeValueIncludingNaNAndSaturation) {
  std::vector<float> x = {0.0f,    2.5f,     3.5f,          -2.5f,
                          1000.0f, -1000.0f, std::nanf(""), std::numeric_limits<float>::infinity(),
                          -0.7f,   1.49999f};
  for (bool constant : {false, true}) {
    Result r = run_node("QuantizeLinear",
                        {{f32({10}, x)}, {f32({}, {0.5f}), constant}, {u8({}, {10}), constant}});
    std::vector<std::uint8_t> want;
    for (float v : x)
      want.push_back(static_cast<std::uint8_t>(quantize_value(v, 0.5f, 10, 0, 255)));
    EXPECT_EQ(values_of<std::uint8_t>(r.outputs[0]), want);
    EXPECT_EQ(values_of<std::uint8_t>(r.outputs[0])[6], 10);  // NaN -> the zero point
  }
  // A runtime scale of 0: 0 / 0 is NaN and gives the zero point, x / 0 saturates.
  Result r = run_node("QuantizeLinear",
                      {{f32({3}, {0.0f, 1.0f, -1.0f})}, {f32({}, {0.0f})}, {s8({}, {-3})}});
  EXPECT_EQ(values_of<std::int8_t>(r.outputs[0]), (std::vector<std::int8_t>{-3, 127, -128}));
}

TEST(QuantizeLinear, PerAxisAndBlockedMatchTheirElementwiseForm) {
  Random rng(11);
  std::vector<float> x(2 * 6 * 3);
  for (float& v : x) v = rng.uniform(-20.0f, 20.0f);
  // Per axis 1: scale [6].
  std::vector<float> s6 = {0.5f, 1.0f, 1.5f, 2.0f, 0.25f, 3.0f};
  std::vector<std::int8_t> z6 = {0, 1, -2, 3, -4, 5};
  Result axis = run_node("QuantizeLinear", {{f32({2, 6, 3}, x)}, {f32({6}, s6)}, {s8({6}, z6)}},
                         {{"axis", I(1)}});
  // Blocked on axis 1 with block 4: scale [2, 2, 3] (the second block holds 2 of 6).
  std::vector<float> sb(2 * 2 * 3);
  std::vector<std::uint8_t> zb(sb.size());
  for (std::size_t i = 0; i < sb.size(); ++i) {
    sb[i] = 0.1f + 0.2f * static_cast<float>(i);
    zb[i] = static_cast<std::uint8_t>(100 + i);
  }
  Result block =
      run_node("QuantizeLinear", {{f32({2, 6, 3}, x)}, {f32({2, 2, 3}, sb)}, {u8({2, 2, 3}, zb)}},
               {{"axis", I(-2)}, {"block_size", I(4)}});
  std::vector<std::int8_t> ya = values_of<std::int8_t>(axis.outputs[0]);
  std::vector<std::uint8_t> yb = values_of<std::uint8_t>(block.outputs[0]);
  for (std::size_t o = 0; o < 2; ++o) {
    for (std::size_t d = 0; d < 6; ++d) {
      for (std::size_t i = 0; i < 3; ++i) {
        std::size_t e = (o * 6 + d) * 3 + i, p = (o * 2 + d / 4) * 3 + i;
        EXPECT_EQ(ya[e], quantize_value(x[e], s6[d], z6[d], -128, 127)) << e;
        EXPECT_EQ(yb[e], quantize_value(x[e], sb[p], zb[p], 0, 255)) << e;
      }
    }
  }
  // The same blocks dequantize back with the same parameters.
  Result back = run_node("DequantizeLinear",
                         {{block.outputs[0].dtype() == DType::uint8 ? u8({2, 6, 3}, yb) : nullptr},
                          {f32({2, 2, 3}, sb)},
                          {u8({2, 2, 3}, zb)}},
                         {{"axis", I(1)}, {"block_size", I(4)}});
  std::vector<float> xb = values_of<float>(back.outputs[0]);
  for (std::size_t o = 0; o < 2; ++o) {
    for (std::size_t d = 0; d < 6; ++d) {
      for (std::size_t i = 0; i < 3; ++i) {
        std::size_t e = (o * 6 + d) * 3 + i, p = (o * 2 + d / 4) * 3 + i;
        EXPECT_EQ(xb[e], dequantize_value(yb[e], sb[p], zb[p]));
      }
    }
  }
}

TEST(QuantizeLinear, SixteenBitAndOutputDtype) {
  // ONNX's test_quantizelinear_int16 and _uint16 (opset 21 data, not in libonnx 1.12).
  std::vector<float> x = {0.0f,     -514.0f,   3.0f,     -3.0f,     2.9f,     -2.9f,
                          3.1f,     -3.1f,     65022.0f, -66046.0f, 65023.0f, -66047.0f,
                          65024.0f, -66048.0f, 70000.0f, -70000.0f};
  Result r = run_node(
      "QuantizeLinear",
      {{f32({16}, x)}, {f32({}, {2.0f})}, {tensor<std::int16_t>(DType::int16, {}, {256})}});
  EXPECT_EQ(values_of<std::int16_t>(r.outputs[0]),
            (std::vector<std::int16_t>{256, -1, 258, 254, 257, 255, 258, 254, 32767, -32767, 32767,
                                       -32768, 32767, -32768, 32767, -32768}));
  std::vector<float> xu = {0.0f, -128.0f, 3.0f,     -3.0f,     2.9f,     -2.9f,
                           3.1f, -3.1f,   65536.0f, -65534.0f, 70000.0f, -70000.0f};
  r = run_node(
      "QuantizeLinear",
      {{f32({12}, xu)}, {f32({}, {2.0f})}, {tensor<std::uint16_t>(DType::uint16, {}, {32767})}});
  EXPECT_EQ(values_of<std::uint16_t>(r.outputs[0]),
            (std::vector<std::uint16_t>{32767, 32703, 32769, 32765, 32768, 32766, 32769, 32765,
                                        65535, 0, 65535, 0}));
  // output_dtype without a zero point (ONNX's test_quantizelinear_blocked_symmetric).
  r = run_node(
      "QuantizeLinear",
      {{f32({3, 4}, {6.0f, -8, -10, 5.0f, 1.0f, 8.0f, 4.0f, 5.0f, 0.0f, 20.0f, 10.0f, 4.0f})},
       {f32({3, 2}, {1.5f, 2.5f, 3.0f, 4.9f, 5.1f, 6.9f})}},
      {{"axis", I(1)}, {"block_size", I(2)}, {"output_dtype", I(static_cast<int>(DType::int16))}});
  EXPECT_EQ(values_of<std::int16_t>(r.outputs[0]),
            (std::vector<std::int16_t>{4, -5, -4, 2, 0, 3, 1, 1, 0, 4, 1, 1}));
}

TEST(QuantizeLinear, Float8WithAndWithoutSaturation) {
  // ONNX's test_quantizelinear_e4m3fn / _e5m2: 100000 / 2 saturates to 448 and 57344.
  std::vector<float> x = {0.0f, 1.0f, 2.0f, 100000.0f, 200.0f, -0.0f, std::nanf("")};
  Result r = run_node(
      "QuantizeLinear",
      {{f32({7}, x)}, {f32({}, {2.0f})}, {tensor<std::uint8_t>(DType::float8e4m3fn, {}, {0})}});
  std::vector<std::uint8_t> y = values_of<std::uint8_t>(r.outputs[0]);
  std::vector<float> want = {0.0f, 0.5f, 1.0f, 448.0f, 96.0f, -0.0f};
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(y[i], float8e4m3fn::from_float(want[i]).bits()) << i;
  }
  EXPECT_TRUE(std::isnan(float8e4m3fn::from_bits(y[6]).to_float()));
  EXPECT_TRUE(std::signbit(float8e4m3fn::from_bits(y[5]).to_float()));  // -0 stays -0
  r = run_node(
      "QuantizeLinear",
      {{f32({7}, x)}, {f32({}, {2.0f})}, {tensor<std::uint8_t>(DType::float8e5m2, {}, {0})}});
  EXPECT_EQ(float8e5m2::from_bits(values_of<std::uint8_t>(r.outputs[0])[3]).to_float(),
            49152.0f);  // test_quantizelinear_e5m2
  // Past the largest finite value (57344): saturate 0 gives infinity, as Cast does.
  r = run_node("QuantizeLinear",
               {{f32({2}, {1e6f, -1e6f})},
                {f32({}, {2.0f})},
                {tensor<std::uint8_t>(DType::float8e5m2, {}, {0})}},
               {{"saturate", I(0)}});
  EXPECT_EQ(float8e5m2::from_bits(values_of<std::uint8_t>(r.outputs[0])[0]).to_float(),
            std::numeric_limits<float>::infinity());
  EXPECT_EQ(float8e5m2::from_bits(values_of<std::uint8_t>(r.outputs[0])[1]).to_float(),
            -std::numeric_limits<float>::infinity());
  // Dequantize back (ONNX's test_dequantizelinear_e4m3fn: axis 0 with a 1-D scale of 1).
  r = run_node("DequantizeLinear",
               {{tensor<std::uint8_t>(DType::float8e4m3fn, {5}, {0x00, 0x38, 0x40, 0x7E, 0x6C})},
                {f32({1}, {2.0f})}},
               {{"axis", I(0)}});
  EXPECT_EQ(values_of<float>(r.outputs[0]), (std::vector<float>{0.0f, 2.0f, 4.0f, 896.0f, 192.0f}));
}

TEST(DequantizeLinear, Int32AndHalfOutputs) {
  Result r = run_node(
      "DequantizeLinear",
      {{s32({4}, {std::numeric_limits<std::int32_t>::max(), -7, 0, 100})}, {f32({}, {0.5f})}});
  EXPECT_EQ(values_of<float>(r.outputs[0]),
            (std::vector<float>{static_cast<float>(std::numeric_limits<std::int32_t>::max()) * 0.5f,
                                -3.5f, 0.0f, 50.0f}));
  // float16 scale -> float16 output.
  r = run_node("DequantizeLinear",
               {{u8({3}, {0, 128, 255})},
                {tensor<std::uint16_t>(DType::float16, {}, {float16::from_float(0.25f).bits()})},
                {u8({}, {128})}});
  ASSERT_EQ(r.outputs[0].dtype(), DType::float16);
  std::vector<std::uint16_t> h = values_of<std::uint16_t>(r.outputs[0]);
  EXPECT_EQ(float16::from_bits(h[0]).to_float(), -32.0f);
  EXPECT_EQ(float16::from_bits(h[1]).to_float(), 0.0f);
  EXPECT_EQ(float16::from_bits(h[2]).to_float(), 31.75f);
}

TEST(QuantizeLinear, BadParametersAreRefusedAtBind) {
  EXPECT_ERROR_CONTAINS(
      run_node("QuantizeLinear", {{f32({2, 3}, std::vector<float>(6))}, {f32({2}, {1, 1})}}),
      "neither one value nor 1-D of size 3");
  EXPECT_ERROR_CONTAINS(
      run_node("QuantizeLinear",
               {{f32({2, 6}, std::vector<float>(12))}, {f32({2, 2}, {1, 1, 1, 1})}},
               {{"block_size", I(2)}}),
      "needs a scale shaped like it with 3 blocks");
  EXPECT_ERROR_CONTAINS(
      run_node("QuantizeLinear", {{f32({3}, std::vector<float>(3))}, {f32({3}, {1, 1, 1})}},
               {{"axis", I(1)}}),
      "axis 1 is outside");
  EXPECT_ERROR_CONTAINS(
      run_node("DequantizeLinear", {{u8({3}, {1, 2, 3})}, {f32({}, {1})}, {s8({}, {0})}}),
      "x_zero_point is int8 but x is uint8");
}

// ---- DynamicQuantizeLinear ----

TEST(DynamicQuantizeLinear, OnnxDefinitionAndAnAllZeroTensor) {
  // ONNX's test_dynamicquantizelinear: range [0, 255] -> scale 1, zero point 0.
  Result r = run_node("DynamicQuantizeLinear", {{f32({6}, {0, 2, -3, -2.5f, 1.34f, 0.5f})}}, {}, 3);
  float scale = values_of<float>(r.outputs[1])[0];
  EXPECT_EQ(scale, (2.0f + 3.0f) / 255.0f);
  std::uint8_t zp = values_of<std::uint8_t>(r.outputs[2])[0];
  EXPECT_EQ(zp, static_cast<std::uint8_t>(std::nearbyint(3.0f / scale)));
  r = run_node("DynamicQuantizeLinear", {{f32({3}, {0.0f, 0.0f, std::nanf("")})}}, {}, 3);
  EXPECT_EQ(values_of<float>(r.outputs[1])[0], 1.0f);  // never 0
  EXPECT_EQ(values_of<std::uint8_t>(r.outputs[2])[0], 0);
  EXPECT_EQ(values_of<std::uint8_t>(r.outputs[0]), (std::vector<std::uint8_t>{0, 0, 0}));
  // Only positive values: the range still includes 0, zero point 0.
  r = run_node("DynamicQuantizeLinear", {{f32({2}, {1.0f, 51.0f})}}, {}, 3);
  EXPECT_EQ(values_of<float>(r.outputs[1])[0], 51.0f / 255.0f);
  EXPECT_EQ(values_of<std::uint8_t>(r.outputs[2])[0], 0);
  EXPECT_EQ(values_of<std::uint8_t>(r.outputs[0])[1], 255);
}

// ---- integer matrix products ----

template <class T>
std::int32_t at(const Tensor& t, std::size_t i) {
  return static_cast<std::int32_t>(t.values<T>()[i]);
}
std::int32_t int_at(const Tensor& t, std::size_t i) {
  return t.dtype() == DType::uint8 ? at<std::uint8_t>(t, i) : at<std::int8_t>(t, i);
}

// A [M, K] x B [K, N] with per-tensor a zero point and per-column b zero points, in int64.
std::vector<std::int64_t> integer_product(const Tensor& A, const Tensor& B, std::int32_t za,
                                          const Tensor* zb, std::size_t m, std::size_t k,
                                          std::size_t n) {
  std::vector<std::int64_t> y(m * n, 0);
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      std::int32_t z = zb ? int_at(*zb, zb->elements() == 1 ? 0 : j) : 0;
      for (std::size_t kk = 0; kk < k; ++kk) {
        y[i * n + j] +=
            static_cast<std::int64_t>(int_at(A, i * k + kk) - za) * (int_at(B, kk * n + j) - z);
      }
    }
  }
  return y;
}

struct MatmulCase {
  DType a, b;
  std::size_t m, k, n;
  bool per_column_zp;
};

class MatMulIntegerPaths : public ::testing::TestWithParam<MatmulCase> {};

// With B constant the int8 GEMM runs; with B an input the reference; both equal the sums.
TEST_P(MatMulIntegerPaths, KernelAndReferenceAgreeWithExactSums) {
  const MatmulCase c = GetParam();
  Random rng(c.m * 1000 + c.k * 10 + c.n);
  auto A = random_tensor(c.a, Shape{static_cast<std::int64_t>(c.m), static_cast<std::int64_t>(c.k)},
                         rng);
  auto B = random_tensor(c.b, Shape{static_cast<std::int64_t>(c.k), static_cast<std::int64_t>(c.n)},
                         rng);
  // Narrow B's range so that B - zb fits s8 (the GEMM's condition) and sums stay exact.
  for (std::size_t i = 0; i < B->bytes(); ++i)
    B->raw()[i] = static_cast<std::byte>((static_cast<int>(B->raw()[i]) % 40) +
                                         (c.b == DType::uint8 ? 100 : -20));
  auto za = random_tensor(c.a, Shape{}, rng);
  auto zb = c.per_column_zp ? random_tensor(c.b, Shape{static_cast<std::int64_t>(c.n)}, rng)
                            : random_tensor(c.b, Shape{}, rng);
  for (std::size_t i = 0; i < zb->bytes(); ++i)
    zb->raw()[i] =
        static_cast<std::byte>(c.b == DType::uint8 ? 110 + i % 7 : -5 + static_cast<int>(i % 9));
  Result kernel = run_node("MatMulInteger", {{A}, {B, true}, {za, true}, {zb, true}});
  Result ref = run_node("MatMulInteger", {{A}, {B}, {za}, {zb}});
  EXPECT_NE(kernel.kernel.find("qgemm"), std::string::npos) << kernel.kernel;
  EXPECT_EQ(ref.kernel, "matmul_integer_ref");
  // A's zero point as a runtime input (DynamicQuantizeLinear's output): still the GEMM.
  Result runtime_za = run_node("MatMulInteger", {{A}, {B, true}, {za}, {zb, true}});
  EXPECT_NE(runtime_za.kernel.find("qgemm"), std::string::npos) << runtime_za.kernel;
  std::vector<std::int64_t> want = integer_product(*A, *B, int_at(*za, 0), zb.get(), c.m, c.k, c.n);
  std::vector<std::int32_t> got_k = values_of<std::int32_t>(kernel.outputs[0]);
  std::vector<std::int32_t> got_r = values_of<std::int32_t>(ref.outputs[0]);
  std::vector<std::int32_t> got_z = values_of<std::int32_t>(runtime_za.outputs[0]);
  for (std::size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got_r[i], want[i]) << i;
    ASSERT_EQ(got_k[i], want[i]) << i;
    ASSERT_EQ(got_z[i], want[i]) << i;
  }

  // QLinearMatMul on the same operands: u8 and s8 outputs, per-column b scales.
  for (DType yt : {DType::uint8, DType::int8}) {
    auto sa = f32({}, {0.02f});
    std::vector<float> sbv(c.n);
    for (std::size_t j = 0; j < c.n; ++j) sbv[j] = 0.01f + 0.003f * static_cast<float>(j);
    auto sb = c.per_column_zp ? f32({static_cast<std::int64_t>(c.n)}, sbv) : f32({}, {0.013f});
    auto sy = f32({}, {0.05f});
    auto zy = yt == DType::uint8 ? u8({}, {117}) : s8({}, {-9});
    Result qk = run_node(
        "QLinearMatMul",
        {{A}, {sa, true}, {za, true}, {B, true}, {sb, true}, {zb, true}, {sy, true}, {zy, true}});
    Result qr = run_node("QLinearMatMul", {{A}, {sa}, {za}, {B}, {sb}, {zb}, {sy}, {zy}});
    EXPECT_NE(qk.kernel.find("qgemm"), std::string::npos) << qk.kernel;
    EXPECT_EQ(qr.kernel, "qlinear_matmul_ref");
    EXPECT_TRUE(same_bytes(qk.outputs[0], qr.outputs[0])) << dtype_name(yt);
    // The epilogue, written out: m = float(double(sa) sb / sy), round(float(acc) m) + zy.
    for (std::size_t i = 0; i < c.m; ++i) {
      for (std::size_t j = 0; j < c.n; ++j) {
        float s_b = c.per_column_zp ? sbv[j] : 0.013f;
        auto mult = static_cast<float>(0.02 * static_cast<double>(s_b) / 0.05);
        float v = static_cast<float>(want[i * c.n + j]) * mult;
        std::int32_t z = int_at(*zy, 0);
        std::int32_t lo = yt == DType::uint8 ? 0 : -128, hi = yt == DType::uint8 ? 255 : 127;
        std::int32_t q = static_cast<std::int32_t>(std::nearbyint(v)) + z;
        q = std::min(std::max(q, lo), hi);
        ASSERT_EQ(int_at(qr.outputs[0], i * c.n + j), q) << i << "," << j;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, MatMulIntegerPaths,
                         ::testing::Values(MatmulCase{DType::uint8, DType::int8, 1, 1, 1, false},
                                           MatmulCase{DType::uint8, DType::uint8, 3, 7, 5, true},
                                           MatmulCase{DType::int8, DType::int8, 17, 33, 16, true},
                                           MatmulCase{DType::int8, DType::uint8, 5, 64, 31, false},
                                           MatmulCase{DType::uint8, DType::int8, 9, 130, 17,
                                                      true}));

TEST(MatMulInteger, BatchedBroadcastAndPerRowZeroPoints) {
  Random rng(5);
  auto A = random_tensor(DType::uint8, Shape{2, 1, 3, 4}, rng);
  auto B = random_tensor(DType::int8, Shape{3, 4, 2}, rng);
  auto za = u8({3}, {1, 200, 7});                  // per row of A
  auto zb = s8({3, 1, 2}, {1, -1, 2, -2, 3, -3});  // per batch and column of B
  Result r = run_node("MatMulInteger", {{A}, {B}, {za}, {zb}});
  ASSERT_EQ(r.outputs[0].shape(), (Shape{2, 3, 3, 2}));
  std::vector<std::int32_t> y = values_of<std::int32_t>(r.outputs[0]);
  for (std::size_t b0 = 0; b0 < 2; ++b0) {
    for (std::size_t b1 = 0; b1 < 3; ++b1) {
      for (std::size_t i = 0; i < 3; ++i) {
        for (std::size_t j = 0; j < 2; ++j) {
          std::int64_t s = 0;
          for (std::size_t kk = 0; kk < 4; ++kk) {
            s += static_cast<std::int64_t>(at<std::uint8_t>(*A, (b0 * 3 + i) * 4 + kk) -
                                           at<std::uint8_t>(*za, i)) *
                 (at<std::int8_t>(*B, (b1 * 4 + kk) * 2 + j) - at<std::int8_t>(*zb, b1 * 2 + j));
          }
          EXPECT_EQ(y[((b0 * 3 + b1) * 3 + i) * 2 + j], s);
        }
      }
    }
  }
}

// One session, A's zero point changing between runs: the GEMM's offsets follow it.
TEST(MatMulInteger, RuntimeZeroPointChangesBetweenRuns) {
  Random rng(8);
  auto B = random_tensor(DType::int8, Shape{24, 5}, rng);
  auto g = std::make_unique<ir::Graph>();
  ir::Value* a = g->add_value("a", ir::TensorType::of(DType::uint8, Shape{3, 24}));
  ir::Value* z = g->add_value("z", ir::TensorType::of(DType::uint8, Shape{}));
  g->inputs = {a, z};
  ir::Value* y = g->add_value("y");
  g->add_node("MatMulInteger", {a, g->add_constant("b", B), z}, {y});
  g->outputs = {y};
  Session session(std::move(g), {});
  auto A = random_tensor(DType::uint8, Shape{3, 24}, rng);
  for (std::uint8_t zero : {0, 200, 200, 17}) {
    auto Z = u8({}, {zero});
    std::vector<NamedInput> in = {{"a", A.get()}, {"z", Z.get()}};
    EXPECT_NE(session.plan_for(in).steps[0].op->kernel().find("qgemm"), std::string::npos);
    std::vector<std::int32_t> got = values_of<std::int32_t>(session.run(in)[0]);
    std::vector<std::int64_t> want = integer_product(*A, *B, zero, nullptr, 3, 24, 5);
    for (std::size_t i = 0; i < want.size(); ++i)
      ASSERT_EQ(got[i], want[i]) << "zero point " << int(zero);
  }
}

TEST(MatMulInteger, LargeSumsTakeTheReferenceAndStayExact) {
  // K = 4096 of 255 x -128: |sum| ~ 1.3e8 > 2^24, which fp32 would round.
  const std::size_t k = 4096;
  auto A = u8({1, static_cast<std::int64_t>(k)}, std::vector<std::uint8_t>(k, 255));
  auto B = s8({static_cast<std::int64_t>(k), 1}, std::vector<std::int8_t>(k, -128));
  Result r = run_node("MatMulInteger", {{A}, {B, true}});
  EXPECT_EQ(r.kernel, "matmul_integer_ref");
  EXPECT_EQ(values_of<std::int32_t>(r.outputs[0])[0], -255 * 128 * static_cast<std::int32_t>(k));
}

// ---- integer convolutions ----

struct ConvCase {
  DType x, y;
  int n, c, h, w, m, kh, kw, stride, pad, group, dilation;
  bool per_channel;
};

class ConvPaths : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvPaths, KernelAndReferenceAgree) {
  const ConvCase c = GetParam();
  Random rng(static_cast<std::uint64_t>(c.c * 100 + c.m * 10 + c.kh + c.group));
  auto X = random_tensor(c.x, Shape{c.n, c.c, c.h, c.w}, rng);
  auto W = random_tensor(DType::int8, Shape{c.m, c.c / c.group, c.kh, c.kw}, rng);
  for (std::size_t i = 0; i < W->bytes(); ++i)
    W->raw()[i] = static_cast<std::byte>(static_cast<int>(W->raw()[i]) % 50);
  auto zx = c.x == DType::uint8 ? u8({}, {131}) : s8({}, {-7});
  std::vector<std::int8_t> zwv(static_cast<std::size_t>(c.m));
  for (std::size_t i = 0; i < zwv.size(); ++i)
    zwv[i] = static_cast<std::int8_t>(static_cast<int>(i % 5) - 2);
  auto zw = c.per_channel ? s8({c.m}, zwv) : s8({}, {3});
  std::map<std::string, ir::Attribute> attrs = {{"strides", Is({c.stride, c.stride})},
                                                {"pads", Is({c.pad, c.pad, c.pad, c.pad})},
                                                {"dilations", Is({c.dilation, c.dilation})},
                                                {"group", I(c.group)}};
  Result ik = run_node("ConvInteger", {{X}, {W, true}, {zx, true}, {zw, true}}, attrs);
  Result ir_ = run_node("ConvInteger", {{X}, {W}, {zx}, {zw}}, attrs);
  EXPECT_NE(ik.kernel.find("conv2d_int8"), std::string::npos) << ik.kernel;
  EXPECT_EQ(ir_.kernel, "conv_integer_ref");
  EXPECT_TRUE(same_bytes(ik.outputs[0], ir_.outputs[0]));

  std::vector<float> wsv(static_cast<std::size_t>(c.m));
  for (std::size_t i = 0; i < wsv.size(); ++i) wsv[i] = 0.004f + 0.001f * static_cast<float>(i);
  auto ws = c.per_channel ? f32({c.m}, wsv) : f32({}, {0.006f});
  std::vector<std::int32_t> bias(static_cast<std::size_t>(c.m));
  for (std::size_t i = 0; i < bias.size(); ++i) bias[i] = static_cast<std::int32_t>(i * 37) - 300;
  auto B = s32({c.m}, bias);
  auto zy = c.y == DType::uint8 ? u8({}, {100}) : s8({}, {5});
  auto sx = f32({}, {0.03f}), sy = f32({}, {0.2f});
  Result qk = run_node("QLinearConv",
                       {{X},
                        {sx, true},
                        {zx, true},
                        {W, true},
                        {ws, true},
                        {zw, true},
                        {sy, true},
                        {zy, true},
                        {B, true}},
                       attrs);
  Result qr = run_node("QLinearConv", {{X}, {sx}, {zx}, {W}, {ws}, {zw}, {sy}, {zy}, {B}}, attrs);
  EXPECT_NE(qk.kernel.find("conv2d_int8"), std::string::npos) << qk.kernel;
  EXPECT_EQ(qr.kernel, "qlinear_conv_ref");
  EXPECT_TRUE(same_bytes(qk.outputs[0], qr.outputs[0]));
  // The requantization, written out over ConvInteger's exact sums.
  std::vector<std::int32_t> acc = values_of<std::int32_t>(ir_.outputs[0]);
  const std::size_t per = acc.size() / static_cast<std::size_t>(c.n * c.m);
  for (std::size_t i = 0; i < acc.size(); ++i) {
    std::size_t oc = (i / per) % static_cast<std::size_t>(c.m);
    float s_w = c.per_channel ? wsv[oc] : 0.006f;
    auto mult = static_cast<float>(0.03 * static_cast<double>(s_w) / 0.2);
    float v = static_cast<float>(acc[i] + bias[oc]) * mult;
    std::int32_t z = int_at(*zy, 0), lo = c.y == DType::uint8 ? 0 : -128,
                 hi = c.y == DType::uint8 ? 255 : 127;
    std::int32_t q = std::min(std::max(static_cast<std::int32_t>(std::nearbyint(v)) + z, lo), hi);
    ASSERT_EQ(int_at(qr.outputs[0], i), q) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ConvPaths,
    ::testing::Values(ConvCase{DType::uint8, DType::uint8, 1, 3, 8, 8, 4, 3, 3, 1, 1, 1, 1, true},
                      ConvCase{DType::int8, DType::int8, 2, 4, 7, 5, 6, 3, 3, 2, 1, 2, 1, false},
                      ConvCase{DType::uint8, DType::int8, 1, 8, 6, 6, 8, 3, 3, 1, 1, 8, 1, true},
                      ConvCase{DType::int8, DType::uint8, 1, 5, 9, 9, 7, 1, 1, 1, 0, 1, 1, true},
                      ConvCase{DType::uint8, DType::uint8, 1, 2, 9, 9, 3, 3, 3, 1, 2, 1, 2,
                               false}));

TEST(QLinearConv, OneDimensionalAndRuntimeWeights) {
  // 1-D: x [1, 2, 5], w [3, 2, 2], pads 1: checked against ConvInteger's sums.
  auto X = u8({1, 2, 5}, {1, 2, 3, 4, 5, 250, 240, 230, 220, 210});
  auto W = s8({3, 2, 2}, {1, -1, 2, 0, -3, 4, 5, -6, 7, 8, -9, 10});
  std::map<std::string, ir::Attribute> attrs = {{"pads", Is({1, 1})}};
  Result r = run_node("ConvInteger", {{X}, {W}, {u8({}, {128})}}, attrs);
  ASSERT_EQ(r.outputs[0].shape(), (Shape{1, 3, 6}));
  std::vector<std::int32_t> y = values_of<std::int32_t>(r.outputs[0]);
  for (int oc = 0; oc < 3; ++oc) {
    for (int p = 0; p < 6; ++p) {
      std::int32_t s = 0;
      for (int ch = 0; ch < 2; ++ch) {
        for (int t = 0; t < 2; ++t) {
          int i = p - 1 + t;
          if (i < 0 || i >= 5) continue;
          s += (at<std::uint8_t>(*X, static_cast<std::size_t>(ch * 5 + i)) - 128) *
               at<std::int8_t>(*W, static_cast<std::size_t>((oc * 2 + ch) * 2 + t));
        }
      }
      EXPECT_EQ(y[static_cast<std::size_t>(oc * 6 + p)], s) << oc << "," << p;
    }
  }
}

// ---- MatMulNBits ----

struct NBitsModel {
  int n, k, block;
  std::vector<std::uint8_t> u;   // [n][k] in [0, 15]
  std::vector<float> scales;     // [n][blocks]
  std::vector<std::uint8_t> zp;  // [n][blocks] in [0, 15], or empty
  int blocks() const { return (k + block - 1) / block; }

  std::shared_ptr<Tensor> packed_b() const {
    int blob = block / 2;
    std::vector<std::uint8_t> b(static_cast<std::size_t>(n * blocks() * blob), 0);
    for (int r = 0; r < n; ++r) {
      for (int kk = 0; kk < k; ++kk) {
        int g = kk / block, i = kk % block;
        b[static_cast<std::size_t>((r * blocks() + g) * blob + i / 2)] |=
            static_cast<std::uint8_t>(u[static_cast<std::size_t>(r * k + kk)] << (4 * (i % 2)));
      }
    }
    return u8({n, blocks(), blob}, b);
  }
  std::shared_ptr<Tensor> packed_zp() const {
    int per_row = (blocks() + 1) / 2;
    std::vector<std::uint8_t> z(static_cast<std::size_t>(n * per_row), 0);
    for (int r = 0; r < n; ++r) {
      for (int g = 0; g < blocks(); ++g) {
        z[static_cast<std::size_t>(r * per_row + g / 2)] |= static_cast<std::uint8_t>(
            zp[static_cast<std::size_t>(r * blocks() + g)] << (4 * (g % 2)));
      }
    }
    return u8({n * per_row}, z);
  }
  float weight(int r, int kk) const {
    int g = r * blocks() + kk / block;
    float z = zp.empty() ? 8.0f : static_cast<float>(zp[static_cast<std::size_t>(g)]);
    return (static_cast<float>(u[static_cast<std::size_t>(r * k + kk)]) - z) *
           scales[static_cast<std::size_t>(g)];
  }
};

NBitsModel nbits_model(int n, int k, int block, bool zero_points, Random& rng) {
  NBitsModel m{n, k, block, {}, {}, {}};
  m.u.resize(static_cast<std::size_t>(n * k));
  for (auto& v : m.u) v = static_cast<std::uint8_t>(rng.below(16));
  m.scales.resize(static_cast<std::size_t>(n * m.blocks()));
  for (auto& s : m.scales) s = rng.uniform(0.01f, 0.1f);
  if (zero_points) {
    m.zp.resize(m.scales.size());
    for (auto& z : m.zp) z = static_cast<std::uint8_t>(rng.below(16));
  }
  return m;
}

TEST(MatMulNBits, EveryPathComputesTheDequantizedProduct) {
  Random rng(21);
  const int rows = 3, n = 20, k = 80, block = 32;  // k not a multiple of the block
  std::vector<float> a(static_cast<std::size_t>(rows * k));
  for (float& v : a) v = rng.uniform(-1.0f, 1.0f);
  std::vector<float> bias(n);
  for (float& v : bias) v = rng.uniform(-1.0f, 1.0f);
  for (bool zp : {false, true}) {
    for (int accuracy : {0, 4}) {
      NBitsModel m = nbits_model(n, k, block, zp, rng);
      std::map<std::string, ir::Attribute> attrs = {{"K", I(k)},
                                                    {"N", I(n)},
                                                    {"bits", I(4)},
                                                    {"block_size", I(block)},
                                                    {"accuracy_level", I(accuracy)}};
      std::vector<In> ins = {{f32({1, rows, k}, a)},
                             {m.packed_b(), true},
                             {f32({n * m.blocks()}, m.scales), true},
                             {zp ? m.packed_zp() : nullptr, true},
                             {nullptr},
                             {f32({n}, bias), true}};
      Result r = run_node("MatMulNBits", ins, attrs, 1, "com.microsoft");
      ASSERT_EQ(r.outputs[0].shape(), (Shape{1, rows, n}));
      std::vector<float> y = values_of<float>(r.outputs[0]);
      // fp32 paths: the GEMM's k-order fp32 sums, within (k + 2) eps sum|a w|; the int4 x
      // int8 path (accuracy level 4) adds the activations' rounding, |a| <= 1 quantized with
      // scale <= 1/127: at most 0.5/127 per element, times sum|w|.
      for (int i = 0; i < rows; ++i) {
        for (int j = 0; j < n; ++j) {
          double want = bias[static_cast<std::size_t>(j)], mag = 0, wsum = 0;
          for (int kk = 0; kk < k; ++kk) {
            double w = m.weight(j, kk);
            want += static_cast<double>(a[static_cast<std::size_t>(i * k + kk)]) * w;
            mag += std::abs(a[static_cast<std::size_t>(i * k + kk)] * w);
            wsum += std::abs(w);
          }
          double tol = accuracy == 4
                           ? 0.5 / 127 * wsum + 1e-5
                           : (k + 2) * 1.2e-7 * (mag + std::abs(bias[static_cast<std::size_t>(j)]));
          EXPECT_NEAR(y[static_cast<std::size_t>(i * n + j)], want, tol)
              << r.kernel << " zp " << zp;
        }
      }
      if (accuracy == 4) {
        EXPECT_NE(r.kernel.find("q4dot"), std::string::npos) << r.kernel;
      } else {
        EXPECT_EQ(r.kernel.find("q4w") != std::string::npos, !zp) << r.kernel;
      }
    }
  }
}

TEST(MatMulNBits, BadWeightsAreRefusedAtBind) {
  Random rng(2);
  NBitsModel m = nbits_model(4, 32, 16, false, rng);
  std::map<std::string, ir::Attribute> attrs = {{"K", I(32)}, {"N", I(4)}, {"block_size", I(16)}};
  auto bad = attrs;
  bad["block_size"] = I(24);
  EXPECT_ERROR_CONTAINS(run_node("MatMulNBits",
                                 {{f32({1, 32}, std::vector<float>(32))},
                                  {m.packed_b(), true},
                                  {f32({8}, m.scales), true}},
                                 bad, 1, "com.microsoft"),
                        "block_size 24 is not a power of 2");
  EXPECT_ERROR_CONTAINS(
      run_node("MatMulNBits",
               {{f32({1, 32}, std::vector<float>(32))}, {m.packed_b()}, {f32({8}, m.scales), true}},
               attrs, 1, "com.microsoft"),
      "B (input 1) must be a constant");
  EXPECT_ERROR_CONTAINS(run_node("MatMulNBits",
                                 {{f32({1, 32}, std::vector<float>(32))},
                                  {m.packed_b(), true},
                                  {f32({7}, std::vector<float>(7, 1.0f)), true}},
                                 attrs, 1, "com.microsoft"),
                        "scales must be float32 with N x k_blocks = 8 values");
}

}  // namespace
}  // namespace lowp::runtime
