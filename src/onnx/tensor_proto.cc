// onnx/tensor_proto.cc
#include "onnx/tensor_proto.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/checked_math.h"
#include "base/error.h"

namespace lowp::onnx_io {
namespace {

namespace fs = std::filesystem;

// The external file, resolved and confined to the model's folder.
fs::path resolve_external(const std::string& location, const TensorSource& src,
                          const std::string& tensor) {
  auto where = [&] { return fmt::format("{}: tensor '{}': external data '{}'", src.model_name, tensor, location); };
  LOWP_CHECK(!location.empty(), "{}: location is empty", where());
  fs::path rel(location);
  LOWP_CHECK(rel.is_relative() && !rel.has_root_name() && !rel.has_root_directory(),
             "{}: absolute paths are refused (external data must lie in the model's folder)", where());
  for (const fs::path& part : rel) {
    LOWP_CHECK(part != "..", "{}: '..' is refused (external data must lie in the model's folder)", where());
  }
  std::error_code ec;
  fs::path dir = fs::canonical(src.model_dir.empty() ? fs::path(".") : src.model_dir, ec);
  LOWP_CHECK(!ec, "{}: cannot resolve the model's folder: {}", where(), ec.message());
  fs::path full = fs::canonical(dir / rel, ec);
  LOWP_CHECK(!ec, "{}: cannot open: {}", where(), ec.message());
  // A symlink may still lead outside: compare the resolved paths.
  auto [d, f] = std::mismatch(dir.begin(), dir.end(), full.begin(), full.end());
  LOWP_CHECK(d == dir.end(), "{}: resolves to {}, outside the model's folder {}", where(), full.string(), dir.string());
  return full;
}

std::shared_ptr<Tensor> read_external(const onnx::TensorProto& proto, const TensorSource& src, DType dtype,
                                      const std::vector<std::int64_t>& dims, std::size_t need) {
  std::string location;
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;
  auto number = [&](const std::string& key, const std::string& text) {
    errno = 0;
    char* end = nullptr;
    unsigned long long v = std::strtoull(text.c_str(), &end, 10);
    LOWP_CHECK(!text.empty() && *end == '\0' && errno == 0 && text[0] != '-',
               "{}: tensor '{}': external data {} '{}' is not a byte count", src.model_name, proto.name(), key, text);
    return static_cast<std::uint64_t>(v);
  };
  for (const auto& kv : proto.external_data()) {
    if (kv.key() == "location") location = kv.value();
    else if (kv.key() == "offset") offset = number("offset", kv.value());
    else if (kv.key() == "length") length = number("length", kv.value());
  }
  fs::path path = resolve_external(location, src, proto.name());
  LOWP_CHECK(!length || *length == need,
             "{}: tensor '{}': external data length {} differs from the {} bytes its shape needs",
             src.model_name, proto.name(), *length, need);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  LOWP_CHECK(fd >= 0, "{}: tensor '{}': cannot open external data {}: {}", src.model_name, proto.name(), path.string(), std::strerror(errno));
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  std::uint64_t size = ok ? static_cast<std::uint64_t>(st.st_size) : 0;
  if (!ok || offset > size || need > size - offset) {
    ::close(fd);
    fail("{}: tensor '{}': external data {} holds {} bytes; offset {} + {} bytes runs past its end",
         src.model_name, proto.name(), path.string(), size, offset, need);
  }
  auto out = std::make_shared<Tensor>(dtype, Shape(dims), Tensor::Uninitialized{});
  std::size_t done = 0;
  while (done < need) {
    ssize_t got = ::pread(fd, out->raw() + done, need - done, static_cast<off_t>(offset + done));
    if (got <= 0) {
      ::close(fd);
      fail("{}: tensor '{}': reading external data {} failed", src.model_name, proto.name(), path.string());
    }
    done += static_cast<std::size_t>(got);
  }
  ::close(fd);
  return out;
}

template <class Field, class Store>
void copy_field(const Field& field, std::size_t elements, const std::string& what, Store store) {
  LOWP_CHECK(static_cast<std::size_t>(field.size()) == elements,
             "{} holds {} values, its shape needs {}", what, field.size(), elements);
  for (std::size_t i = 0; i < elements; ++i) store(i, field[static_cast<int>(i)]);
}

}  // namespace

namespace {

// `take`: the proto itself, when its raw_data may be moved into the tensor (no copy).
std::shared_ptr<Tensor> convert(const onnx::TensorProto& proto, const TensorSource& src, onnx::TensorProto* take) {
  std::string what = fmt::format("{}: tensor '{}'", src.model_name, proto.name());
  std::optional<DType> dtype = dtype_from_onnx(proto.data_type());
  if (!dtype) fail_unsupported("{}: element type {} is not supported", what, proto.data_type());
  if (proto.has_segment()) fail_unsupported("{}: segmented tensors are not supported", what);
  std::vector<std::int64_t> dims(proto.dims().begin(), proto.dims().end());
  for (std::int64_t d : dims) LOWP_CHECK(d >= 0, "{}: dimension {} is negative", what, d);
  std::size_t count = checked_product(dims, what);
  const std::size_t width = dtype_bits(*dtype) / 8;
  if (width < 1) fail_unsupported("{}: packed 4-bit tensors are not supported here", what);
  std::size_t bytes = checked_mul(count, width, what);
  // The data must be there before the tensor is allocated: a small file whose shape
  // implies terabytes gets an error, not an allocation.
  bool external = proto.data_location() == onnx::TensorProto_DataLocation_EXTERNAL;
  if (!external && proto.has_raw_data()) {
    LOWP_CHECK(proto.raw_data().size() == bytes, "{}: raw_data is {} bytes, shape {} of {} needs {}",
               what, proto.raw_data().size(), Shape(dims).str(), dtype_name(*dtype), bytes);
  } else if (!external) {
    std::size_t given = 0;
    switch (*dtype) {
      case DType::float32: given = static_cast<std::size_t>(proto.float_data_size()); break;
      case DType::float64: given = static_cast<std::size_t>(proto.double_data_size()); break;
      case DType::int64: given = static_cast<std::size_t>(proto.int64_data_size()); break;
      case DType::uint64:
      case DType::uint32: given = static_cast<std::size_t>(proto.uint64_data_size()); break;
      default: given = static_cast<std::size_t>(proto.int32_data_size()); break;
    }
    LOWP_CHECK(given == count, "{}: holds {} values, shape {} needs {}", what, given, Shape(dims).str(), count);
  }
  if (external) return read_external(proto, src, *dtype, dims, bytes);
  if (take && proto.has_raw_data()) {
    return std::make_shared<Tensor>(Tensor::adopt(*dtype, Shape(dims), std::move(*take->mutable_raw_data())));
  }
  // Every byte is written below (raw_data or one typed field of exactly `count` values).
  auto tensor = std::make_shared<Tensor>(*dtype, Shape(dims), Tensor::Uninitialized{});
  std::byte* out = tensor->raw();
  if (proto.has_raw_data()) {
    if (bytes != 0) std::memcpy(out, proto.raw_data().data(), bytes);
    return tensor;
  }
  auto put = [&]<class T>(std::size_t i, T v) { std::memcpy(out + i * sizeof(T), &v, sizeof(T)); };
  switch (*dtype) {
    case DType::float32:
      copy_field(proto.float_data(), count, what + " float_data", [&](std::size_t i, float v) { put(i, v); });
      break;
    case DType::float64:
      copy_field(proto.double_data(), count, what + " double_data", [&](std::size_t i, double v) { put(i, v); });
      break;
    case DType::int64:
      copy_field(proto.int64_data(), count, what + " int64_data", [&](std::size_t i, std::int64_t v) { put(i, v); });
      break;
    case DType::uint64:
      copy_field(proto.uint64_data(), count, what + " uint64_data", [&](std::size_t i, std::uint64_t v) { put(i, v); });
      break;
    case DType::uint32:
      copy_field(proto.uint64_data(), count, what + " uint64_data",
                 [&](std::size_t i, std::uint64_t v) { put(i, static_cast<std::uint32_t>(v)); });
      break;
    case DType::int32:
      copy_field(proto.int32_data(), count, what + " int32_data", [&](std::size_t i, std::int32_t v) { put(i, v); });
      break;
    case DType::int16:
    case DType::uint16:
    case DType::float16:
    case DType::bfloat16:
      copy_field(proto.int32_data(), count, what + " int32_data",
                 [&](std::size_t i, std::int32_t v) { put(i, static_cast<std::uint16_t>(v)); });
      break;
    case DType::int8:
    case DType::uint8:
    case DType::boolean:
    case DType::float8e4m3fn:
    case DType::float8e5m2:
      copy_field(proto.int32_data(), count, what + " int32_data",
                 [&](std::size_t i, std::int32_t v) { put(i, static_cast<std::uint8_t>(v)); });
      break;
    default:
      fail("{}: element type {} is not supported", what, dtype_name(*dtype));
  }
  return tensor;
}

}  // namespace

std::shared_ptr<Tensor> tensor_from_proto(const onnx::TensorProto& proto, const TensorSource& src) {
  return convert(proto, src, nullptr);
}

std::shared_ptr<Tensor> take_tensor_from_proto(onnx::TensorProto& proto, const TensorSource& src) {
  return convert(proto, src, &proto);
}

void tensor_to_proto(const Tensor& tensor, onnx::TensorProto& proto) {
  proto.set_data_type(static_cast<int>(tensor.dtype()));
  proto.clear_dims();
  for (std::int64_t d : tensor.shape().dims()) proto.add_dims(d);
  proto.set_raw_data(reinterpret_cast<const char*>(tensor.raw()), tensor.bytes());
}

}  // namespace lowp::onnx_io
