// tools/lowp/cmd_train.cc: `lowp train`: trains SimpleNet, the MLP, the quantization CNN or
// a chain-shaped ONNX model (train/) on Fashion-MNIST or a folder of .npy files, prints
// progress and a report, checkpoints and resumes, and exports the trained model to ONNX,
// checking that lowp's runtime predicts the same classes from the exported file.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

#include "base/cpu.h"
#include "base/error.h"
#include "base/thread_pool.h"
#include "commands.h"
#include "io/npy.h"
#include "onnx/export.h"
#include "onnx/import.h"
#include "reduce/pca.h"
#include "runtime/session.h"
#include "train/fake_quant.h"
#include "train/trainer.h"
#include "train_data.h"

namespace lowp::cli {
namespace {

struct TrainFlags {
  std::string model = "cnn";
  std::string init;  // --init FILE.onnx: fine-tune this model (architecture and weights)
  std::string dataset = "fashion-mnist";
  std::string precision = "fp32";
  int epochs = 1;
  int batch = 64;
  float lr = 1e-3f;
  std::string optimizer = "adam";
  float momentum = 0.0f;
  bool nesterov = false;
  float weight_decay = 0.0f;
  std::string schedule = "constant";
  long warmup = 0;
  long step_size = 0;
  float gamma = 0.1f;
  float min_lr = 0.0f;
  float clip_norm = 0.0f;
  float label_smoothing = 0.0f;
  int classes = 10;
  std::uint64_t seed = 42;
  int threads = 1;
  std::string out;
  std::string checkpoint;
  std::string save_every;
  bool resume = false;
  long stop_after = 0;
  long progress_every = 100;
  std::size_t limit_train = 0, limit_test = 0;
  std::string predictions;
  bool json = false;
  float loss_scale = 65536.0f;
  long loss_scale_growth = 2000;
  std::string qat;  // "int8": quantization-aware training (train/fake_quant.h)
  int qat_min_conv_depth = 16;
  float qat_momentum = 0.01f;
  std::string fp32_out;      // --qat: also the trained fp32 model (BatchNorm folded)
  std::string command_line;  // for the JSON report
};

// "N", "Nsteps" / "Nstep" or "Nepochs" / "Nepoch".
void parse_save_every(const std::string& text, train::TrainOptions& o) {
  if (text.empty()) return;
  std::size_t used = 0;
  long n = 0;
  try {
    n = std::stol(text, &used);
  } catch (const std::exception&) {
    fail("--save-every '{}' is not a count like 500, 500steps or 1epoch", text);
  }
  const std::string unit = text.substr(used);
  LOWP_CHECK(n >= 1, "--save-every '{}' must be at least 1", text);
  if (unit.empty() || unit == "steps" || unit == "step") {
    o.save_every_steps = n;
  } else if (unit == "epochs" || unit == "epoch") {
    o.save_every_epochs = static_cast<int>(n);
  } else {
    fail("--save-every '{}': unit '{}' is not steps or epochs", text, unit);
  }
}

// A chain-shaped ONNX model as layers, its weights the starting point.
train::Model model_from_onnx(const std::string& path, train::Dataset& train_set,
                             train::Dataset& test_set) {
  std::unique_ptr<ir::Graph> graph = onnx_io::import_model(path);
  train::Model m = train::model_from_graph(*graph);
  if (m.input_shape.size() == 1) {
    flatten_samples(train_set);
    flatten_samples(test_set);
  }
  return m;
}

train::Model build_model(const TrainFlags& f, train::Dataset& train_set, train::Dataset& test_set,
                         std::string& note) {
  if (!f.init.empty()) {
    LOWP_CHECK(f.init.size() > 5 && f.init.substr(f.init.size() - 5) == ".onnx",
               "--init '{}' is not a .onnx file", f.init);
    note = fmt::format("fine-tuning {} from its weights", f.init);
    return model_from_onnx(f.init, train_set, test_set);
  }
  Random rng(f.seed);
  if (f.model == "cnn") return train::make_cnn(rng);
  if (f.model == "mlp" || f.model == "simplenet") {
    flatten_samples(train_set);
    flatten_samples(test_set);
    LOWP_CHECK(train_set.sample_shape.size() == 1,
               "--model {} takes vectors or single-channel images, not samples of shape {}",
               f.model, train::shape_str(train_set.sample_shape));
    const int inputs = train_set.sample_shape[0];
    if (f.model == "mlp") return train::make_mlp(inputs, f.classes, rng);
    const int components = std::min(100, inputs);
    Pca pca = fit_pca(train_set.x.data(), train_set.rows(), inputs, components);
    note = fmt::format("PCA {} -> {} components, explained variance {:.4f}", inputs, components,
                       pca.explained_variance_ratio);
    return train::make_simplenet(pca.basis, pca.mean, inputs, components, 50, f.classes, rng);
  }
  LOWP_CHECK(f.model.size() > 5 && f.model.substr(f.model.size() - 5) == ".onnx",
             "--model '{}' is not simplenet, mlp, cnn or a .onnx file", f.model);
  return model_from_onnx(f.model, train_set, test_set);
}

// The exported graph run by lowp's runtime over the test set: how many of its top-1
// predictions equal the trained model's.
std::size_t runtime_agreement(const std::filesystem::path& onnx_path, const train::Dataset& test,
                              const std::vector<std::int32_t>& predictions, int threads) {
  runtime::SessionOptions options;
  options.threads = threads;
  auto session = runtime::Session::load(onnx_path, options);
  const std::string input = session->graph().inputs[0]->name;
  const std::size_t per = train::shape_elements(test.sample_shape);
  std::size_t agree = 0;
  const std::size_t block = 256;
  for (std::size_t start = 0; start < test.rows(); start += block) {
    const std::size_t n = std::min(block, test.rows() - start);
    std::vector<std::int64_t> dims = {static_cast<std::int64_t>(n)};
    if (test.sample_shape.size() == 3) {
      dims.insert(dims.end(), {test.sample_shape[2], test.sample_shape[0], test.sample_shape[1]});
    } else {
      dims.insert(dims.end(), test.sample_shape.begin(), test.sample_shape.end());
    }
    Tensor x(DType::float32, Shape(dims));
    float* dst = x.values<float>().data();
    const float* src = test.x.data() + start * per;
    if (test.sample_shape.size() == 3) {  // NHWC -> NCHW
      const std::size_t c = static_cast<std::size_t>(test.sample_shape[2]), hw = per / c;
      for (std::size_t r = 0; r < n; ++r) {
        for (std::size_t p = 0; p < hw; ++p) {
          for (std::size_t ch = 0; ch < c; ++ch)
            dst[r * per + ch * hw + p] = src[r * per + p * c + ch];
        }
      }
    } else {
      std::copy_n(src, n * per, dst);
    }
    std::vector<Tensor> out = session->run({{input, &x}});
    auto logits = out[0].values<float>();
    const std::size_t k = logits.size() / n;
    for (std::size_t r = 0; r < n; ++r) {
      const float* z = logits.data() + r * k;
      agree += static_cast<std::int32_t>(std::max_element(z, z + k) - z) == predictions[start + r];
    }
  }
  return agree;
}

int run_train(const TrainFlags& f) {
  LOWP_CHECK(f.precision == "fp32" || f.precision == "bf16" || f.precision == "fp16",
             "--precision '{}' is not fp32, bf16 or fp16", f.precision);
  const bool qat = !f.qat.empty();
  LOWP_CHECK(!qat || f.qat == "int8",
             "--qat '{}' is not a quantization-aware training precision: only int8 is", f.qat);
  LOWP_CHECK(!qat || f.precision == "fp32",
             "--qat int8 fake-quantizes an fp32 training run; it cannot be combined with "
             "--precision {}",
             f.precision);
  LOWP_CHECK(f.fp32_out.empty() || qat,
             "--fp32-out writes the fp32 weights of a --qat run; without --qat, --out is that "
             "model");
  LOWP_CHECK(!f.out.empty() || f.stop_after > 0, "--out model.onnx is required");
  LOWP_CHECK(f.classes >= 2, "--classes {} must be at least 2", f.classes);
  // Progress goes to stderr when stdout carries JSON.
  std::FILE* log = f.json ? stderr : stdout;
  auto say = [&](const std::string& line) {
    fmt::print(log, "{}\n", line);
    std::fflush(log);
  };

  TrainData data = load_train_data(f.dataset, f.limit_train, f.limit_test);
  std::string note;
  train::Model model = build_model(f, data.train, data.test, note);
  say(fmt::format(
      "lowp train: model {} ({} parameters), {}: {} train / {} test samples, {} thread{}, ISA {}",
      model.name, model.parameter_count(), data.description, data.train.rows(), data.test.rows(),
      f.threads, f.threads == 1 ? "" : "s", isa_name(active_isa())));
  if (!note.empty()) say(note);
  std::vector<std::string> int8_layers;
  if (qat) {
    train::QatOptions qo;
    qo.min_conv_depth = f.qat_min_conv_depth;
    qo.momentum = f.qat_momentum;
    train::QatSummary plan = train::prepare_qat(model, qo);
    std::vector<std::string> fp32;
    for (const auto& d : plan.decisions) {
      if (d.precision == "int8")
        int8_layers.push_back(d.node);
      else
        fp32.push_back(fmt::format("{} ({})", d.node, d.reason));
    }
    say(fmt::format(
        "QAT int8: {}int8 layers {}; fp32 layers {}; {} activation ranges (moving "
        "average, momentum {})",
        plan.folded.empty() ? "" : fmt::format("folded {}; ", fmt::join(plan.folded, ", ")),
        fmt::join(int8_layers, ", "),
        fp32.empty() ? "none" : fmt::format("{}", fmt::join(fp32, ", ")),
        plan.quantized_tensors.size(), f.qat_momentum));
  }

  train::TrainOptions o;
  o.epochs = f.epochs;
  o.batch = f.batch;
  o.seed = f.seed;
  o.optimizer.kind = train::parse_optimizer(f.optimizer);
  o.optimizer.lr = f.lr;
  o.optimizer.momentum = f.momentum;
  o.optimizer.nesterov = f.nesterov;
  o.optimizer.weight_decay = f.weight_decay;
  o.schedule.kind = train::parse_schedule(f.schedule);
  o.schedule.warmup_steps = f.warmup;
  o.schedule.step_size = f.step_size;
  o.schedule.gamma = f.gamma;
  o.schedule.min_lr = f.min_lr;
  o.clip_norm = f.clip_norm;
  o.label_smoothing = f.label_smoothing;
  o.progress_every = f.progress_every;
  o.stop_after_steps = f.stop_after;
  o.resume = f.resume;
  o.fp16 = f.precision == "fp16";
  if (f.precision == "bf16") o.matrix = train::MatrixPrecision::bf16;
  o.loss_scaler.initial_scale = f.loss_scale;
  o.loss_scaler.growth_interval = f.loss_scale_growth;
  parse_save_every(f.save_every, o);
  if (o.schedule.kind == train::ScheduleKind::step) {
    LOWP_CHECK(f.step_size >= 1, "--schedule step needs --step-size STEPS (at least 1)");
  } else {
    o.schedule.step_size = 1;
  }
  o.checkpoint = !f.checkpoint.empty() ? std::filesystem::path(f.checkpoint)
                 : !f.out.empty()      ? std::filesystem::path(f.out + ".ckpt")
                                       : std::filesystem::path();

  ThreadPool pool(f.threads);
  ThreadPool* maybe_pool = f.threads > 1 ? &pool : nullptr;
  train::TrainCallbacks callbacks;
  callbacks.on_message = say;
  callbacks.on_progress = [&](const train::Progress& p) {
    say(fmt::format(
        "epoch {}/{} step {}/{}: loss {:.4f} accuracy {:.4f} {:.0f} samples/s lr {:.3g}", p.epoch,
        p.epochs, p.step, p.steps_per_epoch, p.loss, p.accuracy, p.samples_per_second, p.lr));
  };
  callbacks.on_epoch = [&](const train::EpochResult& e) {
    say(
        fmt::format("epoch {}/{} done: train loss {:.4f} accuracy {:.4f}, test loss {:.4f} "
                    "accuracy {:.4f}, {:.2f} s ({:.0f} samples/s)",
                    e.epoch, f.epochs, e.train_loss, e.train_accuracy, e.test_loss, e.test_accuracy,
                    e.seconds, e.samples_per_second));
  };
  train::TrainResult result =
      train::train_model(model, data.train, data.test, o, maybe_pool, callbacks);
  if (result.stopped) {
    say(fmt::format("stopped after step {} (--stop-after); resume with --resume", result.steps));
    return 0;
  }

  // The final report: the test set through the trained layers (after the input transform),
  // the export, and the exported file run by lowp's runtime.
  train::Dataset test_in = data.test;
  if (!model.input_transform.empty()) {
    train::Batch all;
    all.shape = {static_cast<int>(test_in.rows())};
    all.shape.insert(all.shape.end(), test_in.sample_shape.begin(), test_in.sample_shape.end());
    all.data = test_in.x;
    train::Batch t = model.transform_inputs(all, maybe_pool);
    test_in.sample_shape.assign(t.shape.begin() + 1, t.shape.end());
    test_in.x = std::move(t.data);
  }
  train::Evaluation final_eval = train::evaluate(model, test_in, 256, maybe_pool);
  if (!f.fp32_out.empty()) onnx_io::export_model(*model.to_graph(), f.fp32_out);
  std::unique_ptr<ir::Graph> graph = qat ? train::export_qat_int8(model) : model.to_graph();
  onnx_io::ExportSummary summary = onnx_io::export_model(*graph, f.out);
  const std::size_t agree = runtime_agreement(f.out, data.test, final_eval.predictions, f.threads);
  if (!f.predictions.empty()) {
    // Logits of the test set, [N, classes], for comparisons with other runtimes.
    train::Context eval;
    eval.pool = maybe_pool;
    eval.training = false;
    train::Batch x;
    x.shape = {static_cast<int>(test_in.rows())};
    x.shape.insert(x.shape.end(), test_in.sample_shape.begin(), test_in.sample_shape.end());
    x.data = test_in.x;
    const train::Batch& logits = model.forward(x, eval);
    Tensor t(DType::float32, Shape{logits.shape[0], logits.shape[1]});
    std::copy(logits.data.begin(), logits.data.end(), t.values<float>().begin());
    write_npy(f.predictions, t);
  }
  double train_seconds = 0.0;
  for (const auto& e : result.epochs) train_seconds += e.seconds;
  say(fmt::format("test accuracy {:.4f} (loss {:.4f}) after {} epochs, {} steps; training {:.2f} s",
                  final_eval.accuracy, final_eval.loss, f.epochs, result.steps, train_seconds));
  if (o.fp16) {
    say(fmt::format("fp16: {} steps skipped for overflows; final loss scale {:.0f}",
                    result.skipped_steps, result.final_loss_scale));
  }
  say(fmt::format("wrote {} ({} nodes{}); lowp's runtime on it agrees on {} of {} test predictions",
                  f.out, summary.nodes, qat ? ", QDQ int8" : "", agree, data.test.rows()));
  if (!f.fp32_out.empty())
    say(fmt::format("wrote {} (the fp32 weights, BatchNorm folded)", f.fp32_out));
  if (f.json) {
    nlohmann::json epochs = nlohmann::json::array();
    for (const auto& e : result.epochs) {
      epochs.push_back({{"epoch", e.epoch},
                        {"train_loss", e.train_loss},
                        {"train_accuracy", e.train_accuracy},
                        {"test_loss", e.test_loss},
                        {"test_accuracy", e.test_accuracy},
                        {"seconds", e.seconds},
                        {"cpu_seconds", e.cpu_seconds},
                        {"samples_per_second", e.samples_per_second}});
    }
    nlohmann::json report = {
        {"command", f.command_line},
        {"model", model.name},
        {"parameters", model.parameter_count()},
        {"dataset", data.description},
        {"train_rows", data.train.rows()},
        {"test_rows", data.test.rows()},
        {"threads", f.threads},
        {"isa", isa_name(active_isa())},
        {"precision", f.precision},
        {"qat", qat ? nlohmann::json(f.qat) : nlohmann::json()},
        {"int8_layers", int8_layers},
        {"optimizer", f.optimizer},
        {"lr", f.lr},
        {"batch", f.batch},
        {"epochs", epochs},
        {"steps", result.steps},
        {"skipped_steps", result.skipped_steps},
        {"final_loss_scale",
         f.precision == "fp16" ? nlohmann::json(result.final_loss_scale) : nlohmann::json()},
        {"resumed_from_step", result.resumed_from_step},
        {"test_accuracy", final_eval.accuracy},
        {"test_loss", final_eval.loss},
        {"train_seconds", train_seconds},
        {"out", f.out},
        {"runtime_agreement", agree}};
    fmt::print("{}\n", report.dump(2));
  }
  return 0;
}

}  // namespace

Command add_train_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand(
      "train", "Train simplenet, mlp, cnn or a chain-shaped ONNX model, and export it to ONNX");
  auto f = std::make_shared<TrainFlags>();
  CLI::Option* model = sub->add_option("--model", f->model, "simplenet | mlp | cnn | FILE.onnx")
                           ->capture_default_str();
  sub->add_option("--init", f->init,
                  "Fine-tune FILE.onnx: its architecture and weights (a chain of layers, e.g. from "
                  "lowp compress)")
      ->excludes(model);
  sub->add_option("--dataset", f->dataset,
                  "fashion-mnist | a folder with train_x.npy, train_y.npy, test_x.npy, test_y.npy")
      ->capture_default_str();
  sub->add_option(
         "--precision", f->precision,
         "fp32 | bf16 (matrix work in bf16 kernels, fp32 master weights and reductions) | fp16 "
         "(fp16 activations and gradients, fp32 master weights, dynamic loss scaling)")
      ->capture_default_str();
  sub->add_option("--qat", f->qat,
                  "int8: quantization-aware training; --out is then the QDQ int8 model (as lowp "
                  "quantize --precision int8 writes it), its outputs in lowp equal the trained "
                  "model's bit for bit. Fine-tunes a trained model best (--model FILE.onnx)");
  sub->add_option("--qat-min-conv-depth", f->qat_min_conv_depth,
                  "--qat: convolutions with a smaller GEMM depth stay fp32 (lowp quantize's "
                  "--min-conv-depth)")
      ->capture_default_str();
  sub->add_option("--qat-momentum", f->qat_momentum,
                  "--qat: momentum of the activation ranges' moving averages")
      ->capture_default_str();
  sub->add_option("--fp32-out", f->fp32_out,
                  "--qat: also write the trained fp32 model (BatchNorm folded), ONNX");
  sub->add_option("--loss-scale", f->loss_scale, "fp16: initial loss scale")->capture_default_str();
  sub->add_option("--loss-scale-growth", f->loss_scale_growth,
                  "fp16: good steps before the scale doubles")
      ->capture_default_str();
  sub->add_option("--epochs", f->epochs, "Epochs")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  sub->add_option("--batch", f->batch, "Batch size")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  sub->add_option("--lr", f->lr, "Learning rate (> 0)")->capture_default_str();
  sub->add_option("--optimizer", f->optimizer, "sgd | adam | adamw")->capture_default_str();
  sub->add_option("--momentum", f->momentum, "SGD momentum")->capture_default_str();
  sub->add_flag("--nesterov", f->nesterov, "Nesterov momentum (SGD)");
  sub->add_option("--weight-decay", f->weight_decay,
                  "Weight decay (L2 for sgd and adam, decoupled for adamw)")
      ->capture_default_str();
  sub->add_option("--schedule", f->schedule, "constant | step | cosine")->capture_default_str();
  sub->add_option("--warmup", f->warmup, "Linear warm-up steps")->capture_default_str();
  sub->add_option("--step-size", f->step_size, "Step schedule: steps between decays");
  sub->add_option("--gamma", f->gamma, "Step schedule: decay factor")->capture_default_str();
  sub->add_option("--min-lr", f->min_lr, "Cosine schedule: final learning rate")
      ->capture_default_str();
  sub->add_option("--clip-norm", f->clip_norm, "Clip gradients to this global L2 norm (0: off)")
      ->capture_default_str();
  sub->add_option("--label-smoothing", f->label_smoothing, "Cross-entropy label smoothing")
      ->capture_default_str();
  sub->add_option("--classes", f->classes, "Classes of the built-in models")->capture_default_str();
  sub->add_option("--seed", f->seed, "Seed of initialization, shuffling and dropout")
      ->capture_default_str();
  sub->add_option("--threads", f->threads, "Threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  sub->add_option("--out,-o", f->out, "The trained model, ONNX");
  sub->add_option("--checkpoint", f->checkpoint, "Checkpoint file (default: OUT.ckpt)");
  sub->add_option("--save-every", f->save_every,
                  "Checkpoint every N steps (N, Nsteps) or epochs (Nepochs)");
  sub->add_flag("--resume", f->resume, "Continue from the checkpoint");
  sub->add_option("--stop-after", f->stop_after,
                  "Stop after this global step without exporting (resume later)");
  sub->add_option("--progress-every", f->progress_every, "Steps between progress lines")
      ->capture_default_str();
  sub->add_option("--limit-train", f->limit_train, "Use only the first N training samples");
  sub->add_option("--limit-test", f->limit_test, "Use only the first N test samples");
  sub->add_option("--predictions", f->predictions, "Also write the test set's logits to this .npy");
  sub->add_flag("--json", f->json, "Print the final report as JSON (progress goes to stderr)");
  return {sub, [f, sub]() {
            // The options as given, for the report (what reproduces the run).
            f->command_line = "lowp train";
            for (const CLI::Option* opt : sub->get_options()) {
              if (opt->count() == 0 || opt->get_name() == "--help") continue;
              f->command_line += " " + opt->get_name();
              for (const std::string& value : opt->results()) {
                if (opt->get_expected_min() > 0) f->command_line += " " + value;
              }
            }
            return run_train(*f);
          }};
}

}  // namespace lowp::cli
