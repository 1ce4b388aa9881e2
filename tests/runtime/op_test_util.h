// tests/runtime/op_test_util.h: running one op on tensors, the way the session does, for
// the kernel tests of runtime/ops: with constant inputs (evaluate_node: the constant
// folder's path) or with graph inputs (a Session, so that values arrive at run time).
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/random.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "ir/schema.h"
#include "runtime/session.h"

namespace lowp::test {

using Attrs = std::map<std::string, ir::Attribute>;

template <class T>
std::shared_ptr<Tensor> tensor(DType dtype, std::vector<std::int64_t> dims, const std::vector<T>& values) {
  auto t = std::make_shared<Tensor>(dtype, Shape(std::move(dims)));
  EXPECT_EQ(values.size(), t->elements());
  EXPECT_EQ(sizeof(T) * 8, dtype_bits(dtype));
  if (!values.empty()) std::memcpy(t->raw(), values.data(), values.size() * sizeof(T));
  return t;
}

inline std::shared_ptr<Tensor> ints(std::vector<std::int64_t> values) {
  auto n = static_cast<std::int64_t>(values.size());
  return tensor<std::int64_t>(DType::int64, {n}, values);
}

inline std::shared_ptr<Tensor> floats(std::vector<std::int64_t> dims, const std::vector<float>& values) {
  return tensor<float>(DType::float32, std::move(dims), values);
}

// Random bytes: every element width sees every bit pattern (NaN payloads included).
inline std::shared_ptr<Tensor> random_tensor(DType dtype, std::vector<std::int64_t> dims, std::uint64_t seed) {
  auto t = std::make_shared<Tensor>(dtype, Shape(std::move(dims)));
  Random rng(seed);
  for (std::size_t i = 0; i < t->bytes(); ++i) t->raw()[i] = static_cast<std::byte>(rng.next());
  return t;
}

// Random floats in [lo, hi).
inline std::shared_ptr<Tensor> random_floats(std::vector<std::int64_t> dims, std::uint64_t seed, float lo = -2,
                                             float hi = 2) {
  auto t = std::make_shared<Tensor>(DType::float32, Shape(std::move(dims)));
  Random rng(seed);
  for (float& v : t->values<float>()) v = rng.uniform(lo, hi);
  return t;
}

// One node on constant inputs (nullptr: an omitted optional input), as the constant
// folder evaluates it.
inline std::vector<std::shared_ptr<const Tensor>> eval(const std::string& op,
                                                       const std::vector<std::shared_ptr<Tensor>>& inputs,
                                                       const Attrs& attrs = {}, std::size_t outputs = 1) {
  ir::Graph g;
  std::vector<ir::Value*> ins, outs;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    ins.push_back(inputs[i] ? g.add_constant("x" + std::to_string(i), inputs[i]) : nullptr);
  }
  for (std::size_t i = 0; i < outputs; ++i) outs.push_back(g.add_value("y" + std::to_string(i)));
  ir::Node* n = g.add_node(op, ins, outs, "n");
  n->attributes = attrs;
  ir::infer_node(*n);
  return runtime::evaluate_node(*n);
}

// One node whose inputs are graph inputs (values arrive at run time); `declared` gives
// the output types the model would declare (needed when they depend on input values).
inline std::vector<Tensor> run_graph(const std::string& op, const std::vector<std::shared_ptr<Tensor>>& inputs,
                                     const Attrs& attrs, const std::vector<ir::TensorType>& declared) {
  auto g = std::make_unique<ir::Graph>();
  std::vector<ir::Value*> ins, outs;
  std::vector<runtime::NamedInput> named;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::string name = "x" + std::to_string(i);
    ir::Value* v = g->add_value(name, ir::TensorType::of(inputs[i]->dtype(), inputs[i]->shape()));
    g->inputs.push_back(v);
    ins.push_back(v);
    named.push_back({name, inputs[i].get()});
  }
  for (std::size_t i = 0; i < declared.size(); ++i) {
    outs.push_back(g->add_value("y" + std::to_string(i), declared[i]));
    g->outputs.push_back(outs.back());
  }
  ir::Node* n = g->add_node(op, ins, outs, "n");
  n->attributes = attrs;
  runtime::Session session(std::move(g), runtime::SessionOptions{});
  return session.run(named);
}

template <class T>
std::vector<T> values_of(const Tensor& t) {
  auto v = t.values<T>();
  return {v.begin(), v.end()};
}

// Byte equality of dtype, shape and data.
inline void expect_same(const Tensor& got, const Tensor& want) {
  ASSERT_EQ(got.dtype(), want.dtype());
  ASSERT_EQ(got.shape().str(), want.shape().str());
  ASSERT_EQ(got.bytes(), want.bytes());
  if (got.bytes() != 0) {
    EXPECT_EQ(std::memcmp(got.raw(), want.raw(), got.bytes()), 0);
  }
}

// Row-major multi-index helpers for the reference implementations.
inline std::vector<std::int64_t> unravel(std::size_t flat, const std::vector<std::int64_t>& dims) {
  std::vector<std::int64_t> idx(dims.size());
  for (std::size_t a = dims.size(); a-- > 0;) {
    idx[a] = static_cast<std::int64_t>(flat % static_cast<std::size_t>(dims[a]));
    flat /= static_cast<std::size_t>(dims[a]);
  }
  return idx;
}
inline std::size_t ravel(const std::vector<std::int64_t>& idx, const std::vector<std::int64_t>& dims) {
  std::size_t flat = 0;
  for (std::size_t a = 0; a < dims.size(); ++a) flat = flat * static_cast<std::size_t>(dims[a]) + static_cast<std::size_t>(idx[a]);
  return flat;
}

// The graph's outputs on input `x` (its first input), through a Session: with or without
// the load-time passes, on `threads` threads.
inline std::vector<Tensor> run_graph(const ir::Graph& g, const Tensor& x, bool optimize, int threads = 1) {
  runtime::SessionOptions o;
  o.optimize = optimize;
  o.threads = threads;
  runtime::Session s(g.clone(), o);
  return s.run({{g.inputs[0]->name, &x}});
}

}  // namespace lowp::test
