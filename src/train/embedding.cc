// train/embedding.cc
#include "train/embedding.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"

namespace lowp::train {

Embedding::Embedding(std::string name, int num, int dim, Random& rng)
    : Layer(std::move(name)), num_(num), dim_(dim) {
  LOWP_CHECK(num >= 1 && dim >= 1, "{}: Embedding({}, {}) needs sizes of at least 1", this->name(),
             num, dim);
  weight_ = Param{this->name() + ".weight", {num, dim}, {}, {}, true};
  weight_.value.resize(static_cast<std::size_t>(num) * static_cast<std::size_t>(dim));
  for (std::size_t i = 0; i < weight_.value.size(); ++i) {
    float u1 = std::max(rng.uniform(), 1e-7f), u2 = rng.uniform();
    weight_.value[i] = std::sqrt(-2.0f * std::log(u1)) * std::cos(6.2831853f * u2);
  }
  weight_.grad.assign(weight_.value.size(), 0.0f);
}

std::vector<int> Embedding::output_shape(std::span<const int> in) const {
  LOWP_CHECK(in.size() == 2, "{}: Embedding takes token ids [N, T], not {}", name(), shape_str(in));
  return {in[0], in[1], dim_};
}

void Embedding::forward(const Batch& x, Batch& y, const Context&) {
  y.resize(output_shape(x.shape));
  const std::size_t dim = static_cast<std::size_t>(dim_);
  for (std::size_t i = 0; i < x.data.size(); ++i) {
    const float id = x.data[i];
    LOWP_CHECK(id >= 0.0f && id < static_cast<float>(num_) && id == std::floor(id),
               "{}: token id {} at position {} is not an integer in [0, {})", name(), id, i, num_);
    const float* row = weight_.value.data() + static_cast<std::size_t>(id) * dim;
    std::copy(row, row + dim, y.data.data() + i * dim);
  }
}

void Embedding::backward(const Batch& x, const Batch&, const Batch& dy, Batch* dx, const Context&) {
  LOWP_CHECK(dx == nullptr, "{}: Embedding must be the first layer: token ids have no gradient",
             name());
  const std::size_t dim = static_cast<std::size_t>(dim_);
  std::fill(weight_.grad.begin(), weight_.grad.end(), 0.0f);
  for (std::size_t i = 0; i < x.data.size(); ++i) {
    float* row = weight_.grad.data() + static_cast<std::size_t>(x.data[i]) * dim;
    const float* g = dy.data.data() + i * dim;
    for (std::size_t j = 0; j < dim; ++j) row[j] += g[j];
  }
}

ir::Value* Embedding::export_to(ir::Graph& graph, ir::Value* x) const {
  ir::Value* ids = export_value(graph, name() + "_ids");
  ir::Node* cast = graph.add_node("Cast", {x}, {ids}, graph.unique_name(name() + "_cast"));
  cast->attributes["to"] = ir::Attribute::of_int(static_cast<int>(DType::int64));
  ir::Value* y = export_value(graph, name());
  graph.add_node("Gather",
                 {export_constant(graph, weight_.name, weight_.shape, weight_.value), ids}, {y},
                 graph.unique_name(name()));
  return y;
}

}  // namespace lowp::train
