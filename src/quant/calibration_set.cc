// quant/calibration_set.cc
#include "quant/calibration_set.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/error.h"
#include "io/npy.h"

namespace lowp::quant {
namespace fs = std::filesystem;

namespace {

std::string input_names(const ir::Graph& model) {
  std::string s;
  for (const ir::Value* v : model.inputs) s += (s.empty() ? "" : ", ") + v->name;
  return s;
}

}  // namespace

CalibrationSet CalibrationSet::open(const std::string& spec, const ir::Graph& model,
                                    std::size_t batch_rows, std::size_t max_samples) {
  LOWP_CHECK(batch_rows >= 1, "the calibration batch size must be at least 1");
  CalibrationSet set;
  std::string path = spec;
  auto eq = spec.find('=');
  const ir::Value* input = nullptr;
  if (eq != std::string::npos && eq > 0) {
    std::string name = spec.substr(0, eq);
    for (const ir::Value* v : model.inputs) {
      if (v->name == name) input = v;
    }
    if (!input)
      throw Error(fmt::format("calibration data '{}' names input '{}', but the model's inputs are: {}",
                              spec, name, input_names(model)));
    path = spec.substr(eq + 1);
  } else {
    std::vector<const ir::Value*> floats;
    for (const ir::Value* v : model.inputs) {
      if (v->type.dtype == DType::float32) floats.push_back(v);
    }
    if (floats.size() != 1)
      throw Error(fmt::format("the model has {} float inputs ({}): give calibration data as NAME=PATH",
                              floats.size(), input_names(model)));
    input = floats[0];
  }
  if (input->type.dtype != DType::float32)
    throw Error(fmt::format("input '{}' is not float32: calibration data feeds float inputs", input->name));
  set.input_ = input->name;
  set.input_type_ = input->type;
  set.source_ = path;

  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(path)) {
      if (e.path().extension() == ".npy") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) throw Error(fmt::format("calibration folder '{}' holds no .npy file", path));
    for (const fs::path& f : files) set.batches_.push_back({f, 0, 0});
  } else {
    if (!fs::exists(path, ec)) throw Error(fmt::format("calibration data '{}' does not exist", path));
    NpyHeader h = read_npy_header(path);
    set.check(path, h.dtype, h.shape);
    std::size_t rows = static_cast<std::size_t>(h.shape[0]);
    if (max_samples) rows = std::min(rows, max_samples);
    for (std::size_t r = 0; r < rows; r += batch_rows)
      set.batches_.push_back({path, r, std::min(batch_rows, rows - r)});
    set.header_ = std::move(h);
  }
  if (set.batches_.empty()) throw Error(fmt::format("calibration data '{}' holds no samples", path));
  set.counted_.assign(set.batches_.size(), false);
  return set;
}

void CalibrationSet::check(const fs::path& file, DType dtype, const Shape& shape) const {
  if (dtype != DType::float32)
    throw Error(fmt::format("calibration file '{}' holds {}, input '{}' takes float32", file.string(),
                            dtype_name(dtype), input_));
  if (input_type_.dims) {
    const auto& dims = *input_type_.dims;
    if (shape.rank() != dims.size())
      throw Error(fmt::format("calibration file '{}' has shape {}, input '{}' is {}", file.string(), shape.str(),
                              input_, input_type_.str()));
    for (std::size_t d = 1; d < dims.size(); ++d) {
      if (dims[d].is_known() && dims[d].value != shape[d])
        throw Error(fmt::format("calibration file '{}' has shape {}, input '{}' is {}: dimension {} differs",
                                file.string(), shape.str(), input_, input_type_.str(), d));
    }
  }
  if (shape.rank() == 0 || shape[0] == 0)
    throw Error(fmt::format("calibration file '{}' holds no samples (shape {})", file.string(), shape.str()));
}

Tensor CalibrationSet::load_checked(const fs::path& file) {
  Tensor t = read_npy(file);
  check(file, t.dtype(), t.shape());
  return t;
}

Tensor CalibrationSet::drop_non_finite(Tensor batch) {
  std::size_t rows = static_cast<std::size_t>(batch.shape()[0]);
  std::size_t width = batch.elements() / rows;
  auto v = batch.values<float>();
  std::size_t kept = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = v.data() + r * width;
    bool finite = std::all_of(row, row + width, [](float x) { return std::isfinite(x); });
    if (!finite) continue;
    if (kept != r) std::memmove(v.data() + kept * width, row, width * sizeof(float));
    ++kept;
  }
  if (kept == rows) return batch;
  std::vector<std::int64_t> dims = batch.shape().dims();
  dims[0] = static_cast<std::int64_t>(kept);
  Tensor out(DType::float32, Shape(dims), Tensor::Uninitialized{});
  if (kept) std::memcpy(out.raw(), batch.raw(), out.bytes());
  return out;
}

Tensor CalibrationSet::batch(std::size_t i) {
  LOWP_CHECK(i < batches_.size(), "calibration batch {} of {}", i, batches_.size());
  const BatchRef& ref = batches_[i];
  Tensor out;
  if (ref.count == 0) {
    out = load_checked(ref.file);
  } else {
    out = read_npy_rows(ref.file, *header_, ref.first, ref.count);
  }
  std::size_t before = static_cast<std::size_t>(out.shape()[0]);
  out = drop_non_finite(std::move(out));
  if (!counted_[i]) {
    counted_[i] = true;
    std::size_t after = static_cast<std::size_t>(out.shape()[0]);
    non_finite_rows_ += before - after;
    rows_ += after;
  }
  return out;
}

std::string CalibrationSet::description() const {
  return fmt::format("{} ({} batches for input '{}')", source_.string(), batches_.size(), input_);
}

}  // namespace lowp::quant
