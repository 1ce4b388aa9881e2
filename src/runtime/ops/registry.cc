// runtime/ops/registry.cc: the table of op binders, built from the families.
#include <map>

#include "runtime/op.h"

namespace lowp::runtime {

const TensorInfo& BindArgs::in(std::size_t i) const {
  if (!has(i)) fail("input {} is missing", i);
  return *inputs[i];
}

const TensorInfo& BindArgs::out(std::size_t i) const {
  if (i >= outputs.size() || !outputs[i]) fail("output {} is missing", i);
  return *outputs[i];
}

const Tensor& BindArgs::constant(std::size_t i, std::string_view what) const {
  const TensorInfo& t = in(i);
  if (!t.constant) fail("{} (input {}) must be a constant", what, i);
  return *t.constant;
}

Binder find_binder(std::string_view domain, std::string_view op_type) {
  using Key = std::pair<std::string_view, std::string_view>;
  static const std::map<Key, Binder> table = [] {
    std::map<Key, Binder> t;
    for (auto family : {elementwise_bindings(), shape_op_bindings(), nn_bindings(), reduce_bindings(),
                        quant_bindings(), resize_bindings(), conv_transpose_bindings(), index_op_bindings(),
                        math_op_bindings(), loss_bindings()}) {
      for (const OpBinding& b : family) {
        if (!t.emplace(Key{b.domain, b.op_type}, b.bind).second) {
          fail("internal: op {}::{} bound twice", b.domain, b.op_type);
        }
      }
    }
    return t;
  }();
  auto it = table.find(Key{domain, op_type});
  return it == table.end() ? nullptr : it->second;
}

}  // namespace lowp::runtime
