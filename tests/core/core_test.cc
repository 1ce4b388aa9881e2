// tests/core/core_test.cc: dtypes, shapes, tensors, quantization parameters, packed int4.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "base/error.h"
#include "core/dtype.h"
#include "core/int4.h"
#include "core/precision.h"
#include "core/quant_params.h"
#include "core/shape.h"
#include "core/tensor.h"

namespace lowp {
namespace {

TEST(DType, SizesNamesAndOnnxNumbers) {
  EXPECT_EQ(dtype_bits(DType::float32), 32u);
  EXPECT_EQ(dtype_bits(DType::bfloat16), 16u);
  EXPECT_EQ(dtype_bits(DType::int4), 4u);
  EXPECT_EQ(static_cast<int>(DType::float8e4m3fn), 17);  // ONNX TensorProto numbering
  EXPECT_EQ(static_cast<int>(DType::int4), 22);
  EXPECT_EQ(dtype_storage_bytes(DType::int4, 7), 4u);
  EXPECT_EQ(dtype_storage_bytes(DType::float16, 7), 14u);
  EXPECT_EQ(parse_dtype("bfloat16"), DType::bfloat16);
  EXPECT_FALSE(parse_dtype("float128").has_value());
  EXPECT_THROW(dtype_bits(static_cast<DType>(9999)), Error);
}

TEST(Shape, ValidatesOnConstruction) {
  Shape s{2, 3, 4};
  EXPECT_EQ(s.elements(), 24u);
  EXPECT_EQ(s.str(), "[2, 3, 4]");
  EXPECT_EQ(Shape{}.elements(), 1u);  // a scalar
  EXPECT_EQ((Shape{0, 5}).elements(), 0u);
  EXPECT_THROW((Shape{2, -1}), Error);
  EXPECT_THROW((Shape{1ll << 32, 1ll << 32, 1ll << 32}), Error);
}

TEST(Tensor, TypedAccessChecksWidth) {
  Tensor t(DType::float16, Shape{3});
  EXPECT_EQ(t.bytes(), 6u);
  EXPECT_EQ(t.values<std::uint16_t>().size(), 3u);
  EXPECT_THROW(t.values<float>(), Error);
  Tensor packed(DType::int4, Shape{5});
  EXPECT_EQ(packed.bytes(), 3u);
}

TEST(QuantParams, ValidateCountsRangesAndScales) {
  QuantParams p;
  p.storage = DType::int8;
  p.granularity = QuantGranularity::per_channel;
  p.axis = 0;
  p.scales = {0.1f, 0.2f};
  Shape w{2, 10};
  EXPECT_NO_THROW(p.validate(w, "w"));
  p.scales = {0.1f};
  EXPECT_THROW(p.validate(w, "w"), Error);
  p.scales = {0.1f, 0.0f};
  EXPECT_THROW(p.validate(w, "w"), Error);  // zero scale
  p.scales = {0.1f, NAN};
  EXPECT_THROW(p.validate(w, "w"), Error);
  p.scales = {0.1f, 0.2f};
  p.zero_points = {0, 200};
  EXPECT_THROW(p.validate(w, "w"), Error);  // outside int8
  // Groups of 4 along axis 1 of [2, 10]: 3 groups per row (4, 4, 2), 6 in all.
  QuantParams g;
  g.storage = DType::int4;
  g.granularity = QuantGranularity::per_group;
  g.axis = 1;
  g.group_size = 4;
  EXPECT_EQ(g.expected_count(w), 6u);
  g.group_size = 0;
  EXPECT_THROW(g.expected_count(w), Error);
  EXPECT_EQ(g.qmin(), -8);
  EXPECT_EQ(g.qmax(), 7);
}

TEST(Int4, PacksLowNibbleFirstAndRoundTrips) {
  std::vector<std::int8_t> v = {1, -2, 7, -8, 3};
  std::vector<std::uint8_t> packed = pack_int4(v);
  ASSERT_EQ(packed.size(), 3u);
  EXPECT_EQ(packed[0], 0xE1);  // -2 = 0xE in the high nibble, 1 in the low
  EXPECT_EQ(packed[1], 0x87);
  EXPECT_EQ(packed[2], 0x03);  // odd count: high nibble zero
  EXPECT_EQ(unpack_int4(packed, 5), v);
  EXPECT_THROW(unpack_int4(packed, 7), Error);  // 7 values need 4 bytes
  std::vector<std::int8_t> bad = {8};
  EXPECT_THROW(pack_int4(bad), Error);
}

TEST(Precision, Names) {
  for (Precision p : kAllPrecisions) EXPECT_EQ(parse_precision(precision_name(p)), p);
  EXPECT_FALSE(parse_precision("fp64").has_value());
}

}  // namespace
}  // namespace lowp

namespace lowp {
namespace {

TEST(Tensor, AdoptTakesBytesWithoutCopyAndCopiesOnWrite) {
  std::string bytes(16, '\0');
  float values[4] = {1.0f, -2.0f, 3.5f, 0.25f};
  std::memcpy(bytes.data(), values, sizeof(values));
  Tensor t = Tensor::adopt(DType::float32, Shape{2, 2}, std::move(bytes));
  EXPECT_EQ(t.bytes(), 16u);
  const Tensor& view = t;
  EXPECT_EQ(view.values<float>()[2], 3.5f);
  Tensor copy = t;  // shares the adopted bytes
  t.values<float>()[0] = 9.0f;  // the first write takes a private copy
  EXPECT_EQ(t.values<float>()[0], 9.0f);
  EXPECT_EQ(static_cast<const Tensor&>(copy).values<float>()[0], 1.0f);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.raw()) % kBufferAlignment, 0u);
  EXPECT_THROW(Tensor::adopt(DType::float32, Shape{5}, std::string(16, '\0')), Error);
}

}  // namespace
}  // namespace lowp
