// train/trainer.cc
#include "train/trainer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include <sys/resource.h>

#include "base/error.h"
#include "base/random.h"
#include "base/timer.h"
#include "train/checkpoint.h"
#include "train/loss.h"

namespace lowp::train {
namespace {

std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  Random r(a ^ (b * 0xD1B54A32D192ED03ull + 0x8CB92BA72F3D8DD7ull));
  return r.next();
}

// Copies rows `order[begin .. end)` of data into x and labels.
void gather(const Dataset& data, std::span<const std::uint32_t> rows, Batch& x,
            std::vector<std::int32_t>& labels) {
  std::vector<int> shape = {static_cast<int>(rows.size())};
  shape.insert(shape.end(), data.sample_shape.begin(), data.sample_shape.end());
  x.resize(shape);
  const std::size_t per = x.per_row();
  labels.resize(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::copy_n(data.x.data() + rows[r] * per, per, x.data.data() + r * per);
    labels[r] = data.labels[rows[r]];
  }
}

Dataset transformed(Model& model, const Dataset& data, ThreadPool* pool) {
  Batch all;
  std::vector<int> shape = {static_cast<int>(data.rows())};
  shape.insert(shape.end(), data.sample_shape.begin(), data.sample_shape.end());
  all.shape = shape;
  all.data = data.x;
  Batch out = model.transform_inputs(all, pool);
  Dataset d;
  d.sample_shape.assign(out.shape.begin() + 1, out.shape.end());
  d.x = std::move(out.data);
  d.labels = data.labels;
  return d;
}

// User + system CPU time of the process (every thread), in seconds.
double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec);
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace

void validate_dataset(const Dataset& data, int classes, const std::string& what) {
  LOWP_CHECK(data.rows() >= 1, "{}: no samples", what);
  const std::size_t per = shape_elements(data.sample_shape);
  LOWP_CHECK(per >= 1 && data.x.size() % per == 0 && data.x.size() / per == data.rows(),
             "{}: {} samples of shape {} ({} values) but {} labels: the counts must match", what,
             per == 0 ? 0 : data.x.size() / per, shape_str(data.sample_shape), data.x.size(),
             data.rows());
  for (std::size_t r = 0; r < data.rows(); ++r) {
    LOWP_CHECK(data.labels[r] >= 0 && data.labels[r] < classes,
               "{}: label {} of sample {} is outside [0, {}) for a model with {} classes", what,
               data.labels[r], r, classes, classes);
  }
  for (std::size_t i = 0; i < data.x.size(); ++i) {
    LOWP_CHECK(std::isfinite(data.x[i]), "{}: value {} of sample {} is {} (NaN or Inf in the data)",
               what, i % per, i / per, data.x[i]);
  }
}

std::string run_config(Model& model, const TrainOptions& o, std::size_t train_rows) {
  std::string params;
  for (Param* p : model.params()) params += fmt::format("{}{},", p->name, shape_str(p->shape));
  const OptimizerOptions& opt = o.optimizer;
  const ScheduleOptions& s = o.schedule;
  return fmt::format(
      "model={};params={};train_rows={};batch={};seed={};optimizer={};lr={};weight_decay={};"
      "momentum={};nesterov={};betas={},{};eps={};schedule={};warmup={};step_size={};gamma={};"
      "total_steps={};min_lr={};clip={};label_smoothing={};fp16={};loss_scale={};growth_interval={"
      "}",
      model.name, params, train_rows, o.batch, o.seed, optimizer_name(opt.kind), opt.lr,
      opt.weight_decay, opt.momentum, opt.nesterov, opt.beta1, opt.beta2, opt.eps,
      schedule_name(s.kind), s.warmup_steps, s.step_size, s.gamma,
      s.kind == ScheduleKind::cosine ? s.total_steps : 0, s.min_lr, o.clip_norm, o.label_smoothing,
      o.fp16, o.loss_scaler.initial_scale, o.loss_scaler.growth_interval) +
         (o.matrix == MatrixPrecision::bf16 ? ";matrix=bf16" : "");
}

