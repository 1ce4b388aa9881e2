// tests/io/npy_test.cc: .npy round trips for every dtype, headers as numpy writes them in
// versions 1.0, 2.0 and 3.0 (bytes built by hand here), and one error per malformation.
#include "io/npy.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "io_test_util.h"

namespace lowp {
namespace {

using testing::TempDir;
using testing::to_bytes;

// A .npy file from its parts: the header text is used exactly as given (no padding added),
// so the tests control every byte.
std::vector<std::byte> npy_bytes(int major, int minor, std::string_view header,
                                 std::span<const std::byte> data = {}) {
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += static_cast<char>(minor);
  std::size_t length_bytes = major == 1 ? 2 : 4;
  for (std::size_t i = 0; i < length_bytes; ++i) {
    out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  }
  out += header;
  std::vector<std::byte> bytes = to_bytes(out);
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

// Pads a header dict the way numpy does: spaces, then '\n', to a multiple of `align` bytes
// counting the preamble.
std::string padded(std::string dict, std::size_t preamble, std::size_t align) {
  std::size_t pad = align - (preamble + dict.size() + 1) % align;
  return dict + std::string(pad, ' ') + "\n";
}

std::vector<std::byte> zeros(std::size_t n) {
  return std::vector<std::byte>(n);
}

template <class T>
Tensor make_tensor(DType type, Shape shape, const std::vector<T>& values) {
  Tensor t(type, std::move(shape));
  std::span<T> out = t.values<T>();
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = values[i % values.size()];
  return t;
}

void expect_same(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.dtype(), b.dtype());
  EXPECT_EQ(a.shape(), b.shape()) << a.shape().str() << " vs " << b.shape().str();
  ASSERT_EQ(a.bytes(), b.bytes());
  if (a.bytes() > 0) {
    EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.bytes()), 0);
  }
}

std::vector<Shape> test_shapes() {
  return {
      Shape{},     Shape{0}, Shape{1}, Shape{7}, Shape{2, 3}, Shape{2, 0, 3}, Shape{3, 1, 4, 1, 5},
      Shape{12345}};
}

std::vector<Tensor> tensors_of_every_dtype(const Shape& shape) {
  const float inf = std::numeric_limits<float>::infinity();
  return {
      make_tensor<float>(DType::float32, shape,
                         {0.0f, -0.0f, 1.5f, -3.25e-38f, inf, -inf, std::nanf(""), 1e-45f}),
      make_tensor<std::uint16_t>(DType::float16, shape,
                                 {0x0000, 0x8000, 0x3c00, 0x7bff, 0x7c00, 0x7e00, 0x0001, 0xfbff}),
      make_tensor<std::int8_t>(DType::int8, shape, {-128, -1, 0, 1, 127}),
      make_tensor<std::uint8_t>(DType::uint8, shape, {0, 1, 128, 255}),
      make_tensor<std::int32_t>(DType::int32, shape,
                                {std::numeric_limits<std::int32_t>::min(), -1, 0, 7,
                                 std::numeric_limits<std::int32_t>::max()}),
      make_tensor<std::int64_t>(DType::int64, shape,
                                {std::numeric_limits<std::int64_t>::min(), -1, 0, 1 << 20,
                                 std::numeric_limits<std::int64_t>::max()}),
  };
}

TEST(Npy, RoundTripsEveryDtypeAndShapeInMemory) {
  for (const Shape& shape : test_shapes()) {
    for (const Tensor& t : tensors_of_every_dtype(shape)) {
      SCOPED_TRACE(std::string(dtype_name(t.dtype())) + " " + shape.str());
      std::vector<std::byte> bytes = serialize_npy(t);
      // numpy aligns the data to 64 bytes.
      EXPECT_EQ((bytes.size() - t.bytes()) % 64, 0u);
      expect_same(parse_npy(bytes, "mem.npy"), t);
    }
  }
}

TEST(Npy, RoundTripsEveryDtypeAndShapeThroughFiles) {
  TempDir dir;
  for (const Shape& shape : test_shapes()) {
    for (const Tensor& t : tensors_of_every_dtype(shape)) {
      SCOPED_TRACE(std::string(dtype_name(t.dtype())) + " " + shape.str());
      std::filesystem::path path = dir / "t.npy";
      write_npy(path, t);
      EXPECT_EQ(testing::read_bytes(path), serialize_npy(t));
      expect_same(read_npy(path), t);
    }
  }
  EXPECT_EQ(dir.entries(), std::set<std::string>{"t.npy"});
}

