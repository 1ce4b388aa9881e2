// tests/io/idx_test.cc: IDX files built here with zlib (good, corrupt, truncated, trailing,
// oversized), the Fashion-MNIST loader's checks on a small synthetic copy, and the real data
// set from /usr/share/datasets/fashion-mnist.
#include "io/idx.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <zlib.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io_test_util.h"

namespace lowp {
namespace {

using testing::TempDir;

std::vector<std::byte> idx_bytes(std::uint32_t magic, const std::vector<std::uint32_t>& dims,
                                 const std::vector<std::uint8_t>& data) {
  std::vector<std::byte> out;
  auto put32 = [&out](std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::byte>(v >> shift));
  };
  put32(magic);
  for (std::uint32_t d : dims) put32(d);
  for (std::uint8_t v : data) out.push_back(static_cast<std::byte>(v));
  return out;
}

std::vector<std::uint8_t> ramp(std::size_t n, unsigned modulo = 256) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>((i * 7 + 3) % modulo);
  return v;
}

void write_gz(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
  }
  ASSERT_EQ(gzclose(f), Z_OK);
}

void write_idx_gz(const std::filesystem::path& path, std::uint32_t magic,
                  const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& data) {
  write_gz(path, idx_bytes(magic, dims, data));
}

TEST(Idx, ReadsGzipImagesAndLabels) {
  TempDir dir;
  std::vector<std::uint8_t> pixels = ramp(3 * 4 * 5);
  write_idx_gz(dir / "images.gz", 0x803, {3, 4, 5}, pixels);
  Tensor images = read_idx(dir / "images.gz");
  EXPECT_EQ(images.dtype(), DType::uint8);
  EXPECT_EQ(images.shape(), (Shape{3, 4, 5}));
  std::span<const std::uint8_t> got = images.values<std::uint8_t>();
  EXPECT_EQ(std::vector<std::uint8_t>(got.begin(), got.end()), pixels);

  std::vector<std::uint8_t> labels = ramp(7, 10);
  write_idx_gz(dir / "labels.gz", 0x801, {7}, labels);
  Tensor l = read_idx(dir / "labels.gz");
  EXPECT_EQ(l.shape(), (Shape{7}));
  std::span<const std::uint8_t> lv = l.values<std::uint8_t>();
  EXPECT_EQ(std::vector<std::uint8_t>(lv.begin(), lv.end()), labels);
}

TEST(Idx, ReadsUncompressedFiles) {
  TempDir dir;
  std::vector<std::uint8_t> pixels = ramp(2 * 3 * 3);
  testing::write_bytes(dir / "images", idx_bytes(0x803, {2, 3, 3}, pixels));
  Tensor images = read_idx(dir / "images");
  EXPECT_EQ(images.shape(), (Shape{2, 3, 3}));
  EXPECT_EQ(images.values<std::uint8_t>()[17], pixels[17]);
}

TEST(Idx, ReadsAFileLargerThanZlibsBuffer) {
  TempDir dir;
  std::vector<std::uint8_t> pixels = ramp(500 * 28 * 28);
  write_idx_gz(dir / "big.gz", 0x803, {500, 28, 28}, pixels);
  Tensor images = read_idx(dir / "big.gz");
  std::span<const std::uint8_t> got = images.values<std::uint8_t>();
  EXPECT_TRUE(std::equal(got.begin(), got.end(), pixels.begin(), pixels.end()));
}

struct BadIdx {
  const char* what;
  std::vector<std::byte> bytes;
  const char* phrase;
};

