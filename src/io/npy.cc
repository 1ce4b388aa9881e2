// io/npy.cc: the .npy reader and writer (see npy.h for the format and the rules).
#include "io/npy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <bit>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/checked_math.h"
#include "base/error.h"
#include "io/atomic_file.h"

namespace lowp {
namespace {

// The element bytes are copied as they are: both the files and the host are little-endian.
static_assert(std::endian::native == std::endian::little, ".npy I/O assumes a little-endian host");

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicBytes = 6;
constexpr std::size_t kAlignment = 64;            // numpy's ARRAY_ALIGN
constexpr std::size_t kGrowthAxisMaxDigits = 21;  // numpy's GROWTH_AXIS_MAX_DIGITS
constexpr std::size_t kMaxPreambleBytes = kMagicBytes + 2 + 4;

// The one table of the dtypes lowp maps to .npy: type code (descr without its byte-order
// character) and the byte-order character numpy writes for it.
struct NpyType {
  DType type;
  std::string_view code;
  char order;
};
constexpr NpyType kNpyTypes[] = {
    {DType::float32, "f4", '<'}, {DType::float16, "f2", '<'}, {DType::float64, "f8", '<'},
    {DType::int8, "i1", '|'},    {DType::uint8, "u1", '|'},   {DType::int16, "i2", '<'},
    {DType::uint16, "u2", '<'},  {DType::int32, "i4", '<'},   {DType::uint32, "u4", '<'},
    {DType::int64, "i8", '<'},   {DType::uint64, "u8", '<'},  {DType::boolean, "b1", '|'},
};

// numpy type codes that lowp does not read, named so the error says what the file holds.
struct ForeignType {
  std::string_view code;
  std::string_view name;
};
constexpr ForeignType kForeignTypes[] = {
    {"f16", "longdouble"}, {"c8", "complex64"}, {"c16", "complex128"}, {"O", "Python objects"},
};

std::string supported_list() {
  std::string list;
  for (const NpyType& t : kNpyTypes) {
    if (!list.empty()) list += ", ";
    list += fmt::format("'{}{}' ({})", t.order, t.code, dtype_name(t.type));
  }
  return list;
}

const NpyType* find_npy_type(DType type) {
  for (const NpyType& t : kNpyTypes) {
    if (t.type == type) return &t;
  }
  return nullptr;
}

// Shows one header character in a message; bytes outside printable ASCII as hex.
std::string show_char(char c) {
  if (c >= 0x20 && c < 0x7f) return fmt::format("'{}'", c);
  return fmt::format("byte 0x{:02x}", static_cast<unsigned char>(c));
}

// Header text for a message: at most 40 characters, non-printable bytes as \xNN.
std::string printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 40)) {
    if (c >= 0x20 && c < 0x7f) {
      out += c;
    } else {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    }
  }
  if (text.size() > 40) out += "...";
  return out;
}

DType resolve_descr(std::string_view descr, std::string_view name) {
  char order = '\0';
  std::string_view code = descr;
  if (!code.empty() && std::string_view("<>|=").find(code.front()) != std::string_view::npos) {
    order = code.front();
    code.remove_prefix(1);
  }
  for (const NpyType& t : kNpyTypes) {
    if (t.code != code) continue;
    if (dtype_bits(t.type) == 8) return t.type;  // one byte: the order is irrelevant
    LOWP_CHECK(order != '>',
               "{}: big-endian dtype '{}' is not supported; lowp reads little-endian .npy only "
               "(convert with a.astype('<{}'))",
               name, descr, code);
    LOWP_CHECK(order == '<',
               "{}: dtype '{}' does not state little-endian byte order; expected '<{}'", name,
               descr, code);
    return t.type;
  }
  std::string what;
  for (const ForeignType& f : kForeignTypes) {
    if (f.code == code) what = fmt::format(" ({})", f.name);
  }
  fail("{}: unsupported dtype '{}'{}; lowp reads {}", name, printable(descr), what,
       supported_list());
}

std::string shape_repr(std::span<const std::int64_t> dims) {
  if (dims.empty()) return "()";
  if (dims.size() == 1) return fmt::format("({},)", dims[0]);
  return fmt::format("({})", fmt::join(dims, ", "));
}

struct Header {
  DType type = DType::float32;
  std::vector<std::int64_t> dims;
};

