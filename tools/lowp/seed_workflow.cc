// tools/lowp/seed_workflow.cc
#include "seed_workflow.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "base/cpu.h"
#include "base/random.h"
#include "base/thread_pool.h"
#include "base/timer.h"
#include "io/idx.h"
#include "reduce/pca.h"
#include "runtime/compiled_mlp.h"
#include "runtime/measure.h"
#include "runtime/mlp_calibration.h"
#include "train/classifier_training.h"

namespace lowp::cli {
namespace {

// uint8 pixels [n][28][28] to floats in [0, 1], [n][784].
std::vector<float> pixels_to_floats(const Tensor& images) {
  auto pixels = images.values<std::uint8_t>();
  std::vector<float> out(pixels.size());
  for (std::size_t i = 0; i < pixels.size(); ++i) out[i] = static_cast<float>(pixels[i]) / 255.0f;
  return out;
}

double accuracy_of(const std::vector<float>& logits, const std::uint8_t* labels, std::size_t rows,
                   int classes) {
  std::vector<std::int32_t> predicted(rows);
  argmax_rows(logits.data(), rows, classes, predicted.data());
  std::size_t correct = 0;
  for (std::size_t r = 0; r < rows; ++r) correct += predicted[r] == labels[r];
  return static_cast<double>(correct) / static_cast<double>(rows);
}

}  // namespace

SeedReport run_seed_workflow(const SeedOptions& options,
                             const std::function<void(const std::string&)>& progress) {
  SeedReport report;
  report.isa = isa_name(active_isa());
  report.threads = options.threads;
  report.epochs = options.epochs;
  ThreadPool pool(options.threads);
  ThreadPool* maybe_pool = options.threads > 1 ? &pool : nullptr;

  // 1. Data.
  progress(fmt::format("loading Fashion-MNIST from {}", options.data_dir.string()));
  FashionMnist data = load_fashion_mnist(options.data_dir);
  std::vector<float> train_pixels = pixels_to_floats(data.train.images);
  std::vector<float> test_pixels = pixels_to_floats(data.test.images);
  const std::size_t train_rows = data.train.labels.elements();
  const std::size_t test_rows = data.test.labels.elements();
  const int input_dim = static_cast<int>(train_pixels.size() / train_rows);
  const std::uint8_t* train_labels = data.train.labels.values<std::uint8_t>().data();
  const std::uint8_t* test_labels = data.test.labels.values<std::uint8_t>().data();
  report.train_rows = static_cast<int>(train_rows);
  report.test_rows = static_cast<int>(test_rows);
  report.input_dim = input_dim;

  // 2. PCA.
  Stopwatch watch;
  Pca pca = fit_pca(train_pixels.data(), train_rows, input_dim, options.components);
  report.pca_fit_seconds = watch.seconds();
  report.components = options.components;
  report.explained_variance = pca.explained_variance_ratio;
  PcaProjection projection(pca);
  const std::size_t c = static_cast<std::size_t>(options.components);
  std::vector<float> train_x(train_rows * c), test_x(test_rows * c);
  projection.apply(train_pixels.data(), train_rows, train_x.data(), maybe_pool);
  projection.apply(test_pixels.data(), test_rows, test_x.data(), maybe_pool);
  {
    std::vector<float> one(c);
    report.pca_latency_us_b1 = median_latency_us([&](std::size_t i) {
      projection.apply(test_pixels.data() + (i % test_rows) * static_cast<std::size_t>(input_dim),
                       1, one.data());
    });
    report.pca_throughput_sps = throughput_samples_per_second(
        [&] { projection.apply(test_pixels.data(), test_rows, test_x.data(), maybe_pool); },
        test_rows);
  }
  progress(fmt::format("pca: {} -> {} components, explained variance {:.4f} (fit {:.2f} s)",
                       input_dim, options.components, pca.explained_variance_ratio,
                       report.pca_fit_seconds));

  // 3. Train SimpleNet.
  const int sizes[] = {options.components, options.hidden, 10};
  Mlp mlp = make_mlp(sizes, options.seed);
  TrainOptions train_options;
  train_options.epochs = options.epochs;
  train_options.batch = 64;
  train_options.seed = options.seed;
  watch.restart();
  train_classifier(
      mlp, {train_x.data(), train_labels, train_rows}, {test_x.data(), test_labels, test_rows},
      train_options, maybe_pool, [&](const EpochReport& r) {
        progress(fmt::format("epoch {:>2}/{}  loss {:.4f}  test accuracy {:.4f}  ({:.2f} s)",
                             r.epoch, r.epochs, r.train_loss, r.test_accuracy, r.seconds));
      });
  report.train_seconds = watch.seconds();

  // 4. Calibration on a fixed random subset of the training set.
  std::vector<std::uint32_t> order(train_rows);
  std::iota(order.begin(), order.end(), 0u);
  Random rng(options.seed + 1);
  rng.shuffle(std::span<std::uint32_t>(order));
  std::size_t calib_rows =
      std::min<std::size_t>(static_cast<std::size_t>(options.calibration_samples), train_rows);
  std::vector<float> calib_x(calib_rows * c);
  for (std::size_t r = 0; r < calib_rows; ++r) {
    std::copy_n(train_x.data() + order[r] * c, c, calib_x.data() + r * c);
  }
  MlpCalibration calibration = calibrate_mlp(mlp, calib_x.data(), calib_rows);
  progress(fmt::format("calibration: {} training samples", calib_rows));

  // 5. Each precision, measured.
  std::vector<float> logits(test_rows * 10);
  for (Precision p : options.precisions) {
    CompiledMlp compiled(mlp, p, &calibration, 256);
    PrecisionRow row;
    row.precision = p;
    compiled.run(test_x.data(), test_rows, logits.data(), maybe_pool);
    row.accuracy = accuracy_of(logits, test_labels, test_rows, 10);
    std::vector<float> one(10);
    row.latency_us_b1 = median_latency_us(
        [&](std::size_t i) { compiled.run(test_x.data() + (i % test_rows) * c, 1, one.data()); });
    row.throughput_sps = throughput_samples_per_second(
        [&] { compiled.run(test_x.data(), test_rows, logits.data(), maybe_pool); }, test_rows);
    row.weight_bytes = compiled.weight_bytes();
    row.packed_bytes = compiled.packed_bytes();
    row.kernels = compiled.kernel_names();
    progress(fmt::format("{}: accuracy {:.4f}", precision_name(p), row.accuracy));
    report.rows.push_back(std::move(row));
  }
  return report;
}

}  // namespace lowp::cli
