// onnx/import.cc
#include "onnx/import.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <sstream>

#include "base/error.h"
#include "ir/verify.h"
#include "onnx/onnx_pb.h"
#include "onnx/tensor_proto.h"
#include "onnx/upgrade.h"

namespace lowp::onnx_io {
namespace {

namespace fs = std::filesystem;

// protobuf cannot parse a message of 2 GiB or more; larger weights go in external data.
constexpr std::size_t kMaxModelBytes = std::numeric_limits<int>::max();

class Importer {
 public:
  Importer(const std::string& name, fs::path dir) : source_{name, std::move(dir)} {}

  std::unique_ptr<ir::Graph> run(std::string_view bytes) {
    LOWP_CHECK(!bytes.empty(), "{}: the file is empty", source_.model_name);
    LOWP_CHECK(bytes.size() < kMaxModelBytes, "{}: {} bytes; a model file must stay under 2 GiB (use external data)",
               source_.model_name, bytes.size());
    onnx::ModelProto model;
    LOWP_CHECK(model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())),
               "{}: not a valid ONNX protobuf (truncated or corrupt file?)", source_.model_name);
    // Any protobuf parses as some ModelProto: insist on what a model must have.
    LOWP_CHECK(model.has_graph() && model.ir_version() > 0,
               "{}: not an ONNX model (no graph or no ir_version: a protobuf of another message?)",
               source_.model_name);
    graph_ = std::make_unique<ir::Graph>();
    read_opsets(model);
    read_graph(*model.mutable_graph());
    return std::move(graph_);
  }

 private:
  template <class... Args>
  [[noreturn]] void error(fmt::format_string<Args...> f, Args&&... args) {
    fail("{}: {}", source_.model_name, fmt::format(f, std::forward<Args>(args)...));
  }

  template <class... Args>
  [[noreturn]] void unsupported(fmt::format_string<Args...> f, Args&&... args) {
    fail_unsupported("{}: {}", source_.model_name, fmt::format(f, std::forward<Args>(args)...));
  }

  void read_opsets(const onnx::ModelProto& model) {
    for (const auto& o : model.opset_import()) {
      std::string domain = o.domain() == "ai.onnx" ? "" : o.domain();
      graph_->opsets[domain] = static_cast<int>(o.version());
    }
    if (model.opset_import_size() == 0) graph_->opsets[""] = 1;  // the spec's default
    int v = graph_->opsets.contains("") ? graph_->opsets[""] : ir::kIrOpset;
    if (v < ir::kMinImportOpset || v > ir::kIrOpset) {
      error("ai.onnx opset {} is outside the {}..{} that lowp imports", v, ir::kMinImportOpset, ir::kIrOpset);
    }
  }

  ir::TensorType read_type(const onnx::ValueInfoProto& info) {
    if (!info.has_type()) return {};
    const onnx::TypeProto& t = info.type();
    if (!t.has_tensor_type()) unsupported("value '{}' is not a tensor (sequences, maps and optionals are not supported)", info.name());
    const auto& tt = t.tensor_type();
    ir::TensorType out;
    if (tt.elem_type() != 0) {
      out.dtype = dtype_from_onnx(tt.elem_type());
      if (!out.dtype) unsupported("value '{}' has element type {}, which lowp does not support", info.name(), tt.elem_type());
    }
    if (tt.has_shape()) {
      std::vector<ir::Dim> dims;
      for (const auto& d : tt.shape().dim()) {
        if (d.has_dim_value()) {
          if (d.dim_value() < 0) error("value '{}' has a negative dimension {}", info.name(), d.dim_value());
          dims.push_back(ir::Dim::known(d.dim_value()));
        } else if (d.has_dim_param() && !d.dim_param().empty()) {
          dims.push_back(ir::Dim::named(d.dim_param()));
        } else {
          dims.emplace_back();
        }
      }
      out.dims = std::move(dims);
    }
    return out;
  }

  ir::Value* value(const std::string& name) {
    if (ir::Value* v = graph_->find_value(name)) return v;
    return graph_->add_value(name);
  }