// A parser for the one dict literal numpy writes; not a Python evaluator.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, std::string_view name) : text_(text), name_(name) {}

  Header parse() {
    std::optional<std::string> descr;
    std::optional<bool> fortran_order;
    std::optional<std::vector<std::int64_t>> dims;

    skip_space();
    if (!consume('{')) error("expected '{{' to open the header dict, found {}", found());
    while (true) {
      skip_space();
      if (consume('}')) break;
      if (!at_quote()) error("expected a quoted key or '}}', found {}", found());
      std::string key = parse_string();
      skip_space();
      if (!consume(':')) error("expected ':' after key '{}', found {}", printable(key), found());
      skip_space();
      if (key == "descr") {
        if (descr) error("duplicate key 'descr'");
        if (!at_quote()) {
          error("'descr' must be a string such as '<f4' (structured dtypes are not supported)");
        }
        descr = parse_string();
      } else if (key == "fortran_order") {
        if (fortran_order) error("duplicate key 'fortran_order'");
        fortran_order = parse_bool("fortran_order");
      } else if (key == "shape") {
        if (dims) error("duplicate key 'shape'");
        dims = parse_shape();
      } else {
        error("unknown key '{}' (expected 'descr', 'fortran_order' and 'shape')", printable(key));
      }
      skip_space();
      if (consume(',')) continue;
      if (consume('}')) break;
      error("expected ',' or '}}' after the value of '{}', found {}", key, found());
    }
    skip_space();
    if (pos_ != text_.size()) error("unexpected {} after the header dict", found());

    if (!descr) error("missing key 'descr'");
    if (!fortran_order) error("missing key 'fortran_order'");
    if (!dims) error("missing key 'shape'");
    LOWP_CHECK(!*fortran_order,
               "{}: fortran_order True is not supported; lowp reads C-order arrays (save "
               "np.ascontiguousarray(a) instead)",
               name_);
    return Header{resolve_descr(*descr, name_), std::move(*dims)};
  }

 private:
  template <class... Args>
  [[noreturn]] void error(fmt::format_string<Args...> format, Args&&... args) const {
    fail("{}: .npy header: {} (at header offset {})", name_,
         fmt::format(format, std::forward<Args>(args)...), pos_);
  }

  std::string found() const {
    return pos_ < text_.size() ? show_char(text_[pos_]) : std::string("the end of the header");
  }
  void skip_space() {
    while (pos_ < text_.size() &&
           std::string_view(" \t\r\n").find(text_[pos_]) != std::string_view::npos) {
      ++pos_;
    }
  }
  bool consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool at_quote() const {
    return pos_ < text_.size() && (text_[pos_] == '\'' || text_[pos_] == '"');
  }

  // A Python string literal in ' or " quotes, without escapes (numpy never writes any in
  // the keys or in a descr lowp could accept).
  std::string parse_string() {
    char quote = text_[pos_++];
    std::size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\') error("escape sequences are not supported in header strings");
      if (text_[pos_] == '\n') break;
      ++pos_;
    }
    if (pos_ >= text_.size() || text_[pos_] != quote) {
      pos_ = start - 1;
      error("unterminated string");
    }
    return std::string(text_.substr(start, pos_++ - start));
  }

  std::string_view identifier() {
    std::size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) {
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }

  bool parse_bool(std::string_view key) {
    std::size_t start = pos_;
    std::string_view word = identifier();
    if (word == "True") return true;
    if (word == "False") return false;
    pos_ = start;
    error("'{}' must be True or False, found {}", key, found());
  }

  // A tuple of non-negative integers: (), (3,), (3, 4), (3, 4,).
  std::vector<std::int64_t> parse_shape() {
    if (!consume('(')) error("'shape' must be a tuple such as (3, 4), found {}", found());
    std::vector<std::int64_t> dims;
    bool trailing_comma = false;
    while (true) {
      skip_space();
      if (consume(')')) break;
      dims.push_back(parse_dimension());
      skip_space();
      trailing_comma = consume(',');
      if (trailing_comma) continue;
      if (consume(')')) break;
      error("expected ',' or ')' in 'shape', found {}", found());
    }
    if (dims.size() == 1 && !trailing_comma) {
      error("'shape' ({}) is not a tuple; a 1-tuple is written ({},)", dims[0], dims[0]);
    }
    return dims;
  }

  // One dimension: decimal digits, optionally the 'L' of a Python 2 long. The token runs to
  // the next separator so that "-1", "3.0" or "n" are reported whole.
  std::int64_t parse_dimension() {
    std::size_t start = pos_;
    while (pos_ < text_.size() &&
           std::string_view(",)( \t\r\n").find(text_[pos_]) == std::string_view::npos) {
      ++pos_;
    }
    std::string_view token = text_.substr(start, pos_ - start);
    pos_ = start;
    if (token.empty()) error("empty dimension in 'shape', found {}", found());
    std::string_view digits = token;
    if (digits.back() == 'L' || digits.back() == 'l') digits.remove_suffix(1);
    bool negative = !digits.empty() && digits.front() == '-';
    if (negative) digits.remove_prefix(1);
    bool numeric = !digits.empty() && std::all_of(digits.begin(), digits.end(),
                                                  [](char c) { return c >= '0' && c <= '9'; });
    if (!numeric) {
      error("dimension '{}' is not a non-negative integer", printable(token));
    }
    if (negative) error("negative dimension {} in 'shape'", printable(token));
    std::int64_t value = 0;
    for (char c : digits) {
      if (__builtin_mul_overflow(value, 10, &value) ||
          __builtin_add_overflow(value, c - '0', &value)) {
        error("dimension {} in 'shape' is too large", printable(token));
      }
    }
    pos_ += token.size();
    return value;
  }

  std::string_view text_;
  std::string_view name_;
  std::size_t pos_ = 0;
};