// Streaming rows (calibration sets): any slice of axis 0 equals the same rows of the
// whole array, for every dtype; the header is checked as read_npy checks it.
TEST(Npy, ReadsRowsWithoutTheRestOfTheFile) {
  TempDir dir;
  for (const Tensor& t : tensors_of_every_dtype(Shape{7, 3, 2})) {
    SCOPED_TRACE(dtype_name(t.dtype()));
    std::filesystem::path path = dir / "rows.npy";
    write_npy(path, t);
    NpyHeader h = read_npy_header(path);
    EXPECT_EQ(h.dtype, t.dtype());
    EXPECT_EQ(h.shape, t.shape());
    std::size_t row_bytes = t.bytes() / 7;
    for (auto [first, count] : {std::pair<std::size_t, std::size_t>{0, 7}, {2, 3}, {6, 1}, {7, 0}}) {
      Tensor rows = read_npy_rows(path, h, first, count);
      EXPECT_EQ(rows.shape()[0], static_cast<std::int64_t>(count));
      if (count) {
        EXPECT_EQ(0, std::memcmp(rows.raw(), t.raw() + first * row_bytes, count * row_bytes));
      }
    }
    EXPECT_THROW(read_npy_rows(path, h, 5, 3), Error);
  }
  std::filesystem::path bad = dir / "bad.npy";
  std::vector<std::byte> bytes = serialize_npy(tensors_of_every_dtype(Shape{4, 2})[0]);
  bytes.pop_back();  // shorter than the shape says
  testing::write_bytes(bad, bytes);
  EXPECT_THROW(read_npy_header(bad), Error);
}

TEST(Npy, ScalarHasOneElement) {
  Tensor scalar = make_tensor<float>(DType::float32, Shape{}, {2.5f});
  Tensor back = parse_npy(serialize_npy(scalar), "scalar.npy");
  EXPECT_EQ(back.shape().rank(), 0u);
  ASSERT_EQ(back.elements(), 1u);
  EXPECT_EQ(back.values<float>()[0], 2.5f);
}

// np.save(f, np.zeros((3, 4), np.float32)) with numpy >= 1.23, byte for byte: sorted keys,
// ", " after each value, 21 - len("3") = 20 spare spaces, then padding to 128 bytes.
TEST(Npy, SerializesExactlyAsNumpySaves) {
  std::string dict =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }" + std::string(20, ' ');
  std::string header = dict + std::string(38, ' ') + "\n";
  ASSERT_EQ(10 + header.size(), 128u);
  std::vector<std::byte> expected = npy_bytes(1, 0, header, zeros(48));
  EXPECT_EQ(serialize_npy(Tensor(DType::float32, Shape{3, 4})), expected);

  // A scalar has no spare spaces; one-byte types are written with '|'.
  std::string scalar = padded("{'descr': '|u1', 'fortran_order': False, 'shape': (), }", 10, 64);
  EXPECT_EQ(serialize_npy(Tensor(DType::uint8, Shape{})), npy_bytes(1, 0, scalar, zeros(1)));

  std::string vector = padded(
      "{'descr': '<i8', 'fortran_order': False, 'shape': (10,), }" + std::string(19, ' '), 10, 64);
  EXPECT_EQ(serialize_npy(Tensor(DType::int64, Shape{10})), npy_bytes(1, 0, vector, zeros(80)));
}

TEST(Npy, WritesVersion2WhenTheHeaderExceeds65535Bytes) {
  std::vector<std::int64_t> dims(22000, 1);
  Tensor t = make_tensor<std::int32_t>(DType::int32, Shape(dims), {42});
  std::vector<std::byte> bytes = serialize_npy(t);
  EXPECT_EQ(bytes[6], std::byte{2});
  EXPECT_EQ(bytes[7], std::byte{0});
  EXPECT_EQ((bytes.size() - 4) % 64, 0u);
  Tensor back = parse_npy(bytes, "wide.npy");
  expect_same(back, t);

  // Just under the limit stays version 1.0.
  EXPECT_EQ(serialize_npy(Tensor(DType::int32, Shape(std::vector<std::int64_t>(100, 1))))[6],
            std::byte{1});
}