TEST(Idx, MalformedContentIsOneErrorNamingTheFile) {
  const BadIdx cases[] = {
      {"empty", {}, "truncated IDX header: the file holds 0 bytes"},
      {"short magic", {std::byte{0}, std::byte{0}}, "truncated IDX header"},
      {"zero magic", idx_bytes(0, {}, {}), "IDX magic 0x00000000, expected 0x00000803"},
      {"int32 images", idx_bytes(0x0c03, {1, 1, 1}, {0, 0, 0, 0}), "IDX magic 0x00000c03"},
      {"rank 2", idx_bytes(0x802, {2, 2}, ramp(4)), "IDX magic 0x00000802"},
      {"little-endian magic", idx_bytes(0x03080000, {}, {}), "IDX magic 0x03080000"},
      {"dims cut", idx_bytes(0x803, {3, 4}, {}), "bytes of the IDX dimensions"},
      {"zero first dim", idx_bytes(0x803, {0, 28, 28}, {}), "IDX dimension 0 is 0"},
      {"zero last dim", idx_bytes(0x803, {5, 28, 0}, {}), "IDX dimension 2 is 0"},
      {"zero labels", idx_bytes(0x801, {0}, {}), "IDX dimension 0 is 0"},
      {"overflow", idx_bytes(0x803, {0xffffffff, 0xffffffff, 0xffffffff}, {}), "overflows"},
      {"over the cap", idx_bytes(0x803, {65536, 65536, 1}, {}),
       "holds 4294967296 bytes, over the limit of 1073741824 bytes"},
      {"just over the cap", idx_bytes(0x801, {(1u << 30) + 1}, {}), "over the limit"},
      {"short data", idx_bytes(0x803, {2, 2, 2}, ramp(7)), "after 7 of the 8 bytes of IDX data"},
      {"no data", idx_bytes(0x801, {5}, {}), "after 0 of the 5 bytes"},
      {"trailing byte", idx_bytes(0x801, {5}, ramp(6)), "trailing data after the 5 bytes"},
      {"trailing lots", idx_bytes(0x803, {1, 2, 2}, ramp(1000)), "trailing data"},
  };
  TempDir dir;
  for (const BadIdx& c : cases) {
    SCOPED_TRACE(c.what);
    for (bool gzip : {true, false}) {
      std::filesystem::path path = dir / (gzip ? "bad.gz" : "bad");
      if (gzip) {
        write_gz(path, c.bytes);
      } else {
        testing::write_bytes(path, c.bytes);
      }
      std::string message = testing::error_message([&] { read_idx(path); });
      EXPECT_NE(message.find(c.phrase), std::string::npos)
          << "gzip " << gzip << ", message: " << message << "\nexpected: " << c.phrase;
      EXPECT_EQ(message.rfind(path.string() + ": ", 0), 0u) << message;
    }
  }
}

TEST(Idx, TruncatedGzipIsAnError) {
  TempDir dir;
  std::filesystem::path whole = dir / "whole.gz";
  write_idx_gz(whole, 0x803, {40, 28, 28}, ramp(40 * 28 * 28, 251));
  std::vector<std::byte> gz = testing::read_bytes(whole);
  ASSERT_GT(gz.size(), 100u);
  std::filesystem::path cut = dir / "cut.gz";

  // Cut in half: the deflate stream ends early.
  testing::write_bytes(cut, std::span(gz).first(gz.size() / 2));
  EXPECT_ERROR_CONTAINS(read_idx(cut), "truncated gzip data");
  // Only the 8-byte trailer (CRC32, length) missing, or half of it: all the data inflates,
  // but the stream is incomplete.
  for (std::size_t missing : {8, 4, 1}) {
    SCOPED_TRACE(missing);
    testing::write_bytes(cut, std::span(gz).first(gz.size() - missing));
    EXPECT_ERROR_CONTAINS(read_idx(cut), "truncated gzip data");
  }
  // Just the gzip header.
  testing::write_bytes(cut, std::span(gz).first(10));
  EXPECT_ERROR_CONTAINS(read_idx(cut), cut.string());
}

