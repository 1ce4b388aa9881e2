// runtime/concat_in_place.cc
#include "runtime/concat_in_place.h"

#include <vector>

namespace lowp::runtime {

std::size_t place_concat_inputs(Plan& plan) {
  const std::size_t slot_count = plan.slots.size();
  std::vector<int> readers(slot_count, 0);
  std::vector<std::ptrdiff_t> producer(slot_count, -1);  // the step writing it as output 0
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    const PlanStep& step = plan.steps[s];
    for (int id : step.inputs)
      if (id >= 0) ++readers[static_cast<std::size_t>(id)];
    if (!step.outputs.empty() && step.outputs[0] >= 0) producer[static_cast<std::size_t>(step.outputs[0])] = static_cast<std::ptrdiff_t>(s);
  }
  for (int id : plan.output_slots) ++readers[static_cast<std::size_t>(id)];

  std::size_t placed = 0;
  for (PlanStep& concat : plan.steps) {
    const ir::Node& node = *concat.node;
    if (!node.domain.empty() || node.op_type != "Concat" || concat.outputs.size() != 1 || concat.outputs[0] < 0) continue;
    const ir::Value* out = node.outputs[0];
    if (!out->type.dtype || !out->type.is_concrete() || dtype_bits(*out->type.dtype) % 8 != 0) continue;
    const Shape shape = out->type.concrete_shape();
    const auto rank = static_cast<std::int64_t>(shape.rank());
    if (rank == 0) continue;
    std::int64_t axis = node.attr_int("axis", 0);
    if (axis < 0) axis += rank;
    if (axis != rank - 1) continue;
    const std::size_t out_id = static_cast<std::size_t>(concat.outputs[0]);
    const Slot::Kind out_kind = plan.slots[out_id].kind;
    if (out_kind != Slot::Kind::arena && out_kind != Slot::Kind::graph_output) continue;
    bool eligible = !concat.inputs.empty();
    for (std::size_t i = 0; i < concat.inputs.size() && eligible; ++i) {
      const int id = concat.inputs[i];
      const ir::Value* in = node.inputs[i];
      eligible = id >= 0 && in && in->type.is_concrete() && plan.slots[static_cast<std::size_t>(id)].kind == Slot::Kind::arena &&
                 readers[static_cast<std::size_t>(id)] == 1 && producer[static_cast<std::size_t>(id)] >= 0 &&
                 plan.steps[static_cast<std::size_t>(producer[static_cast<std::size_t>(id)])].op->can_space_output_rows();
    }
    if (!eligible) continue;
    const std::size_t element_bytes = dtype_bits(*out->type.dtype) / 8;
    const auto width = static_cast<std::size_t>(shape[shape.rank() - 1]);
    std::size_t column = 0;
    for (std::size_t i = 0; i < concat.inputs.size(); ++i) {
      const auto id = static_cast<std::size_t>(concat.inputs[i]);
      Slot& slot = plan.slots[id];
      slot.kind = Slot::Kind::view;
      slot.index = out_id;
      slot.offset = column * element_bytes;
      plan.steps[static_cast<std::size_t>(producer[id])].op->space_output_rows(width);
      const Shape in_shape = node.inputs[i]->type.concrete_shape();
      column += static_cast<std::size_t>(in_shape[in_shape.rank() - 1]);
    }
    concat.op = std::make_unique<FunctionOp>("in place (its inputs write into it)", [](const RunContext&) {});
    ++placed;
  }
  return placed;
}

}  // namespace lowp::runtime
