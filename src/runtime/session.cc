// runtime/session.cc
#include "runtime/session.h"

#include <unistd.h>

#include <cstring>
#include <unordered_map>

#include "base/checked_math.h"
#include "base/error.h"
#include "base/timer.h"
#include "ir/schema.h"
#include "ir/verify.h"
#include "onnx/import.h"
#include "passes/passes.h"
#include "runtime/concat_in_place.h"
#include "runtime/memory_plan.h"

namespace lowp::runtime {
namespace {

std::size_t value_bytes(const ir::Value& v) {
  return dtype_storage_bytes(*v.type.dtype, v.type.concrete_shape().elements());
}

std::optional<TensorInfo> info_of(const ir::Value* v) {
  if (!v) return std::nullopt;
  return TensorInfo{*v->type.dtype, v->type.concrete_shape(), v->constant.get()};
}

BindArgs bind_args(const ir::Node& node) {
  BindArgs args{node, {}, {}};
  for (const ir::Value* v : node.inputs) args.inputs.push_back(info_of(v));
  for (const ir::Value* v : node.outputs) args.outputs.push_back(info_of(v));
  return args;
}

std::unique_ptr<BoundOp> bind_node(const ir::Node& node) {
  Binder binder = find_binder(node.domain, node.op_type);
  LOWP_CHECK(binder != nullptr, "node '{}': op {} has no kernel in lowp's runtime", node.label(), node.op_type);
  for (const ir::Value* v : node.outputs) {
    LOWP_CHECK(!v || (v->type.dtype && v->type.is_concrete()),
               "node '{}' ({}): output '{}' has no concrete type {} after shape inference",
               node.label(), node.op_type, v->name, v->type.str());
  }
  return binder(bind_args(node));
}

std::string shapes_of(const std::vector<const Tensor*>& inputs) {
  std::string s;
  for (const Tensor* t : inputs) s += fmt::format("{}{};", dtype_name(t->dtype()), t->shape().str());
  return s;
}

// Integer inputs small enough to be shape-like (lengths, axes, sizes).
bool is_small_int(const Tensor& t) {
  return (t.dtype() == DType::int64 || t.dtype() == DType::int32) && t.elements() <= 64;
}

// Places the arena slots of `plan` by their lifetimes (runtime/memory_plan.h).
void lay_out_arena(Plan& plan) {
  // Lifetimes of the arena slots; a view lives as long as the slot it views, which is
  // written from the first write of any of its views.
  auto owner = [&](int id) {
    while (id >= 0 && plan.slots[static_cast<std::size_t>(id)].kind == Slot::Kind::view)
      id = static_cast<int>(plan.slots[static_cast<std::size_t>(id)].index);
    return id;
  };
  std::vector<Lifetime> lifetimes;
  std::vector<int> lifetime_slot;
  std::unordered_map<int, std::size_t> lifetime_of;
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    for (int written : plan.steps[s].outputs) {
      int id = owner(written);
      if (id < 0 || plan.slots[static_cast<std::size_t>(id)].kind != Slot::Kind::arena || lifetime_of.contains(id)) continue;
      lifetime_of[id] = lifetimes.size();
      lifetimes.push_back({s, s, plan.slots[static_cast<std::size_t>(id)].bytes});
      lifetime_slot.push_back(id);
    }
    for (int read : plan.steps[s].inputs) {
      auto it = lifetime_of.find(owner(read));
      if (it != lifetime_of.end()) lifetimes[it->second].last = s;
    }
  }
  ArenaLayout layout = plan_arena(lifetimes);
  for (std::size_t i = 0; i < lifetimes.size(); ++i) {
    plan.slots[static_cast<std::size_t>(lifetime_slot[i])].index = layout.offsets[i];
  }
  plan.arena_bytes = layout.total_bytes;
}

}  // namespace

std::vector<std::shared_ptr<const Tensor>> evaluate_node(const ir::Node& node) {
  std::unique_ptr<BoundOp> op = bind_node(node);
  std::vector<const std::byte*> ins;
  for (const ir::Value* v : node.inputs) {
    LOWP_CHECK(!v || v->is_constant(), "internal: evaluating '{}' with a non-constant input", node.label());
    ins.push_back(v ? v->constant->raw() : nullptr);
  }
  std::vector<std::shared_ptr<Tensor>> outs;
  std::vector<std::byte*> out_ptrs;
  for (const ir::Value* v : node.outputs) {
    outs.push_back(std::make_shared<Tensor>(*v->type.dtype, v->type.concrete_shape()));
    out_ptrs.push_back(outs.back()->raw());
  }
  RunErrors errors;
  op->run(RunContext{ins, out_ptrs, nullptr, &errors});
  if (errors.any()) throw Error(fmt::format("node '{}' ({}): {}", node.label(), node.op_type, errors.message()));
  return {outs.begin(), outs.end()};
}