Evaluation evaluate(Model& model, const Dataset& data, int batch, ThreadPool* pool) {
  Context ctx;
  ctx.pool = pool;
  ctx.training = false;
  Evaluation result;
  result.predictions.reserve(data.rows());
  std::vector<std::uint32_t> rows(data.rows());
  std::iota(rows.begin(), rows.end(), 0u);
  Batch x;
  std::vector<std::int32_t> labels;
  std::size_t correct = 0;
  for (std::size_t start = 0; start < data.rows(); start += static_cast<std::size_t>(batch)) {
    const std::size_t n =
        std::min<std::size_t>(static_cast<std::size_t>(batch), data.rows() - start);
    gather(data, std::span<const std::uint32_t>(rows).subspan(start, n), x, labels);
    const Batch& logits = model.forward(x, ctx);
    LossResult loss = softmax_cross_entropy(logits, labels, 0.0f, nullptr);
    result.loss += loss.loss * static_cast<double>(n);
    correct += loss.correct;
    const std::size_t k = static_cast<std::size_t>(logits.shape[1]);
    for (std::size_t r = 0; r < n; ++r) {
      const float* z = logits.data.data() + r * k;
      result.predictions.push_back(static_cast<std::int32_t>(std::max_element(z, z + k) - z));
    }
  }
  result.loss /= static_cast<double>(data.rows());
  result.accuracy = static_cast<double>(correct) / static_cast<double>(data.rows());
  return result;
}

