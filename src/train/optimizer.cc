// train/optimizer.cc
#include "train/optimizer.h"

#include <cmath>
#include <numbers>

#include "base/error.h"
#include "train/optimizer_loops.h"

namespace lowp::train {

OptimizerKind parse_optimizer(const std::string& name) {
  if (name == "sgd") return OptimizerKind::sgd;
  if (name == "adam") return OptimizerKind::adam;
  if (name == "adamw") return OptimizerKind::adamw;
  fail("--optimizer '{}' is not one of sgd, adam, adamw", name);
}

const char* optimizer_name(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::sgd:
      return "sgd";
    case OptimizerKind::adam:
      return "adam";
    case OptimizerKind::adamw:
      return "adamw";
  }
  return "?";
}

ScheduleKind parse_schedule(const std::string& name) {
  if (name == "constant") return ScheduleKind::constant;
  if (name == "step") return ScheduleKind::step;
  if (name == "cosine") return ScheduleKind::cosine;
  fail("--schedule '{}' is not one of constant, step, cosine", name);
}

const char* schedule_name(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::constant:
      return "constant";
    case ScheduleKind::step:
      return "step";
    case ScheduleKind::cosine:
      return "cosine";
  }
  return "?";
}

void validate(const OptimizerOptions& o) {
  LOWP_CHECK(std::isfinite(o.lr) && o.lr > 0.0f,
             "learning rate (--lr) {} must be finite and greater than 0", o.lr);
  LOWP_CHECK(std::isfinite(o.weight_decay) && o.weight_decay >= 0.0f,
             "weight decay (--weight-decay) {} must be finite and not negative", o.weight_decay);
  LOWP_CHECK(o.momentum >= 0.0f && o.momentum < 1.0f, "momentum (--momentum) {} must lie in [0, 1)",
             o.momentum);
  LOWP_CHECK(!o.nesterov || (o.kind == OptimizerKind::sgd && o.momentum > 0.0f),
             "Nesterov (--nesterov) needs --optimizer sgd with a momentum above 0");
  LOWP_CHECK(o.beta1 >= 0.0f && o.beta1 < 1.0f && o.beta2 >= 0.0f && o.beta2 < 1.0f,
             "Adam betas ({}, {}) must lie in [0, 1)", o.beta1, o.beta2);
  LOWP_CHECK(o.eps > 0.0f, "Adam eps {} must be greater than 0", o.eps);
}

void validate(const ScheduleOptions& s) {
  LOWP_CHECK(s.warmup_steps >= 0, "warm-up (--warmup) {} must not be negative", s.warmup_steps);
  LOWP_CHECK(s.step_size >= 1, "step schedule: step size {} must be at least 1", s.step_size);
  LOWP_CHECK(std::isfinite(s.gamma) && s.gamma > 0.0f, "step schedule: gamma {} must be > 0",
             s.gamma);
  LOWP_CHECK(std::isfinite(s.min_lr) && s.min_lr >= 0.0f, "cosine schedule: min lr {} must be >= 0",
             s.min_lr);
}

float scheduled_lr(float base_lr, const ScheduleOptions& s, long step) {
  if (step < s.warmup_steps) {
    return base_lr * static_cast<float>(step + 1) / static_cast<float>(s.warmup_steps);
  }
  const long t = step - s.warmup_steps;
  switch (s.kind) {
    case ScheduleKind::constant:
      return base_lr;
    case ScheduleKind::step:
      return base_lr * static_cast<float>(std::pow(static_cast<double>(s.gamma),
                                                   static_cast<double>(t / s.step_size)));
    case ScheduleKind::cosine: {
      const long span = std::max(1L, s.total_steps - s.warmup_steps);
      const double phase = std::min(1.0, static_cast<double>(t) / static_cast<double>(span));
      return s.min_lr + (base_lr - s.min_lr) *
                            static_cast<float>(0.5 * (1.0 + std::cos(std::numbers::pi * phase)));
    }
  }
  return base_lr;
}

Optimizer::Optimizer(const OptimizerOptions& options, std::vector<Param*> params)
    : options_(options), params_(std::move(params)) {
  validate(options_);
  first_.resize(params_.size());
  second_.resize(params_.size());
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i]->trainable) continue;
    const std::size_t n = params_[i]->value.size();
    if (options_.kind != OptimizerKind::sgd || options_.momentum > 0.0f) first_[i].assign(n, 0.0f);
    if (options_.kind != OptimizerKind::sgd) second_[i].assign(n, 0.0f);
  }
}

std::vector<Optimizer::Slot> Optimizer::slots() {
  std::vector<Slot> out;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const bool sgd = options_.kind == OptimizerKind::sgd;
    if (!first_[i].empty())
      out.push_back({params_[i]->name + (sgd ? ".momentum" : ".m"), &first_[i]});
    if (!second_[i].empty()) out.push_back({params_[i]->name + ".v", &second_[i]});
  }
  return out;
}

void Optimizer::step(float lr) {
  ++steps_;
  const OptimizerOptions& o = options_;
  for (std::size_t p = 0; p < params_.size(); ++p) {
    Param& param = *params_[p];
    if (!param.trainable) continue;
    float* w = param.value.data();
    const float* grad = param.grad.data();
    const std::size_t n = param.value.size();
    if (o.kind == OptimizerKind::sgd) {
      float* buf = first_[p].empty() ? nullptr : first_[p].data();
      SgdStep step;
      step.lr = lr;
      step.weight_decay = o.weight_decay;
      step.momentum = o.momentum;
      step.nesterov = o.nesterov;
      step.first = steps_ == 1;
      optimizer_loops().sgd(w, grad, buf, n, step);
      continue;
    }
    const bool decoupled = o.kind == OptimizerKind::adamw;
    AdamStep step;
    step.beta1 = o.beta1;
    step.beta2 = o.beta2;
    step.step_size = lr / (1.0f - static_cast<float>(std::pow(o.beta1, steps_)));
    step.sqrt_correction2 = std::sqrt(1.0f - static_cast<float>(std::pow(o.beta2, steps_)));
    step.eps = o.eps;
    step.l2 = decoupled ? 0.0f : o.weight_decay;
    step.shrink = decoupled ? 1.0f - lr * o.weight_decay : 1.0f;
    optimizer_loops().adam(w, grad, first_[p].data(), second_[p].data(), n, step);
  }
}

double clip_grad_norm(std::span<Param* const> params, float max_norm) {
  double sum = 0.0;
  for (const Param* p : params) {
    if (!p->trainable) continue;
    for (float g : p->grad) sum += static_cast<double>(g) * g;
  }
  const double norm = std::sqrt(sum);
  if (max_norm > 0.0f && norm > max_norm) {
    const float scale = static_cast<float>(max_norm / (norm + 1e-6));
    for (Param* p : params) {
      if (!p->trainable) continue;
      for (float& g : p->grad) g *= scale;
    }
  }
  return norm;
}

}  // namespace lowp::train