TEST(Npy, RefusesToWriteDtypesNumpyLacks) {
  TempDir dir;
  EXPECT_ERROR_CONTAINS(serialize_npy(Tensor(DType::bfloat16, Shape{2})), "bfloat16");
  EXPECT_ERROR_CONTAINS(write_npy(dir / "x.npy", Tensor(DType::int4, Shape{2})),
                        (dir / "x.npy").string());
  EXPECT_TRUE(dir.entries().empty());
}

// Headers as different numpy versions wrote them, parsed from hand-built bytes.
TEST(Npy, ParsesHeadersOfAllThreeVersions) {
  std::vector<std::byte> data(2 * 3 * 4);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i);
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";

  struct Case {
    const char* what;
    int major;
    std::string header;
  };
  const Case cases[] = {
      // numpy < 1.14: 16-byte alignment, no spare spaces.
      {"1.0, 16-aligned", 1, padded(dict, 10, 16)},
      // numpy >= 1.23: 64-byte alignment with spare spaces for the first axis.
      {"1.0, 64-aligned", 1, padded(dict + std::string(20, ' '), 10, 64)},
      {"2.0", 2, padded(dict + std::string(20, ' '), 12, 64)},
      {"3.0", 3, padded(dict + std::string(20, ' '), 12, 64)},
      // Python 2 longs.
      {"1.0, Python 2", 1,
       padded("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", 10, 16)},
      // Tolerated spellings: double quotes, any key order, no trailing comma, odd spacing.
      {"double quotes", 1, "{\"shape\": (2, 3), \"fortran_order\": False, \"descr\": \"<f4\"}\n"},
      {"spaces", 2, "  {  'fortran_order' :False ,'shape':( 2 ,3 , ) ,'descr':'<f4'  ,  }  \t\n"},
      {"no newline", 3, "{'descr':'<f4','fortran_order':False,'shape':(2,3)}"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Tensor t = parse_npy(npy_bytes(c.major, 0, c.header, data), "numpy.npy");
    EXPECT_EQ(t.dtype(), DType::float32);
    EXPECT_EQ(t.shape(), (Shape{2, 3}));
    ASSERT_EQ(t.bytes(), data.size());
    EXPECT_EQ(std::memcmp(t.raw(), data.data(), data.size()), 0);
  }
}

TEST(Npy, ParsesOneTuplesScalarsAndByteOrderSpellings) {
  Tensor v = parse_npy(
      npy_bytes(1, 0, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }\n", zeros(12)),
      "v.npy");
  EXPECT_EQ(v.shape(), (Shape{3}));
  Tensor s = parse_npy(
      npy_bytes(1, 0, "{'descr': '<f2', 'fortran_order': False, 'shape': (), }\n", zeros(2)),
      "s.npy");
  EXPECT_EQ(s.dtype(), DType::float16);
  EXPECT_EQ(s.elements(), 1u);
  for (const char* descr : {"|u1", "<u1", ">u1", "=u1", "u1"}) {
    std::string header =
        std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (2,), }\n";
    EXPECT_EQ(parse_npy(npy_bytes(1, 0, header, zeros(2)), "b.npy").dtype(), DType::uint8) << descr;
  }
  EXPECT_EQ(parse_npy(npy_bytes(1, 0, "{'descr': '|i1', 'fortran_order': False, 'shape': (1,)}",
                                zeros(1)),
                      "i.npy")
                .dtype(),
            DType::int8);
  EXPECT_EQ(parse_npy(npy_bytes(1, 0, "{'descr': '<i8', 'fortran_order': False, 'shape': (1,)}",
                                zeros(8)),
                      "l.npy")
                .dtype(),
            DType::int64);
}

struct Malformed {
  const char* what;
  std::vector<std::byte> bytes;
  const char* phrase;
};

