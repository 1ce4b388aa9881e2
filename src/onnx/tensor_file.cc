// onnx/tensor_file.cc
#include "onnx/tensor_file.h"

#include <fstream>
#include <limits>

#include "base/error.h"
#include "onnx/onnx_pb.h"
#include "onnx/tensor_proto.h"

namespace lowp::onnx_io {

NamedTensor read_tensor_file(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  LOWP_CHECK(fs::is_regular_file(path, ec), "{}: not a readable file", path.string());
  std::uintmax_t size = fs::file_size(path, ec);
  LOWP_CHECK(!ec, "{}: cannot read its size: {}", path.string(), ec.message());
  // protobuf parses messages below 2 GiB only.
  LOWP_CHECK(size < static_cast<std::uintmax_t>(std::numeric_limits<int>::max()),
             "{}: {} bytes; a TensorProto file must stay under 2 GiB", path.string(), size);
  std::ifstream file(path, std::ios::binary);
  LOWP_CHECK(file.good(), "{}: cannot open", path.string());
  std::string bytes(static_cast<std::size_t>(size), '\0');
  file.read(bytes.data(), static_cast<std::streamsize>(size));
  LOWP_CHECK(static_cast<std::uintmax_t>(file.gcount()) == size, "{}: short read", path.string());
  onnx::TensorProto proto;
  LOWP_CHECK(proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())),
             "{}: not a serialized ONNX TensorProto (truncated or corrupt file?)", path.string());
  // Any bytes may parse as some message: a tensor has a data type.
  LOWP_CHECK(proto.data_type() != 0, "{}: not an ONNX TensorProto (no data_type)", path.string());
  TensorSource source{path.string(), path.parent_path()};
  return NamedTensor{proto.name(), tensor_from_proto(proto, source)};
}

}  // namespace lowp::onnx_io