Session::Session(std::unique_ptr<ir::Graph> graph, SessionOptions options)
    : graph_(std::move(graph)), options_(options) {
  LOWP_CHECK(options_.threads >= 1, "threads must be >= 1, got {}", options_.threads);
  ir::require_supported(*graph_, graph_->name);
  ir::verify(*graph_);
  ir::infer_types(*graph_);
  // Every node lacking a kernel, in one error, before anything runs.
  std::string missing;
  std::size_t count = 0;
  for (const auto& n : graph_->nodes()) {
    if (find_binder(n->domain, n->op_type) != nullptr) continue;
    ++count;
    auto opset = graph_->opsets.find(n->domain);
    missing += fmt::format("\n  node '{}': {} ({} opset {})", n->label(), n->op_type,
                           n->domain.empty() ? "ai.onnx" : n->domain,
                           opset == graph_->opsets.end() ? std::string("?") : std::to_string(opset->second));
  }
  if (count != 0) {
    fail_unsupported("{}: {} node{} use ops lowp's runtime cannot run yet:{}", graph_->name, count,
                     count == 1 ? "" : "s", missing);
  }
  if (options_.optimize) rewrites_ = passes::optimize(*graph_, evaluate_node);
  pool_ = std::make_unique<ThreadPool>(options_.threads);
}

std::unique_ptr<Session> Session::load(const std::filesystem::path& path, SessionOptions options) {
  std::unique_ptr<ir::Graph> graph = onnx_io::import_model(path);
  try {
    return std::make_unique<Session>(std::move(graph), options);
  } catch (const Error&) {
    rethrow_with_context(path.string());
  }
}

std::vector<const Tensor*> Session::order_inputs(const std::vector<NamedInput>& inputs) const {
  std::vector<const Tensor*> ordered(graph_->inputs.size(), nullptr);
  for (const NamedInput& in : inputs) {
    std::size_t i = 0;
    while (i < graph_->inputs.size() && graph_->inputs[i]->name != in.name) ++i;
    if (i == graph_->inputs.size()) {
      std::string names;
      for (const ir::Value* v : graph_->inputs) names += (names.empty() ? "" : ", ") + v->name;
      fail("the model has no input '{}' (its inputs: {})", in.name, names);
    }
    LOWP_CHECK(ordered[i] == nullptr, "input '{}' is given twice", in.name);
    ordered[i] = in.tensor;
  }
  for (std::size_t i = 0; i < ordered.size(); ++i) {
    LOWP_CHECK(ordered[i] != nullptr, "input '{}' ({}) is not given", graph_->inputs[i]->name,
               graph_->inputs[i]->type.str());
  }
  return ordered;
}

std::string Session::signature(const std::vector<const Tensor*>& ordered) const {
  std::string s = shapes_of(ordered);
  if (!key_by_value_) return s;
  for (const Tensor* t : ordered) {
    if (!is_small_int(*t)) continue;
    s += "|";
    if (t->dtype() == DType::int64) {
      for (std::int64_t v : t->values<std::int64_t>()) s += fmt::format("{},", v);
    } else {
      for (std::int32_t v : t->values<std::int32_t>()) s += fmt::format("{},", v);
    }
  }
  return s;
}