struct Preamble {
  int major = 0;
  std::size_t header_offset = 0;  // where the header text starts
  std::size_t header_bytes = 0;
};

// `first` holds the first min(12, file_size) bytes of the file.
Preamble parse_preamble(std::span<const std::byte> first, std::size_t file_size,
                        std::string_view name) {
  LOWP_CHECK(file_size > 0, "{}: empty file; not a .npy file", name);
  LOWP_CHECK(first.size() >= kMagicBytes && std::memcmp(first.data(), kMagic, kMagicBytes) == 0,
             "{}: bad magic; not a .npy file (expected \\x93NUMPY at the start)", name);
  LOWP_CHECK(first.size() >= kMagicBytes + 2,
             "{}: truncated .npy preamble: file ends before the format version", name);
  auto byte_at = [&](std::size_t i) { return std::to_integer<std::size_t>(first[i]); };
  Preamble p;
  p.major = static_cast<int>(byte_at(6));
  int minor = static_cast<int>(byte_at(7));
  LOWP_CHECK((p.major == 1 || p.major == 2 || p.major == 3) && minor == 0,
             "{}: unsupported .npy format version {}.{} (lowp reads 1.0, 2.0 and 3.0)", name,
             p.major, minor);
  std::size_t length_bytes = p.major == 1 ? 2 : 4;
  p.header_offset = kMagicBytes + 2 + length_bytes;
  LOWP_CHECK(first.size() >= p.header_offset,
             "{}: truncated .npy preamble: file ends inside the header length", name);
  for (std::size_t i = 0; i < length_bytes; ++i) {
    p.header_bytes |= byte_at(kMagicBytes + 2 + i) << (8 * i);
  }
  LOWP_CHECK(p.header_bytes <= kMaxNpyHeaderBytes,
             "{}: .npy header length {} exceeds the limit of {} bytes", name, p.header_bytes,
             kMaxNpyHeaderBytes);
  LOWP_CHECK(p.header_bytes <= file_size - p.header_offset,
             "{}: .npy header length {} runs past the end of the file ({} bytes)", name,
             p.header_bytes, file_size);
  return p;
}

struct Layout {
  DType type;
  Shape shape;
  std::size_t data_offset;
  std::size_t data_bytes;
};

// Parses the header and checks that the file holds exactly the data it describes.
Layout parse_layout(const Preamble& p, std::string_view header_text, std::size_t file_size,
                    std::string_view name) {
  Header h = HeaderParser(header_text, name).parse();
  std::string what = fmt::format("{}: .npy shape {}", name, shape_repr(h.dims));
  std::size_t count = checked_product(h.dims, what);
  std::size_t itemsize = dtype_bits(h.type) / 8;
  std::size_t data_bytes = checked_mul(count, itemsize, what);
  std::size_t data_offset = p.header_offset + p.header_bytes;
  std::size_t available = file_size - data_offset;
  LOWP_CHECK(available >= data_bytes,
             "{}: .npy data is {} bytes, shorter than the {} bytes that shape {} of {} needs "
             "(truncated file?)",
             name, available, data_bytes, shape_repr(h.dims), dtype_name(h.type));
  LOWP_CHECK(available == data_bytes,
             "{}: {} trailing bytes after the {} bytes of data that shape {} of {} needs", name,
             available - data_bytes, data_bytes, shape_repr(h.dims), dtype_name(h.type));
  return Layout{h.type, Shape(std::move(h.dims)), data_offset, data_bytes};
}

