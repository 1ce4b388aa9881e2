// tools/lowp/train_data.cc
#include "train_data.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "base/error.h"
#include "io/idx.h"
#include "io/npy.h"

namespace lowp::cli {
namespace {

train::Dataset from_fashion(const Dataset& split, std::size_t limit) {
  train::Dataset d;
  const std::size_t rows = std::min(split.labels.elements(), limit > 0 ? limit : SIZE_MAX);
  d.sample_shape = {28, 28, 1};
  auto pixels = split.images.values<std::uint8_t>();
  d.x.resize(rows * 784);
  for (std::size_t i = 0; i < d.x.size(); ++i) {
    d.x[i] = (static_cast<float>(pixels[i]) / 255.0f - kFashionMnistMean) / kFashionMnistStd;
  }
  auto labels = split.labels.values<std::uint8_t>();
  d.labels.assign(labels.begin(), labels.begin() + static_cast<std::ptrdiff_t>(rows));
  return d;
}

train::Dataset from_npy(const std::filesystem::path& dir, const std::string& split,
                        std::size_t limit) {
  const std::filesystem::path xp = dir / (split + "_x.npy"), yp = dir / (split + "_y.npy");
  for (const auto& p : {xp, yp}) {
    LOWP_CHECK(std::filesystem::exists(p),
               "--dataset {}: {} is missing (a data folder holds "
               "train_x.npy, train_y.npy, test_x.npy and test_y.npy)",
               dir.string(), p.filename().string());
  }
  Tensor x = read_npy(xp);
  Tensor y = read_npy(yp);
  const auto& xd = x.shape().dims();
  LOWP_CHECK(xd.size() >= 2 && xd.size() <= 4,
             "{}: shape {} is not [N, F], [N, H, W] or [N, C, H, W]", xp.string(), x.shape().str());
  LOWP_CHECK(y.shape().rank() == 1, "{}: labels of shape {} are not [N]", yp.string(),
             y.shape().str());
  LOWP_CHECK(y.shape()[0] == xd[0], "{}: {} samples but {} has {} labels: the counts must match",
             xp.string(), xd[0], yp.filename().string(), y.shape()[0]);
  const std::size_t rows = std::min(static_cast<std::size_t>(xd[0]), limit > 0 ? limit : SIZE_MAX);
  for (std::int64_t d : xd) {
    LOWP_CHECK(d >= 1 && d <= std::numeric_limits<int>::max(), "{}: dimension {} out of range",
               xp.string(), d);
  }
  train::Dataset out;
  std::vector<int> dims;
  for (std::size_t i = 1; i < xd.size(); ++i) dims.push_back(static_cast<int>(xd[i]));
  const std::size_t per = train::shape_elements(dims);
  std::vector<float> values(rows * per);
  if (x.dtype() == DType::float32) {
    auto v = x.values<float>();
    std::copy_n(v.begin(), values.size(), values.begin());
  } else if (x.dtype() == DType::uint8) {
    auto v = x.values<std::uint8_t>();
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(v[i]) / 255.0f;
  } else {
    fail("{}: dtype {} is not float32 or uint8", xp.string(), dtype_name(x.dtype()));
  }
  if (dims.size() == 3) {  // CHW -> HWC
    const std::size_t c = static_cast<std::size_t>(dims[0]),
                      hw = static_cast<std::size_t>(dims[1]) * dims[2];
    out.x.resize(values.size());
    for (std::size_t n = 0; n < rows; ++n) {
      for (std::size_t ch = 0; ch < c; ++ch) {
        for (std::size_t p = 0; p < hw; ++p)
          out.x[n * per + p * c + ch] = values[n * per + ch * hw + p];
      }
    }
    out.sample_shape = {dims[1], dims[2], dims[0]};
  } else {
    out.x = std::move(values);
    out.sample_shape = dims.size() == 2 ? std::vector<int>{dims[0], dims[1], 1} : dims;
  }
  out.labels.resize(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    std::int64_t label = 0;
    switch (y.dtype()) {
      case DType::int64:
        label = y.values<std::int64_t>()[i];
        break;
      case DType::int32:
        label = y.values<std::int32_t>()[i];
        break;
      case DType::uint8:
        label = y.values<std::uint8_t>()[i];
        break;
      default:
        fail("{}: labels of dtype {} are not int64, int32 or uint8", yp.string(),
             dtype_name(y.dtype()));
    }
    LOWP_CHECK(label >= std::numeric_limits<std::int32_t>::min() &&
                   label <= std::numeric_limits<std::int32_t>::max(),
               "{}: label {} of sample {} is out of range", yp.string(), label, i);
    out.labels[i] = static_cast<std::int32_t>(label);
  }
  return out;
}

}  // namespace

TrainData load_train_data(const std::string& source, std::size_t limit_train,
                          std::size_t limit_test) {
  TrainData data;
  if (source == "fashion-mnist") {
    FashionMnist f = load_fashion_mnist();
    data.train = from_fashion(f.train, limit_train);
    data.test = from_fashion(f.test, limit_test);
    data.description = fmt::format("Fashion-MNIST ({})", fashion_mnist_dir().string());
  } else {
    const std::filesystem::path dir(source);
    LOWP_CHECK(std::filesystem::is_directory(dir),
               "--dataset '{}' is neither fashion-mnist nor a folder of .npy files", source);
    data.train = from_npy(dir, "train", limit_train);
    data.test = from_npy(dir, "test", limit_test);
    data.description = fmt::format("{} (.npy)", dir.string());
  }
  return data;
}

void flatten_samples(train::Dataset& data) {
  if (data.sample_shape.size() == 3 && data.sample_shape[2] == 1) {
    data.sample_shape = {data.sample_shape[0] * data.sample_shape[1]};
  }
}

}  // namespace lowp::cli