std::vector<Malformed> malformed_cases() {
  auto header = [](std::string_view dict, std::size_t data_bytes = 12) {
    return npy_bytes(1, 0, dict, zeros(data_bytes));
  };
  auto with_shape = [&](std::string_view shape, std::size_t data_bytes = 12) {
    return header("{'descr': '<f4', 'fortran_order': False, 'shape': " + std::string(shape) + "}",
                  data_bytes);
  };
  auto with_descr = [&](std::string_view descr) {
    return header("{'descr': " + std::string(descr) + ", 'fortran_order': False, 'shape': (3,)}");
  };
  const std::string good = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}";

  std::vector<std::byte> past_end = npy_bytes(1, 0, good);
  past_end[8] = std::byte{0xff};  // header length 0x00ff..: past the end
  std::vector<std::byte> huge_header = npy_bytes(2, 0, good);
  huge_header[10] = std::byte{0x20};  // header length 0x00200000 + ...: 2 MiB

  std::vector<Malformed> cases = {
      {"empty file", {}, "empty file"},
      {"random bytes", to_bytes("PK\x03\x04 this is a zip"), "bad magic"},
      {"magic only", to_bytes("\x93NUMPY"), "truncated .npy preamble"},
      {"short magic", to_bytes("\x93NUM"), "bad magic"},
      {"version 4.0", npy_bytes(4, 0, good, zeros(12)), "unsupported .npy format version 4.0"},
      {"version 1.1", npy_bytes(1, 1, good, zeros(12)), "unsupported .npy format version 1.1"},
      {"version 0.0", npy_bytes(0, 0, good, zeros(12)), "unsupported .npy format version 0.0"},
      {"length cut", to_bytes(std::string("\x93NUMPY\x02\x00\x10\x00", 10)),
       "ends inside the header length"},
      {"header past end", past_end, "runs past the end of the file"},
      {"header over cap", huge_header, "exceeds the limit of 1048576 bytes"},
      {"not a dict", header("[1, 2, 3]"), "expected '{' to open the header dict"},
      {"binary header", header("\xff\xfe"), "found byte 0xff"},
      {"empty header", header(""), "found the end of the header"},
      {"unclosed dict", header("{'descr': '<f4'"), "expected ',' or '}'"},
      {"text after dict", header(good + " x"), "unexpected 'x' after the header dict"},
      {"two dicts", header(good + good), "after the header dict"},
      {"unquoted key", header("{descr: '<f4'}"), "expected a quoted key"},
      {"missing colon", header("{'descr' '<f4'}"), "expected ':' after key 'descr'"},
      {"unterminated string", header("{'descr: '<f4'}"), "expected ':' after key 'descr: '"},
      {"unterminated value", header("{'descr': '<f4}"), "unterminated string"},
      {"escape", header("{'descr': '<\\x66'}"), "escape sequences are not supported"},
      {"missing shape", header("{'descr': '<f4', 'fortran_order': False}"), "missing key 'shape'"},
      {"missing descr", header("{'fortran_order': False, 'shape': (3,)}"), "missing key 'descr'"},
      {"missing fortran_order", header("{'descr': '<f4', 'shape': (3,)}"),
       "missing key 'fortran_order'"},
      {"unknown key", header("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'foo': 1}"),
       "unknown key 'foo'"},
      {"duplicate key",
       header("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}"),
       "duplicate key 'descr'"},
      {"duplicate shape",
       header("{'descr': '<f4', 'shape': (3,), 'fortran_order': False, 'shape': (3,)}"),
       "duplicate key 'shape'"},
      {"complex64", with_descr("'<c8'"), "unsupported dtype '<c8' (complex64)"},
      {"longdouble", with_descr("'<f16'"), "unsupported dtype '<f16' (longdouble)"},
      {"unicode", with_descr("'<U3'"), "unsupported dtype '<U3'"},
      {"empty descr", with_descr("''"), "unsupported dtype ''"},
      {"big-endian", with_descr("'>f4'"), "big-endian dtype '>f4' is not supported"},
      {"big-endian int64", with_descr("'>i8'"), "big-endian dtype '>i8'"},
      {"no byte order", with_descr("'|f4'"), "does not state little-endian byte order"},
      {"native byte order", with_descr("'f4'"), "does not state little-endian byte order"},
      {"structured", with_descr("[('a', '<f4')]"), "structured dtypes are not supported"},
      {"fortran order", header("{'descr': '<f4', 'fortran_order': True, 'shape': (3,)}"),
       "fortran_order True is not supported"},
      {"fortran order 1", header("{'descr': '<f4', 'fortran_order': 1, 'shape': (3,)}"),
       "'fortran_order' must be True or False"},
      {"fortran order lowercase", header("{'descr': '<f4', 'fortran_order': false, 'shape': (3,)}"),
       "'fortran_order' must be True or False"},
      {"shape as list", with_shape("[3]"), "'shape' must be a tuple"},
      {"shape not a tuple", with_shape("(3)"), "is not a tuple; a 1-tuple is written (3,)"},
      {"negative dimension", with_shape("(-1,)"), "negative dimension -1"},
      {"negative second dimension", with_shape("(3, -4)"), "negative dimension -4"},
      {"non-numeric dimension", with_shape("(n,)"), "dimension 'n' is not a non-negative integer"},
      {"float dimension", with_shape("(3.0,)"), "dimension '3.0' is not a non-negative integer"},
      {"hex dimension", with_shape("(0x3,)"), "dimension '0x3' is not"},
      {"nested tuple", with_shape("((3,),)"), "empty dimension"},
      {"empty dimension", with_shape("(3,,)"), "empty dimension"},
      {"unclosed shape", with_shape("(3 4)"), "expected ',' or ')' in 'shape'"},
      {"dimension too large", with_shape("(99999999999999999999,)"), "is too large"},
      {"count overflows", with_shape("(4294967296, 4294967296)"), "overflows"},
      {"bytes overflow", with_shape("(4611686018427387904,)"), "overflows"},
      {"count past int64", with_shape("(9223372036854775807, 3)"), "overflows"},
      {"data short", with_shape("(4,)", 12), "shorter than the 16 bytes"},
      {"no data", with_shape("(3,)", 0), "shorter than the 12 bytes"},
      {"tiny file asks for a lot", with_shape("(1000000000, 1000)", 12), "shorter than"},
      {"data long", with_shape("(2,)", 12), "4 trailing bytes"},
      {"zero-size with data", with_shape("(0, 3)", 1), "1 trailing bytes"},
  };
  return cases;
}