  // Takes the graph mutable: initializers' raw_data are moved into the tensors.
  void read_graph(onnx::GraphProto& g) {
    graph_->name = g.name().empty() ? "main" : g.name();
    for (auto& init : *g.mutable_initializer()) {
      LOWP_CHECK(!init.name().empty(), "{}: an initializer has no name", source_.model_name);
      if (graph_->find_value(init.name())) error("initializer '{}' is defined twice", init.name());
      graph_->add_constant(init.name(), take_tensor_from_proto(init, source_));
    }
    LOWP_CHECK(g.sparse_initializer_size() == 0, "{}: sparse initializers are not supported", source_.model_name);
    for (const auto& in : g.input()) {
      ir::Value* v = graph_->find_value(in.name());
      if (v && v->is_constant()) continue;  // a default for an initializer: a constant
      if (v) error("graph input '{}' is listed twice", in.name());
      v = graph_->add_value(in.name(), read_type(in));
      graph_->inputs.push_back(v);
    }
    for (const auto& info : g.value_info()) {
      ir::Value* v = graph_->find_value(info.name());
      if (v && v->is_constant()) continue;
      if (!v) v = graph_->add_value(info.name());
      v->type = read_type(info);
    }
    int opset = graph_->opsets.contains("") ? graph_->opsets.at("") : ir::kIrOpset;
    std::size_t index = 0;
    for (const auto& n : g.node()) {
      read_node(n, opset, index++);
    }
    for (const auto& out : g.output()) {
      ir::Value* v = graph_->find_value(out.name());
      if (!v) error("graph output '{}' is never computed", out.name());
      ir::TensorType declared = read_type(out);
      if (!v->is_constant() && !v->type.dims) v->type.dims = declared.dims;
      if (!v->is_constant() && !v->type.dtype) v->type.dtype = declared.dtype;
      graph_->outputs.push_back(v);
    }
    graph_->sort_topologically();
    ir::verify(*graph_);
  }

  ir::Attribute read_attribute(const onnx::AttributeProto& a, const std::string& node) {
    using A = onnx::AttributeProto;
    ir::Attribute out;
    int type = a.type();
    if (type == A::UNDEFINED) {  // old writers left `type` unset: deduce it from the field
      if (a.has_f()) type = A::FLOAT;
      else if (a.has_i()) type = A::INT;
      else if (a.has_s()) type = A::STRING;
      else if (a.has_t()) type = A::TENSOR;
      else if (a.has_g()) type = A::GRAPH;
      else if (a.floats_size()) type = A::FLOATS;
      else if (a.ints_size()) type = A::INTS;
      else if (a.strings_size()) type = A::STRINGS;
      else type = A::INTS;  // an empty list
    }
    switch (type) {
      case A::FLOAT: return ir::Attribute::of_float(a.f());
      case A::INT: return ir::Attribute::of_int(a.i());
      case A::STRING: return ir::Attribute::of_string(a.s());
      case A::TENSOR: return ir::Attribute::of_tensor(tensor_from_proto(a.t(), source_));
      case A::FLOATS: return ir::Attribute::of_floats({a.floats().begin(), a.floats().end()});
      case A::INTS: return ir::Attribute::of_ints({a.ints().begin(), a.ints().end()});
      case A::STRINGS:
        out.kind = ir::Attribute::Kind::kStrings;
        out.strings.assign(a.strings().begin(), a.strings().end());
        return out;
      case A::GRAPH:
      case A::GRAPHS:
        out.kind = ir::Attribute::Kind::kGraph;  // subgraphs: the op is reported unsupported
        return out;
      default:
        error("node '{}': attribute '{}' has type {}, which lowp does not support", node, a.name(), type);
    }
  }

