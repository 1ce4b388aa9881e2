// onnx/tensor_file.h: one serialized TensorProto in a file of its own (.pb), the format of
// the ONNX backend test data (test_data_set_N/input_K.pb, output_K.pb).
//
// The bytes are parsed as a TensorProto and go through tensor_from_proto, so a file gets
// the same checks as an initializer: element type, dims, data length; external data is
// looked up beside the file and confined to its folder.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "core/tensor.h"

namespace lowp::onnx_io {

struct NamedTensor {
  std::string name;  // the proto's name field, possibly empty
  std::shared_ptr<Tensor> tensor;
};

// Throws lowp::Error naming the file when it is missing, over 2 GiB, not a TensorProto or
// inconsistent; lowp::UnsupportedError for an element type lowp has no DType for.
NamedTensor read_tensor_file(const std::filesystem::path& path);

}  // namespace lowp::onnx_io