TEST(Npy, EveryMalformationIsOneErrorNamingTheFileAndTheRule) {
  for (const Malformed& c : malformed_cases()) {
    SCOPED_TRACE(c.what);
    std::string message = testing::error_message([&] { parse_npy(c.bytes, "case.npy"); });
    EXPECT_NE(message.find(c.phrase), std::string::npos)
        << "message: " << message << "\nexpected: " << c.phrase;
    EXPECT_EQ(message.rfind("case.npy: ", 0), 0u) << message;
  }
}

TEST(Npy, FilesGiveTheSameErrorsAsMemory) {
  TempDir dir;
  std::filesystem::path path = dir / "bad.npy";
  for (const Malformed& c : malformed_cases()) {
    SCOPED_TRACE(c.what);
    testing::write_bytes(path, c.bytes);
    std::string message = testing::error_message([&] { read_npy(path); });
    EXPECT_NE(message.find(c.phrase), std::string::npos)
        << "message: " << message << "\nexpected: " << c.phrase;
    EXPECT_EQ(message.rfind(path.string() + ": ", 0), 0u) << message;
  }
}

TEST(Npy, ReadsSmallAndOddlySizedFiles) {
  // Data bytes that arrive with the preamble (a header shorter than 2 bytes) are kept.
  TempDir dir;
  std::vector<std::byte> data = {std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
  std::vector<std::byte> bytes =
      npy_bytes(1, 0, "{'descr':'|u1','fortran_order':False,'shape':(4,)}", data);
  testing::write_bytes(dir / "small.npy", bytes);
  Tensor t = read_npy(dir / "small.npy");
  ASSERT_EQ(t.elements(), 4u);
  EXPECT_EQ(t.values<std::uint8_t>()[3], 4);
}

TEST(Npy, MissingFileAndDirectoryAreErrors) {
  TempDir dir;
  EXPECT_ERROR_CONTAINS(read_npy(dir / "absent.npy"), "No such file or directory");
  EXPECT_ERROR_CONTAINS(read_npy(dir.path()), "not a regular file");
  // A FIFO with no writer: refused at once, not waited on.
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  EXPECT_ERROR_CONTAINS(read_npy(dir / "fifo"), "not a regular file");
}

}  // namespace
}  // namespace lowp
