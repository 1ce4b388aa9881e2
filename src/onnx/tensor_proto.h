// onnx/tensor_proto.h: ONNX TensorProto <-> lowp Tensor, including external data.
//
// Reading checks everything a hostile file can lie about: the element type, negative or
// overflowing dims, data shorter or longer than the shape needs, external files outside
// the model's folder (absolute paths, "..", symlinks), offsets and lengths past the end.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "core/tensor.h"
#include "onnx/onnx_pb.h"

namespace lowp::onnx_io {

struct TensorSource {
  std::string model_name;           // for messages: the .onnx file
  std::filesystem::path model_dir;  // external data is resolved inside this folder
};

std::shared_ptr<Tensor> tensor_from_proto(const onnx::TensorProto& proto, const TensorSource& source);
// The same, moving raw_data out of `proto` into the tensor instead of copying it (the
// loader's initializers: no second copy of the weights, no second set of page faults).
std::shared_ptr<Tensor> take_tensor_from_proto(onnx::TensorProto& proto, const TensorSource& source);

// Fills `proto` (name set by the caller) with the tensor's type, dims and raw_data.
void tensor_to_proto(const Tensor& tensor, onnx::TensorProto& proto);

}  // namespace lowp::onnx_io
