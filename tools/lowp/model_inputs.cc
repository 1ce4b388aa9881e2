// tools/lowp/model_inputs.cc
#include "model_inputs.h"

#include <cstring>

#include "base/error.h"
#include "base/float_types.h"
#include "base/random.h"
#include "io/npy.h"

namespace lowp::cli {

std::vector<runtime::NamedInput> LoadedInputs::named() const {
  std::vector<runtime::NamedInput> out;
  for (std::size_t i = 0; i < names.size(); ++i) out.push_back({names[i], &tensors[i]});
  return out;
}

LoadedInputs load_inputs(const ir::Graph& graph, const std::vector<std::string>& specs) {
  LoadedInputs in;
  for (const std::string& spec : specs) {
    std::size_t eq = spec.find('=');
    std::string name, path;
    if (eq == std::string::npos) {
      LOWP_CHECK(graph.inputs.size() == 1,
                 "--input '{}': the model has {} inputs, so give NAME=FILE.npy", spec, graph.inputs.size());
      name = graph.inputs[0]->name;
      path = spec;
    } else {
      name = spec.substr(0, eq);
      path = spec.substr(eq + 1);
    }
    in.names.push_back(name);
    in.tensors.push_back(read_npy(path));
  }
  return in;
}

std::map<std::string, std::int64_t> parse_dims(const std::vector<std::string>& specs) {
  std::map<std::string, std::int64_t> dims;
  for (const std::string& spec : specs) {
    std::size_t eq = spec.find('=');
    LOWP_CHECK(eq != std::string::npos && eq > 0, "--dim '{}': expected NAME=VALUE", spec);
    std::string value = spec.substr(eq + 1);
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(value.c_str(), &end, 10);
    LOWP_CHECK(!value.empty() && *end == '\0' && errno == 0 && v >= 0 && v <= (1LL << 31),
               "--dim '{}': VALUE must be an integer in [0, 2^31]", spec);
    dims[spec.substr(0, eq)] = v;
  }
  return dims;
}

LoadedInputs synthetic_inputs(const ir::Graph& graph, const std::map<std::string, std::int64_t>& dims,
                              std::int64_t default_unknown) {
  LoadedInputs in;
  Random rng(1234);
  for (const ir::Value* v : graph.inputs) {
    LOWP_CHECK(v->type.dtype && v->type.dims, "input '{}' has no declared type; give it with --input", v->name);
    std::vector<std::int64_t> shape;
    for (const ir::Dim& d : *v->type.dims) {
      if (d.is_known()) {
        shape.push_back(d.value);
        continue;
      }
      auto it = dims.find(d.symbol);
      if (it != dims.end()) {
        shape.push_back(it->second);
      } else {
        LOWP_CHECK(default_unknown >= 0, "input '{}' has dimension '{}' ({}): give it with --dim {}=VALUE",
                   v->name, d.symbol.empty() ? "?" : d.symbol, v->type.str(), d.symbol.empty() ? "NAME" : d.symbol);
        shape.push_back(default_unknown);
      }
    }
    Tensor t(*v->type.dtype, Shape(shape));
    bool mask = v->name.find("mask") != std::string::npos;
    std::size_t n = t.elements();
    switch (t.dtype()) {
      case DType::float32:
        for (float& x : t.values<float>()) x = static_cast<float>(rng.uniform() * 2.0 - 1.0);
        break;
      case DType::float16:
        for (std::uint16_t& x : t.values<std::uint16_t>()) x = float16::from_float(static_cast<float>(rng.uniform() * 2.0 - 1.0)).bits();
        break;
      case DType::int64:
        for (std::int64_t& x : t.values<std::int64_t>()) x = mask ? 1 : static_cast<std::int64_t>(rng.next() % 100);
        break;
      case DType::int32:
        for (std::int32_t& x : t.values<std::int32_t>()) x = mask ? 1 : static_cast<std::int32_t>(rng.next() % 100);
        break;
      case DType::boolean:
        for (std::size_t i = 0; i < n; ++i) t.raw()[i] = std::byte(mask ? 1 : i % 2);
        break;
      default:
        for (std::size_t i = 0; i < t.bytes(); ++i) t.raw()[i] = std::byte(rng.next() % 100);
        break;
    }
    in.names.push_back(v->name);
    in.tensors.push_back(std::move(t));
  }
  return in;
}

std::string output_file_name(const std::string& value_name) {
  std::string out = value_name;
  for (char& c : out) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) c = '_';
  }
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out;
}

}  // namespace lowp::cli