TEST(Idx, CorruptGzipIsAnError) {
  TempDir dir;
  std::filesystem::path path = dir / "images.gz";
  write_idx_gz(path, 0x803, {10, 28, 28}, ramp(10 * 28 * 28));
  std::vector<std::byte> gz = testing::read_bytes(path);

  std::vector<std::byte> bad_crc = gz;
  bad_crc[gz.size() - 8] ^= std::byte{0x01};
  testing::write_bytes(path, bad_crc);
  EXPECT_ERROR_CONTAINS(read_idx(path), "corrupt gzip data (incorrect data check)");

  std::vector<std::byte> bad_length = gz;
  bad_length[gz.size() - 4] ^= std::byte{0x01};
  testing::write_bytes(path, bad_length);
  EXPECT_ERROR_CONTAINS(read_idx(path), "corrupt gzip data (incorrect length check)");

  std::vector<std::byte> bad_stream = gz;
  for (std::size_t i = 12; i < 40; ++i) bad_stream[i] = std::byte{0xff};
  testing::write_bytes(path, bad_stream);
  EXPECT_ERROR_CONTAINS(read_idx(path), "corrupt gzip data");
}

TEST(Idx, MissingFileIsAnError) {
  TempDir dir;
  EXPECT_ERROR_CONTAINS(read_idx(dir / "absent.gz"), (dir / "absent.gz").string() + ": not found");
  EXPECT_ERROR_CONTAINS(read_idx(dir.path()), "is a directory");
  // A FIFO with no writer would block gzopen forever.
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  EXPECT_ERROR_CONTAINS(read_idx(dir / "fifo"), "not a regular file");
  // The loader's directory must be a directory.
  testing::write_bytes(dir / "file", testing::to_bytes("x"));
  EXPECT_ERROR_CONTAINS(load_fashion_mnist(dir / "file"), "not a directory");
}

// A Fashion-MNIST directory in miniature: n_train and n_test examples.
struct MiniDataset {
  std::size_t n_train = 5;
  std::size_t n_test = 3;
  std::uint32_t side = 28;
  std::optional<std::uint32_t> n_test_labels;
  std::uint8_t label_modulo = 10;

  void write(const std::filesystem::path& dir) const {
    std::filesystem::create_directories(dir);
    auto n = [](std::size_t v) { return static_cast<std::uint32_t>(v); };
    write_idx_gz(dir / "train-images-idx3-ubyte.gz", 0x803, {n(n_train), side, side},
                 ramp(n_train * side * side));
    write_idx_gz(dir / "train-labels-idx1-ubyte.gz", 0x801, {n(n_train)},
                 ramp(n_train, label_modulo));
    write_idx_gz(dir / "t10k-images-idx3-ubyte.gz", 0x803, {n(n_test), side, side},
                 ramp(n_test * side * side));
    std::uint32_t labels = n_test_labels.value_or(n(n_test));
    write_idx_gz(dir / "t10k-labels-idx1-ubyte.gz", 0x801, {labels}, ramp(labels, label_modulo));
  }
};

TEST(FashionMnist, LoadsASyntheticCopy) {
  TempDir dir;
  MiniDataset{}.write(dir.path());
  FashionMnist data = load_fashion_mnist(dir.path());
  EXPECT_EQ(data.train.images.shape(), (Shape{5, 28, 28}));
  EXPECT_EQ(data.train.labels.shape(), (Shape{5}));
  EXPECT_EQ(data.test.images.shape(), (Shape{3, 28, 28}));
  EXPECT_EQ(data.test.labels.shape(), (Shape{3}));
  EXPECT_EQ(data.train.labels.values<std::uint8_t>()[1], (7 + 3) % 10);
}

