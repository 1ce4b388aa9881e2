// io/idx.cc: the IDX reader and the Fashion-MNIST loader (see idx.h).
#include "io/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/checked_math.h"
#include "base/error.h"

namespace lowp {
namespace {

constexpr std::uint32_t kImagesMagic = 0x00000803;
constexpr std::uint32_t kLabelsMagic = 0x00000801;
constexpr std::int64_t kImageSide = 28;
constexpr unsigned kClasses = 10;

// gzread takes and returns int: read at most this much per call.
constexpr std::size_t kMaxReadChunk = std::size_t{1} << 30;
static_assert(kMaxReadChunk <= INT_MAX);

// Owns a zlib file handle. gzopen/gzread read plain files too, as they are.
class GzFile {
 public:
  explicit GzFile(const std::filesystem::path& path) : name_(path.string()) {
    // Only regular files: gzopen on a FIFO or a device could block or never end.
    std::error_code error;
    std::filesystem::file_status status = std::filesystem::status(path, error);
    LOWP_CHECK(status.type() != std::filesystem::file_type::not_found, "{}: not found", name_);
    LOWP_CHECK(!error, "{}: cannot open: {}", name_, error.message());
    LOWP_CHECK(!std::filesystem::is_directory(status), "{}: is a directory, not an IDX file",
               name_);
    LOWP_CHECK(std::filesystem::is_regular_file(status), "{}: not a regular file", name_);
    errno = 0;
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr) {
      fail("{}: cannot open: {}", name_,
           errno != 0 ? std::generic_category().message(errno) : "out of memory");
    }
    gzbuffer(file_, 1u << 17);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;
  ~GzFile() { gzclose(file_); }

  // Reads up to out.size() bytes; fewer only at the end of the data. A zlib error (corrupt
  // stream, bad CRC, truncated gzip: "unexpected end of file") is thrown, with `what`.
  std::size_t read(std::span<std::byte> out, std::string_view what) {
    std::size_t done = 0;
    while (done < out.size()) {
      unsigned chunk = static_cast<unsigned>(std::min(out.size() - done, kMaxReadChunk));
      int n = gzread(file_, out.data() + done, chunk);
      if (n > 0) done += static_cast<std::size_t>(n);
      check_stream(what, done);
      if (n <= 0) break;
    }
    return done;
  }

  // Reads exactly out.size() bytes.
  void read_exact(std::span<std::byte> out, std::string_view what) {
    std::size_t done = read(out, what);
    LOWP_CHECK(done == out.size(), "{}: truncated: the data ends after {} of the {} bytes of {}",
               name_, done, out.size(), what);
  }

  const std::string& name() const { return name_; }

 private:
  void check_stream(std::string_view what, std::size_t done) {
    int code = Z_OK;
    const char* message = gzerror(file_, &code);
    if (code == Z_OK) return;
    std::string text = code == Z_ERRNO ? std::generic_category().message(errno)
                                       : std::string(message != nullptr ? message : "");
    // zlib prefixes its messages with the path given to gzopen; ours comes first already.
    if (text.starts_with(name_ + ": ")) text.erase(0, name_.size() + 2);
    if (code == Z_BUF_ERROR) {
      fail("{}: truncated gzip data ({}) after {} bytes of {}", name_, text, done, what);
    }
    fail("{}: corrupt gzip data ({}) after {} bytes of {}", name_, text, done, what);
  }

