// tools/lowp/model_inputs.h: the inputs of `lowp run`, `lowp inspect MODEL.onnx` and
// `lowp bench MODEL.onnx`: NAME=FILE.npy pairs, and synthetic inputs for a model's
// declared types with symbolic dims bound by NAME=VALUE.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"
#include "runtime/session.h"

namespace lowp::cli {

struct LoadedInputs {
  std::vector<std::string> names;
  std::vector<Tensor> tensors;
  std::vector<runtime::NamedInput> named() const;
};

// "NAME=FILE.npy" each; a bare "FILE.npy" is allowed when the model has one input.
LoadedInputs load_inputs(const ir::Graph& graph, const std::vector<std::string>& specs);

// "NAME=VALUE" pairs binding symbolic dims (e.g. batch=8, sequence=128).
std::map<std::string, std::int64_t> parse_dims(const std::vector<std::string>& specs);

// Inputs of the declared types: unknown and symbolic dims from `dims` (a missing symbol is
// an error naming it, unless `default_unknown` >= 0 is given), values deterministic
// (floats in [-1, 1), integers in [0, 100), bools alternating, *mask* inputs all ones).
LoadedInputs synthetic_inputs(const ir::Graph& graph, const std::map<std::string, std::int64_t>& dims,
                              std::int64_t default_unknown = -1);

// A file name for an output value: characters outside [A-Za-z0-9._-] become '_'.
std::string output_file_name(const std::string& value_name);

}  // namespace lowp::cli