TEST(FashionMnist, ChecksShapesCountsAndLabels) {
  TempDir dir;
  MiniDataset bad_side;
  bad_side.side = 27;
  bad_side.write(dir / "side");
  EXPECT_ERROR_CONTAINS(load_fashion_mnist(dir / "side"),
                        "train-images-idx3-ubyte.gz: Fashion-MNIST images must be [n, 28, 28], "
                        "found [5, 27, 27]");

  MiniDataset mismatch;
  mismatch.n_test_labels = 4;
  mismatch.write(dir / "mismatch");
  EXPECT_ERROR_CONTAINS(load_fashion_mnist(dir / "mismatch"),
                        "t10k-images-idx3-ubyte.gz holds 3 images but");

  MiniDataset labels;
  labels.label_modulo = 11;
  labels.n_train = 20;
  labels.write(dir / "labels");
  // ramp: (i * 7 + 3) % 11 is 10 first at i = 1.
  EXPECT_ERROR_CONTAINS(load_fashion_mnist(dir / "labels"),
                        "train-labels-idx1-ubyte.gz: label 10 at index 1 is out of range");

  MiniDataset swapped;
  swapped.write(dir / "swapped");
  std::filesystem::copy_file(dir / "swapped" / "t10k-labels-idx1-ubyte.gz",
                             dir / "swapped" / "train-images-idx3-ubyte.gz",
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_ERROR_CONTAINS(load_fashion_mnist(dir / "swapped"), "found [3]");
}

TEST(FashionMnist, MissingDataNamesTheDebianPackage) {
  TempDir dir;
  std::filesystem::path absent = dir / "fashion-mnist";
  std::string message = testing::error_message([&] { load_fashion_mnist(absent); });
  EXPECT_EQ(message.rfind(absent.string() +
                              ": not found; install the Debian package "
                              "dataset-fashion-mnist (apt-get install dataset-fashion-mnist)",
                          0),
            0u)
      << message;

  MiniDataset{}.write(dir / "partial");
  std::filesystem::remove(dir / "partial" / "t10k-labels-idx1-ubyte.gz");
  message = testing::error_message([&] { load_fashion_mnist(dir / "partial"); });
  EXPECT_NE(message.find("t10k-labels-idx1-ubyte.gz: not found"), std::string::npos) << message;
  EXPECT_NE(message.find("apt-get install dataset-fashion-mnist"), std::string::npos) << message;
}

// Sets an environment variable for one scope and restores the previous value.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(FashionMnist, EnvironmentVariableOverridesTheDefaultDirectory) {
  TempDir dir;
  MiniDataset mini;
  mini.n_train = 4;
  mini.write(dir.path());
  {
    ScopedEnv env("LOWP_FASHION_MNIST_DIR", dir.path().string());
    EXPECT_EQ(fashion_mnist_dir().string(), dir.path().string());
    FashionMnist data = load_fashion_mnist();
    EXPECT_EQ(data.train.images.shape()[0], 4);
  }
  {
    ScopedEnv env("LOWP_FASHION_MNIST_DIR", "");
    EXPECT_EQ(fashion_mnist_dir().string(), kDefaultFashionMnistDir);
  }
  {
    ScopedEnv env("LOWP_FASHION_MNIST_DIR", (dir / "nowhere").string());
    EXPECT_ERROR_CONTAINS(load_fashion_mnist(), (dir / "nowhere").string() + ": not found");
  }
}

std::array<std::size_t, 10> histogram(const Tensor& labels) {
  std::array<std::size_t, 10> counts{};
  for (std::uint8_t v : labels.values<std::uint8_t>()) ++counts.at(v);
  return counts;
}

TEST(FashionMnist, LoadsTheRealDataSet) {
  std::filesystem::path dir = fashion_mnist_dir();
  if (!std::filesystem::exists(dir)) {
    GTEST_SKIP() << dir << " is missing: apt-get install dataset-fashion-mnist";
  }
  FashionMnist data = load_fashion_mnist();
  EXPECT_EQ(data.train.images.shape(), (Shape{60000, 28, 28}));
  EXPECT_EQ(data.train.labels.shape(), (Shape{60000}));
  EXPECT_EQ(data.test.images.shape(), (Shape{10000, 28, 28}));
  EXPECT_EQ(data.test.labels.shape(), (Shape{10000}));
  std::array<std::size_t, 10> train_counts;
  train_counts.fill(6000);
  std::array<std::size_t, 10> test_counts;
  test_counts.fill(1000);
  EXPECT_EQ(histogram(data.train.labels), train_counts);
  EXPECT_EQ(histogram(data.test.labels), test_counts);
  // Real images, not zeros: pixels span the full 0..255 range.
  std::span<const std::uint8_t> pixels = data.test.images.values<std::uint8_t>();
  EXPECT_EQ(*std::max_element(pixels.begin(), pixels.end()), 255);
  EXPECT_EQ(*std::min_element(pixels.begin(), pixels.end()), 0);
}

}  // namespace
}  // namespace lowp