std::string_view as_text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// A read-only file descriptor that reads exactly what is asked or reports why not.
class InputFile {
 public:
  explicit InputFile(const std::filesystem::path& path) : path_(path) {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; regular files ignore it, and
    // anything else is refused by regular_file_size().
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd_ < 0) fail("{}: cannot open: {}", path.string(), errno_text());
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile() { ::close(fd_); }

  std::size_t regular_file_size() {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) fail("{}: cannot stat: {}", path_.string(), errno_text());
    LOWP_CHECK(S_ISREG(st.st_mode), "{}: not a regular file", path_.string());
    return static_cast<std::size_t>(st.st_size);
  }

  // Reads up to out.size() bytes; fewer only at the end of the file.
  std::size_t read(std::span<std::byte> out) {
    std::size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::read(fd_, out.data() + done, out.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail("{}: read failed: {}", path_.string(), errno_text());
      }
      if (n == 0) break;
      done += static_cast<std::size_t>(n);
    }
    return done;
  }

 private:
  static std::string errno_text() { return std::generic_category().message(errno); }

  std::filesystem::path path_;
  int fd_ = -1;
};

std::vector<std::byte> header_block(const Tensor& tensor) {
  const NpyType* t = find_npy_type(tensor.dtype());
  LOWP_CHECK(t != nullptr, "tensor of {} has no .npy dtype; .npy holds {}",
             dtype_name(tensor.dtype()), supported_list());
  const std::vector<std::int64_t>& dims = tensor.shape().dims();
  // As numpy.save writes it: keys sorted, ", " after each value, then spare spaces so the
  // first dimension can grow in place, then space padding and '\n' up to a 64-byte boundary.
  std::string dict = fmt::format("{{'descr': '{}{}', 'fortran_order': False, 'shape': {}, }}",
                                 t->order, t->code, shape_repr(dims));
  if (!dims.empty()) {
    std::size_t digits = fmt::formatted_size("{}", dims[0]);
    dict.append(kGrowthAxisMaxDigits - std::min(digits, kGrowthAxisMaxDigits), ' ');
  }
  std::size_t text = dict.size() + 1;  // with the final '\n'
  int major = 1;
  std::size_t length_bytes = 2;
  std::size_t padding = kAlignment - (kMagicBytes + 2 + length_bytes + text) % kAlignment;
  if (text + padding > 0xffff) {
    major = 2;
    length_bytes = 4;
    padding = kAlignment - (kMagicBytes + 2 + length_bytes + text) % kAlignment;
  }
  std::size_t header_bytes = text + padding;
  LOWP_CHECK(header_bytes <= kMaxNpyHeaderBytes,
             ".npy header of {} bytes for shape {} exceeds "
             "the limit of {} bytes",
             header_bytes, tensor.shape().str(), kMaxNpyHeaderBytes);

  std::vector<std::byte> block;
  block.reserve(kMagicBytes + 2 + length_bytes + header_bytes);
  auto put = [&block](auto value) { block.push_back(static_cast<std::byte>(value)); };
  for (std::size_t i = 0; i < kMagicBytes; ++i) put(kMagic[i]);
  put(major);
  put(0);
  for (std::size_t i = 0; i < length_bytes; ++i) put((header_bytes >> (8 * i)) & 0xff);
  for (char c : dict) put(c);
  for (std::size_t i = 0; i < padding; ++i) put(' ');
  put('\n');
  return block;
}

}  // namespace

Tensor parse_npy(std::span<const std::byte> bytes, std::string_view name_for_errors) {
  std::string_view name = name_for_errors;
  Preamble p =
      parse_preamble(bytes.first(std::min(bytes.size(), kMaxPreambleBytes)), bytes.size(), name);
  Layout layout =
      parse_layout(p, as_text(bytes.subspan(p.header_offset, p.header_bytes)), bytes.size(), name);
  Tensor tensor(layout.type, std::move(layout.shape));
  if (layout.data_bytes > 0) {
    std::memcpy(tensor.raw(), bytes.data() + layout.data_offset, layout.data_bytes);
  }
  return tensor;
}