TrainResult train_model(Model& model, const Dataset& train_raw, const Dataset& test_raw,
                        const TrainOptions& options, ThreadPool* pool,
                        const TrainCallbacks& callbacks) {
  LOWP_CHECK(options.epochs >= 1, "--epochs {} must be at least 1", options.epochs);
  LOWP_CHECK(options.batch >= 1, "--batch {} must be at least 1", options.batch);
  LOWP_CHECK(options.save_every_steps >= 0 && options.save_every_epochs >= 0,
             "--save-every must not be negative");
  LOWP_CHECK(!(options.save_every_steps > 0 || options.save_every_epochs > 0 || options.resume) ||
                 !options.checkpoint.empty(),
             "--save-every and --resume need a checkpoint path (--checkpoint)");
  const std::vector<int> out = model.output_shape();
  LOWP_CHECK(out.size() == 1, "model '{}' ends in {} per sample, not a vector of class scores",
             model.name, shape_str(out));
  const int classes = out[0];
  std::vector<int> expected_in = model.input_shape;
  for (const Dataset* d : {&train_raw, &test_raw}) {
    LOWP_CHECK(d->sample_shape == expected_in,
               "{}: samples of shape {} do not fit model '{}', which takes {}",
               d == &train_raw ? "training set" : "test set", shape_str(d->sample_shape),
               model.name, shape_str(expected_in));
  }
  validate_dataset(train_raw, classes, "training set");
  validate_dataset(test_raw, classes, "test set");
  validate(options.optimizer);
  validate(options.schedule);
  LOWP_CHECK(options.label_smoothing >= 0.0f && options.label_smoothing < 1.0f,
             "--label-smoothing {} must lie in [0, 1)", options.label_smoothing);

  Dataset train_t, test_t;
  const bool transform = !model.input_transform.empty();
  if (transform) {
    train_t = transformed(model, train_raw, pool);
    test_t = transformed(model, test_raw, pool);
  }
  const Dataset& train = transform ? train_t : train_raw;
  const Dataset& test = transform ? test_t : test_raw;

  const std::size_t rows = train.rows();
  const long steps_per_epoch =
      static_cast<long>((rows + static_cast<std::size_t>(options.batch) - 1) /
                        static_cast<std::size_t>(options.batch));
  TrainOptions o = options;
  o.schedule.total_steps = steps_per_epoch * o.epochs;
  Optimizer optimizer(o.optimizer, model.params());
  std::vector<Param*> params = model.params();
  const std::string config = run_config(model, o, rows);

  TrainPosition pos;
  TrainResult result;
  LossScaler scaler(o.loss_scaler);
  pos.loss_scale = scaler.scale();
  if (o.resume) {
    pos = load_checkpoint(o.checkpoint, config, model, optimizer);
    scaler.restore(pos.loss_scale, pos.good_steps);
    result.resumed_from_step = pos.global_step;
    if (callbacks.on_message) {
      callbacks.on_message(fmt::format("resumed from {} at epoch {}, step {} (global step {})",
                                       o.checkpoint.string(), pos.epoch + 1, pos.step_in_epoch,
                                       pos.global_step));
    }
  }
  auto save = [&](TrainPosition p) {
    p.loss_scale = scaler.scale();
    p.good_steps = scaler.good_steps();
    save_checkpoint(o.checkpoint, config, p, model, optimizer);
    if (callbacks.on_message) {
      callbacks.on_message(fmt::format("checkpoint {} (epoch {}, global step {})",
                                       o.checkpoint.string(),
                                       p.epoch + (p.step_in_epoch > 0 ? 1 : 0), p.global_step));
    }
  };

  Context ctx;
  ctx.pool = pool;
  ctx.training = true;
  ctx.fp16_storage = o.fp16;
  ctx.matrix = o.matrix;
  Batch x, grad;
  std::vector<std::int32_t> labels;
  std::vector<std::uint32_t> order(rows);
  Stopwatch total;
  for (long epoch = pos.epoch; epoch < o.epochs; ++epoch) {
    std::iota(order.begin(), order.end(), 0u);
    Random shuffle(mix(o.seed, static_cast<std::uint64_t>(epoch)));
    shuffle.shuffle(std::span<std::uint32_t>(order));
    Stopwatch epoch_watch, window_watch;
    const double epoch_cpu_start = process_cpu_seconds();
    double window_loss = 0.0;
    long window_steps = 0, window_rows = 0, window_correct = 0, epoch_rows = 0;
    for (long step = pos.step_in_epoch; step < steps_per_epoch; ++step) {
      const std::size_t begin = static_cast<std::size_t>(step) * static_cast<std::size_t>(o.batch);
      const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(o.batch), rows - begin);
      gather(train, std::span<const std::uint32_t>(order).subspan(begin, n), x, labels);
      ctx.step_seed = mix(o.seed ^ 0x5DEECE66Dull, static_cast<std::uint64_t>(pos.global_step));
      const Batch& logits = model.forward(x, ctx);
      LossResult loss = softmax_cross_entropy(logits, labels, o.label_smoothing, &grad);
      const float lr = scheduled_lr(o.optimizer.lr, o.schedule, pos.global_step);
      std::string overflow;
      if (o.fp16) {
        // Scale, round to fp16, backward; an Inf or NaN anywhere skips the step.
        if (!model.forward_overflow().empty()) {
          overflow = model.forward_overflow() + " (forward pass)";
        } else {
          const float scale = scaler.scale();
          for (float& g : grad.data) g *= scale;
          round_to_fp16(grad.data, pool);
          if (!all_finite(grad.data)) overflow = "the loss gradient";
        }
        if (overflow.empty()) overflow = model.backward(grad, ctx);
        if (!overflow.empty()) {
          ++result.skipped_steps;
          const float before = scaler.scale();
          scaler.update(true);
          if (callbacks.on_message) {
            callbacks.on_message(
                fmt::format("fp16 overflow at step {}, beginning in {}: step skipped, loss scale "
                            "{:.0f} -> {:.0f}",
                            pos.global_step + 1, overflow, before, scaler.scale()));
          }
          LOWP_CHECK(
              scaler.scale() >= 1.0f,
              "fp16: the loss scale fell below 1 after overflows beginning in {}: values exceed "
              "fp16's range (65504) whatever the scale; train this model in fp32",
              overflow);
        } else {
          const float inverse = 1.0f / scaler.scale();  // a power of two: exact
          for (Param* p : params) {
            if (!p->trainable) continue;
            for (float& g : p->grad) g *= inverse;
          }
          scaler.update(false);
        }
      } else {
        model.backward(grad, ctx);
      }
      if (overflow.empty()) {
        if (o.clip_norm > 0.0f) clip_grad_norm(params, o.clip_norm);
        optimizer.step(lr);
      }
      ++pos.global_step;
      pos.step_in_epoch = step + 1;
      if (std::isfinite(loss.loss)) pos.loss_sum += loss.loss;
      pos.correct += static_cast<long>(loss.correct);
      pos.seen += static_cast<long>(n);
      if (std::isfinite(loss.loss)) window_loss += loss.loss;
      ++window_steps;
      window_rows += static_cast<long>(n);
      epoch_rows += static_cast<long>(n);
      window_correct += static_cast<long>(loss.correct);
      if (callbacks.on_progress && (pos.step_in_epoch % std::max(1L, o.progress_every) == 0 ||
                                    pos.step_in_epoch == steps_per_epoch)) {
        Progress p;
        p.epoch = static_cast<int>(epoch + 1);
        p.epochs = o.epochs;
        p.step = pos.step_in_epoch;
        p.steps_per_epoch = steps_per_epoch;
        p.loss = window_loss / static_cast<double>(window_steps);
        p.accuracy = static_cast<double>(window_correct) / static_cast<double>(window_rows);
        p.samples_per_second =
            static_cast<double>(window_rows) / std::max(1e-9, window_watch.seconds());
        p.lr = lr;
        callbacks.on_progress(p);
        window_loss = 0.0;
        window_steps = window_rows = window_correct = 0;
        window_watch.restart();
      }
      if (o.stop_after_steps > 0 && pos.global_step >= o.stop_after_steps) {
        result.stopped = true;
        result.steps = pos.global_step;
        result.seconds = total.seconds();
        return result;
      }
      if (o.save_every_steps > 0 && pos.global_step % o.save_every_steps == 0 &&
          pos.step_in_epoch < steps_per_epoch) {
        save(pos);
      }
    }
    EpochResult er;
    er.epoch = static_cast<int>(epoch + 1);
    er.seconds = epoch_watch.seconds();
    er.cpu_seconds = process_cpu_seconds() - epoch_cpu_start;
    er.train_loss = pos.loss_sum / static_cast<double>(steps_per_epoch);
    er.train_accuracy =
        static_cast<double>(pos.correct) / static_cast<double>(std::max(1L, pos.seen));
    er.samples_per_second = static_cast<double>(epoch_rows) / std::max(1e-9, er.seconds);
    Evaluation ev = evaluate(model, test, std::max(o.batch, 256), pool);
    er.test_loss = ev.loss;
    er.test_accuracy = ev.accuracy;
    pos = TrainPosition{epoch + 1, 0, pos.global_step, 0.0, 0, 0, 0.0f, 0};
    const bool save_steps_here =
        o.save_every_steps > 0 && pos.global_step % o.save_every_steps == 0;
    const bool save_epoch_here = o.save_every_epochs > 0 && (epoch + 1) % o.save_every_epochs == 0;
    if (save_steps_here || save_epoch_here ||
        ((o.save_every_steps > 0 || o.save_every_epochs > 0) && epoch + 1 == o.epochs)) {
      save(pos);
    }
    result.epochs.push_back(er);
    if (callbacks.on_epoch) callbacks.on_epoch(er);
  }
  result.steps = pos.global_step;
  result.seconds = total.seconds();
  result.final_loss_scale = scaler.scale();
  return result;
}

}  // namespace lowp::train