  std::string name_;
  gzFile file_ = nullptr;
};

std::uint32_t big_endian_u32(const std::byte* p) {
  return std::to_integer<std::uint32_t>(p[0]) << 24 | std::to_integer<std::uint32_t>(p[1]) << 16 |
         std::to_integer<std::uint32_t>(p[2]) << 8 | std::to_integer<std::uint32_t>(p[3]);
}

[[noreturn]] void not_installed(const std::filesystem::path& path) {
  fail(
      "{}: not found; install the Debian package dataset-fashion-mnist (apt-get install "
      "dataset-fashion-mnist), or set LOWP_FASHION_MNIST_DIR to a directory holding its "
      "four .gz files",
      path.string());
}

Dataset load_split(const std::filesystem::path& dir, std::string_view images_file,
                   std::string_view labels_file) {
  std::filesystem::path images_path = dir / images_file;
  std::filesystem::path labels_path = dir / labels_file;
  for (const std::filesystem::path& p : {images_path, labels_path}) {
    std::error_code error;
    if (std::filesystem::status(p, error).type() == std::filesystem::file_type::not_found) {
      not_installed(p);
    }
  }
  Dataset split{read_idx(images_path), read_idx(labels_path)};
  const Shape& images = split.images.shape();
  const Shape& labels = split.labels.shape();
  LOWP_CHECK(images.rank() == 3 && images[1] == kImageSide && images[2] == kImageSide,
             "{}: Fashion-MNIST images must be [n, {}, {}], found {}", images_path.string(),
             kImageSide, kImageSide, images.str());
  LOWP_CHECK(labels.rank() == 1, "{}: Fashion-MNIST labels must be [n], found {}",
             labels_path.string(), labels.str());
  LOWP_CHECK(images[0] == labels[0], "{} holds {} images but {} holds {} labels",
             images_path.string(), images[0], labels_path.string(), labels[0]);
  std::span<const std::uint8_t> values = split.labels.values<std::uint8_t>();
  auto bad =
      std::find_if(values.begin(), values.end(), [](std::uint8_t v) { return v >= kClasses; });
  LOWP_CHECK(bad == values.end(),
             "{}: label {} at index {} is out of range; Fashion-MNIST has {} classes (0 to {})",
             labels_path.string(), *bad, bad - values.begin(), kClasses, kClasses - 1);
  return split;
}

}  // namespace

Tensor read_idx(const std::filesystem::path& path) {
  GzFile file(path);
  const std::string& name = file.name();

  std::byte magic_bytes[4];
  std::size_t got = file.read(magic_bytes, "the IDX magic");
  LOWP_CHECK(got == sizeof magic_bytes, "{}: truncated IDX header: the file holds {} bytes", name,
             got);
  std::uint32_t magic = big_endian_u32(magic_bytes);
  LOWP_CHECK(magic == kImagesMagic || magic == kLabelsMagic,
             "{}: IDX magic 0x{:08x}, expected 0x{:08x} (uint8 images) or 0x{:08x} (uint8 labels)",
             name, magic, kImagesMagic, kLabelsMagic);

  std::size_t rank = magic & 0xff;
  std::vector<std::byte> dim_bytes(4 * rank);
  file.read_exact(dim_bytes, "the IDX dimensions");
  std::vector<std::int64_t> dims(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    dims[i] = big_endian_u32(dim_bytes.data() + 4 * i);
    LOWP_CHECK(dims[i] > 0, "{}: IDX dimension {} is 0; dimensions must be > 0", name, i);
  }
  std::string shape_text = fmt::format("[{}]", fmt::join(dims, ", "));
  std::size_t count = checked_product(dims, fmt::format("{}: IDX shape {}", name, shape_text));
  LOWP_CHECK(count <= kMaxIdxBytes, "{}: IDX shape {} holds {} bytes, over the limit of {} bytes",
             name, shape_text, count, kMaxIdxBytes);

  Tensor tensor(DType::uint8, Shape(std::move(dims)));
  file.read_exact(std::span(tensor.raw(), tensor.bytes()), "IDX data");
  // One byte more: finds trailing data, and makes zlib read and check the gzip trailer.
  std::byte extra[1];
  std::size_t trailing = file.read(extra, "the end of the IDX data");
  LOWP_CHECK(trailing == 0, "{}: trailing data after the {} bytes that IDX shape {} holds", name,
             count, shape_text);
  return tensor;
}

std::filesystem::path fashion_mnist_dir() {
  const char* dir = std::getenv("LOWP_FASHION_MNIST_DIR");
  if (dir != nullptr && *dir != '\0') return dir;
  return kDefaultFashionMnistDir;
}

FashionMnist load_fashion_mnist(const std::filesystem::path& dir) {
  std::error_code error;
  std::filesystem::file_status status = std::filesystem::status(dir, error);
  if (status.type() == std::filesystem::file_type::not_found) not_installed(dir);
  LOWP_CHECK(!error, "{}: cannot access the Fashion-MNIST directory: {}", dir.string(),
             error.message());
  LOWP_CHECK(std::filesystem::is_directory(status), "{}: not a directory", dir.string());
  return FashionMnist{load_split(dir, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
                      load_split(dir, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")};
}

}  // namespace lowp