std::unique_ptr<Plan> Session::specialize(const std::vector<const Tensor*>& ordered, bool by_value) const {
  auto plan = std::make_unique<Plan>();
  plan->graph = graph_->clone();
  ir::Graph& g = *plan->graph;
  // Bind the inputs' shapes, checking them against the declared types; a symbol must
  // take the same size everywhere.
  std::unordered_map<std::string, std::int64_t> symbols;
  for (std::size_t i = 0; i < ordered.size(); ++i) {
    ir::Value* v = g.inputs[i];
    const Tensor& t = *ordered[i];
    const ir::TensorType& declared = v->type;
    LOWP_CHECK(!declared.dtype || *declared.dtype == t.dtype(), "input '{}' must be {}, got {}", v->name,
               declared.str(), dtype_name(t.dtype()));
    if (declared.dims) {
      LOWP_CHECK(declared.rank() == t.shape().rank(), "input '{}' must have shape {}, got {}", v->name,
                 declared.str(), t.shape().str());
      for (std::size_t a = 0; a < declared.rank(); ++a) {
        const ir::Dim& d = (*declared.dims)[a];
        std::int64_t got = t.shape()[a];
        LOWP_CHECK(!d.is_known() || d.value == got, "input '{}' must have shape {}, got {}", v->name,
                   declared.str(), t.shape().str());
        if (!d.symbol.empty()) {
          auto [it, fresh] = symbols.emplace(d.symbol, got);
          LOWP_CHECK(fresh || it->second == got, "input '{}': dimension '{}' is {} here but {} in another input",
                     v->name, d.symbol, got, it->second);
        }
      }
    }
    v->type = ir::TensorType::of(t.dtype(), t.shape());
    if (by_value && is_small_int(t)) v->constant = std::make_shared<Tensor>(t);
  }
  passes::fold_constants(g, evaluate_node);
  passes::remove_identities(g);
  passes::eliminate_dead_nodes(g);
  g.sort_topologically();
  if (!by_value) {
    bool concrete = true;
    for (const auto& n : g.nodes()) {
      for (const ir::Value* v : n->outputs) concrete = concrete && (!v || v->type.is_concrete());
    }
    bool have_small_ints = std::any_of(ordered.begin(), ordered.end(), [](const Tensor* t) { return is_small_int(*t); });
    if (!concrete && have_small_ints) return nullptr;
  }

  // Slots: one per value that steps touch.
  std::unordered_map<const ir::Value*, int> slot_of;
  auto slot_for = [&](const ir::Value* v) -> int {
    if (!v) return -1;
    auto it = slot_of.find(v);
    if (it != slot_of.end()) return it->second;
    Slot s;
    if (v->is_constant()) {
      s.kind = Slot::Kind::constant;
      s.constant = v->constant->raw();
      s.bytes = v->constant->bytes();
    } else {
      LOWP_CHECK(v->type.dtype && v->type.is_concrete(), "value '{}' has no concrete type {} after shape inference",
                 v->name, v->type.str());
      s.bytes = value_bytes(*v);
      auto in = std::find(g.inputs.begin(), g.inputs.end(), v);
      if (in != g.inputs.end()) {
        s.kind = Slot::Kind::graph_input;
        s.index = static_cast<std::size_t>(in - g.inputs.begin());
      } else {
        auto out = std::find(g.outputs.begin(), g.outputs.end(), v);
        if (out != g.outputs.end()) {
          s.kind = Slot::Kind::graph_output;
          s.index = static_cast<std::size_t>(out - g.outputs.begin());
        }
      }
    }
    plan->slots.push_back(s);
    int id = static_cast<int>(plan->slots.size() - 1);
    slot_of[v] = id;
    return id;
  };
  for (const auto& n : g.nodes()) {
    PlanStep step;
    step.node = n.get();
    for (const ir::Value* v : n->inputs) step.inputs.push_back(slot_for(v));
    for (const ir::Value* v : n->outputs) step.outputs.push_back(slot_for(v));
    plan->steps.push_back(std::move(step));
  }
  for (const ir::Value* v : g.outputs) plan->output_slots.push_back(slot_for(v));

  // The memory budget is checked before binding (which packs weights and sizes buffers by
  // the shapes), and again once Concats are placed, which can lengthen a lifetime.
  lay_out_arena(*plan);
  check_memory_budget(*plan, ordered);
  for (PlanStep& step : plan->steps) step.op = bind_node(*step.node);
  if (place_concat_inputs(*plan) > 0) {
    lay_out_arena(*plan);
    check_memory_budget(*plan, ordered);
  }
  plan->arena = AlignedBuffer<std::byte>(plan->arena_bytes);
  plan->step_seconds.assign(plan->steps.size(), 0.0);
  return plan;
}