  // A Constant node becomes a constant value.
  void read_constant(const onnx::NodeProto& n, const std::string& label) {
    if (n.output_size() != 1 || n.attribute_size() != 1) error("Constant node '{}' needs one output and one attribute", label);
    const auto& a = n.attribute(0);
    ir::Attribute attr = read_attribute(a, label);
    std::shared_ptr<Tensor> t;
    if (a.name() == "value") {
      if (attr.kind != ir::Attribute::Kind::kTensor) error("Constant node '{}': value is not a tensor", label);
      t = std::const_pointer_cast<Tensor>(attr.t);
    } else if (a.name() == "value_float") {
      t = std::make_shared<Tensor>(DType::float32, Shape{});
      t->values<float>()[0] = attr.f;
    } else if (a.name() == "value_int") {
      t = std::make_shared<Tensor>(DType::int64, Shape{});
      t->values<std::int64_t>()[0] = attr.i;
    } else if (a.name() == "value_floats") {
      t = std::make_shared<Tensor>(DType::float32, Shape{static_cast<std::int64_t>(attr.floats.size())});
      std::copy(attr.floats.begin(), attr.floats.end(), t->values<float>().begin());
    } else if (a.name() == "value_ints") {
      t = std::make_shared<Tensor>(DType::int64, Shape{static_cast<std::int64_t>(attr.ints.size())});
      std::copy(attr.ints.begin(), attr.ints.end(), t->values<std::int64_t>().begin());
    } else {
      error("Constant node '{}': attribute '{}' is not supported", label, a.name());
    }
    // A node listed before this Constant (out of topological order) may already refer
    // to the value: it becomes the constant.
    if (ir::Value* v = graph_->find_value(n.output(0))) {
      bool is_input = std::find(graph_->inputs.begin(), graph_->inputs.end(), v) != graph_->inputs.end();
      if (v->producer || v->is_constant() || is_input) error("value '{}' is defined twice", n.output(0));
      v->type = ir::TensorType::of(t->dtype(), t->shape());
      v->constant = std::move(t);
      return;
    }
    graph_->add_constant(n.output(0), std::move(t));
  }

  void read_node(const onnx::NodeProto& n, int opset, std::size_t index) {
    std::string label = n.name().empty() ? fmt::format("#{} {}", index, n.op_type()) : n.name();
    std::string domain = n.domain() == "ai.onnx" ? "" : n.domain();
    if (domain.empty() && n.op_type() == "Constant") return read_constant(n, label);
    std::vector<ir::Value*> ins, outs;
    for (const auto& name : n.input()) ins.push_back(name.empty() ? nullptr : value(name));
    for (const auto& name : n.output()) {
      if (name.empty()) {
        outs.push_back(nullptr);
        continue;
      }
      ir::Value* v = value(name);
      if (v->producer || v->is_constant()) error("value '{}' is produced twice (second time by node '{}')", name, label);
      if (std::find(graph_->inputs.begin(), graph_->inputs.end(), v) != graph_->inputs.end()) {
        error("node '{}' writes graph input '{}'", label, name);
      }
      outs.push_back(v);
    }
    ir::Node* node = graph_->add_node(n.op_type(), std::move(ins), std::move(outs), n.name(), domain);
    for (const auto& a : n.attribute()) {
      if (a.name().empty()) error("node '{}' has an attribute without a name", label);
      node->attributes[a.name()] = read_attribute(a, label);
    }
    if (domain.empty()) upgrade_node(*graph_, *node, opset);
  }

  TensorSource source_;
  std::unique_ptr<ir::Graph> graph_;
};

}  // namespace

std::unique_ptr<ir::Graph> import_model(const fs::path& path) {
  std::error_code ec;
  LOWP_CHECK(fs::is_regular_file(path, ec), "{}: not a readable file", path.string());
  auto size = fs::file_size(path, ec);
  LOWP_CHECK(!ec, "{}: cannot read its size: {}", path.string(), ec.message());
  LOWP_CHECK(size < kMaxModelBytes, "{}: {} bytes; a model file must stay under 2 GiB (use external data)",
             path.string(), size);
  if (size == 0) return import_model_bytes({}, path.string(), path.parent_path());
  // Mapped, not read: protobuf parses straight from the page cache (one copy of the
  // weights fewer than reading the file into a buffer first).
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  LOWP_CHECK(fd >= 0, "{}: cannot open: {}", path.string(), std::strerror(errno));
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  LOWP_CHECK(map != MAP_FAILED, "{}: cannot map: {}", path.string(), std::strerror(errno));
  struct Unmap {
    void* p;
    std::size_t n;
    ~Unmap() { ::munmap(p, n); }
  } unmap{map, size};
  return import_model_bytes(std::string_view(static_cast<const char*>(map), size), path.string(), path.parent_path());
}

std::unique_ptr<ir::Graph> import_model_bytes(std::string_view bytes, const std::string& name,
                                              const fs::path& model_dir) {
  return Importer(name, model_dir).run(bytes);
}

}  // namespace lowp::onnx_io
