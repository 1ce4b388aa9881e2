// quant/recipe.h: a per-node precision recipe, so a mixed-precision model is versioned
// and replayable: `lowp tune --recipe-out R.json` writes the one it chose, `lowp quantize
// --recipe R.json` builds it again (and a user edits it by hand).
//
//   {"lowp_recipe": 1, "default": "int8", "nodes": {"/0/Conv": "fp32", "/9/Gemm": "bf16"}}
//
// "default" applies to every Conv / Gemm / MatMul the file does not name. Precisions:
// int8, bf16, fp32. A node the model does not have, a precision lowp does not know, or a
// malformed file is an error naming the file and the entry.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "ir/graph.h"
#include "quant/calibrate.h"
#include "quant/quantize_int8.h"

namespace lowp::quant {

struct Recipe {
  std::string default_precision = "int8";
  std::map<std::string, std::string> nodes;
};

Recipe read_recipe(const std::filesystem::path& path, const ir::Graph& model);
void write_recipe(const std::filesystem::path& path, const Recipe& recipe);

// Every Conv / Gemm / MatMul of `model` with its precision under the recipe.
std::map<std::string, std::string> recipe_layers(const Recipe& recipe, const ir::Graph& model);
bool recipe_needs_int8(const std::map<std::string, std::string>& layers);

// The model for an assignment node -> int8 / bf16 / fp32 (nodes not named stay fp32):
// bf16 weights first, then int8 QDQ from precomputed calibration ranges (calibrate_int8).
std::unique_ptr<ir::Graph> build_mixed_precision(const ir::Graph& model, const std::map<std::string, std::string>& layers,
                                                 const std::map<std::string, TensorStats>& int8_stats,
                                                 const Int8Options& int8, QuantizeReport& report);

}  // namespace lowp::quant