void Session::check_memory_budget(const Plan& plan, const std::vector<const Tensor*>& ordered) const {
  std::size_t output_bytes = 0;
  for (int id : plan.output_slots) output_bytes += plan.slots[static_cast<std::size_t>(id)].bytes;
  // Without a budget the machine's memory is the budget: a small model whose shapes imply
  // a huge allocation gets this error, not an allocation the kernel kills.
  std::size_t budget = options_.max_memory_bytes;
  if (budget == 0) {
    budget = static_cast<std::size_t>(::sysconf(_SC_PHYS_PAGES)) * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  }
  std::size_t need = plan.arena_bytes + output_bytes;
  LOWP_CHECK(need <= budget,
             "running with input shapes {} needs {} bytes of activations and outputs, over the "
             "memory budget of {} bytes ({})",
             signature(ordered), need, budget, options_.max_memory_bytes ? "--max-memory" : "this machine's memory");
}

Plan& Session::plan(const std::vector<const Tensor*>& ordered) {
  std::string key = signature(ordered);
  auto it = plans_.find(key);
  if (it != plans_.end()) return *it->second;
  // A bounded cache: a server that sees many shapes keeps the most recent few.
  if (plans_.size() >= 8) plans_.erase(plans_.begin());
  std::unique_ptr<Plan> p = specialize(ordered, key_by_value_);
  if (!p) {  // shapes depend on input values: key plans by them from now on
    key_by_value_ = true;
    plans_.clear();
    key = signature(ordered);
    p = specialize(ordered, true);
  }
  return *(plans_[key] = std::move(p));
}

const Plan& Session::plan_for(const std::vector<NamedInput>& inputs) {
  return plan(order_inputs(inputs));
}

std::vector<Tensor> Session::run(const std::vector<NamedInput>& inputs, bool profile) {
  std::vector<const Tensor*> ordered = order_inputs(inputs);
  Plan& p = plan(ordered);
  const ir::Graph& g = *p.graph;
  std::vector<Tensor> results;
  results.reserve(g.outputs.size());
  for (const ir::Value* v : g.outputs) results.emplace_back(*v->type.dtype, v->type.concrete_shape());
  // Resolve every slot to a pointer for this run.
  std::vector<std::byte*> ptr(p.slots.size(), nullptr);
  for (std::size_t i = 0; i < p.slots.size(); ++i) {
    const Slot& s = p.slots[i];
    switch (s.kind) {
      case Slot::Kind::constant: ptr[i] = const_cast<std::byte*>(s.constant); break;
      case Slot::Kind::graph_input: ptr[i] = const_cast<std::byte*>(ordered[s.index]->raw()); break;
      case Slot::Kind::arena: ptr[i] = p.arena.data() + s.index; break;
      case Slot::Kind::graph_output: ptr[i] = results[s.index].raw(); break;
      case Slot::Kind::view: break;
    }
  }
  // Views after the slots they view (a view never views a view: concat_in_place.cc).
  for (std::size_t i = 0; i < p.slots.size(); ++i) {
    const Slot& s = p.slots[i];
    if (s.kind == Slot::Kind::view) ptr[i] = ptr[s.index] + s.offset;
  }
  std::vector<const std::byte*> in_ptrs;
  std::vector<std::byte*> out_ptrs;
  RunErrors errors;
  for (std::size_t s = 0; s < p.steps.size(); ++s) {
    PlanStep& step = p.steps[s];
    in_ptrs.clear();
    out_ptrs.clear();
    for (int id : step.inputs) in_ptrs.push_back(id < 0 ? nullptr : ptr[static_cast<std::size_t>(id)]);
    for (int id : step.outputs) out_ptrs.push_back(id < 0 ? nullptr : ptr[static_cast<std::size_t>(id)]);
    RunContext ctx{in_ptrs, out_ptrs, pool_.get(), &errors};
    if (profile) {
      Stopwatch timer;
      step.op->run(ctx);
      p.step_seconds[s] += timer.seconds();
    } else {
      step.op->run(ctx);
    }
    if (errors.any())
      throw Error(fmt::format("node '{}' ({}): {}", step.node->label(), step.node->op_type, errors.message()));
  }
  if (profile) ++p.profiled_runs;
  // Outputs that no step writes (a graph input or constant passed through), or that are
  // listed twice, are copied.
  for (std::size_t o = 0; o < g.outputs.size(); ++o) {
    const Slot& s = p.slots[static_cast<std::size_t>(p.output_slots[o])];
    if (s.kind == Slot::Kind::graph_output && s.index == o) continue;
    const std::byte* src = ptr[static_cast<std::size_t>(p.output_slots[o])];
    if (results[o].bytes() != 0) std::memcpy(results[o].raw(), src, results[o].bytes());
  }
  return results;
}

}  // namespace lowp::runtime