namespace {

// The preamble and header of an open .npy file, checked, and the preamble bytes read
// (which may run into the data: version 1.0 has a 10-byte preamble).
struct OpenedNpy {
  Preamble preamble;
  Layout layout;
  std::byte first[kMaxPreambleBytes];
  std::size_t got = 0;
};

void read_header(InputFile& file, std::size_t file_size, const std::string& name, OpenedNpy& o) {
  o.got = file.read(std::span(o.first, std::min(file_size, kMaxPreambleBytes)));
  o.preamble = parse_preamble(std::span(o.first, o.got), file_size, name);
  const Preamble& p = o.preamble;
  std::string header(p.header_bytes, '\0');
  std::size_t early = o.got - std::min(o.got, p.header_offset);
  early = std::min(early, p.header_bytes);
  std::memcpy(header.data(), o.first + p.header_offset, early);
  std::size_t rest = p.header_bytes - early;
  LOWP_CHECK(file.read(std::as_writable_bytes(std::span(header.data() + early, rest))) == rest,
             "{}: file shrank while reading the .npy header", name);
  o.layout = parse_layout(p, header, file_size, name);
}

}  // namespace

Tensor read_npy(const std::filesystem::path& path) {
  std::string name = path.string();
  InputFile file(path);
  std::size_t file_size = file.regular_file_size();
  OpenedNpy o;
  read_header(file, file_size, name, o);
  Layout& layout = o.layout;
  // Any preamble bytes read past the header are data bytes.
  std::size_t consumed = std::max(o.got, layout.data_offset) - layout.data_offset;
  Tensor tensor(layout.type, std::move(layout.shape));
  std::span<std::byte> data(tensor.raw(), layout.data_bytes);
  LOWP_CHECK(consumed <= data.size(), "{}: file changed while reading", name);
  if (consumed > 0) std::memcpy(data.data(), o.first + layout.data_offset, consumed);
  std::size_t want = data.size() - consumed;
  LOWP_CHECK(file.read(data.subspan(consumed)) == want,
             "{}: .npy data ended early: the file shrank while it was being read", name);
  std::byte extra{};
  LOWP_CHECK(file.read(std::span(&extra, 1)) == 0,
             "{}: trailing bytes after the .npy data: the file grew while it was being read", name);
  return tensor;
}

NpyHeader read_npy_header(const std::filesystem::path& path) {
  InputFile file(path);
  OpenedNpy o;
  read_header(file, file.regular_file_size(), path.string(), o);
  return NpyHeader{o.layout.type, std::move(o.layout.shape), o.layout.data_offset};
}

Tensor read_npy_rows(const std::filesystem::path& path, const NpyHeader& header, std::size_t first, std::size_t count) {
  std::string name = path.string();
  LOWP_CHECK(header.shape.rank() >= 1, "{}: a scalar .npy has no rows", name);
  auto rows = static_cast<std::size_t>(header.shape[0]);
  LOWP_CHECK(first <= rows && count <= rows - first, "{}: rows [{}, {}) of {}", name, first, first + count, rows);
  std::vector<std::int64_t> dims = header.shape.dims();
  std::size_t row_bytes = rows == 0 ? 0 : header.shape.elements() / rows * (dtype_bits(header.dtype) / 8);
  dims[0] = static_cast<std::int64_t>(count);
  Tensor out(header.dtype, Shape(dims), Tensor::Uninitialized{});
  if (count == 0 || row_bytes == 0) return out;
  std::ifstream in(path, std::ios::binary);
  LOWP_CHECK(in.good(), "{}: cannot open", name);
  in.seekg(static_cast<std::streamoff>(header.data_offset + first * row_bytes));
  in.read(reinterpret_cast<char*>(out.raw()), static_cast<std::streamsize>(count * row_bytes));
  LOWP_CHECK(in.gcount() == static_cast<std::streamsize>(count * row_bytes), "{}: the file shrank while it was read", name);
  return out;
}

std::vector<std::byte> serialize_npy(const Tensor& tensor) {
  std::vector<std::byte> bytes = header_block(tensor);
  bytes.insert(bytes.end(), tensor.raw(), tensor.raw() + tensor.bytes());
  return bytes;
}

void write_npy(const std::filesystem::path& path, const Tensor& tensor) {
  std::vector<std::byte> header;
  try {
    header = header_block(tensor);
  } catch (const Error& e) {
    fail("{}: {}", path.string(), e.what());
  }
  write_file_atomically(path, [&](const ByteSink& sink) {
    sink(header);
    sink(std::span(tensor.raw(), tensor.bytes()));
  });
}

}  // namespace lowp
