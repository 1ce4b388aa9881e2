// quant/range_estimator.cc
#include "quant/range_estimator.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/error.h"

namespace lowp::quant {

RangeMethod parse_range_method(const std::string& name) {
  if (name == "minmax") return RangeMethod::minmax;
  if (name == "percentile") return RangeMethod::percentile;
  if (name == "entropy") return RangeMethod::entropy;
  if (name == "mse") return RangeMethod::mse;
  throw Error(fmt::format("unknown calibration method '{}': use minmax, percentile, entropy or mse", name));
}

const char* range_method_name(RangeMethod m) {
  switch (m) {
    case RangeMethod::minmax:
      return "minmax";
    case RangeMethod::percentile:
      return "percentile";
    case RangeMethod::entropy:
      return "entropy";
    case RangeMethod::mse:
      return "mse";
  }
  return "?";
}

AbsHistogram::AbsHistogram(float abs_max, int bins)
    : abs_max_(abs_max), width_(abs_max > 0 ? abs_max / static_cast<float>(bins) : 1.0f),
      counts_(static_cast<std::size_t>(bins), 0.0) {
  LOWP_CHECK(bins >= 16, "a calibration histogram needs at least 16 bins, got {}", bins);
}

void AbsHistogram::add(std::span<const float> values) {
  const auto last = static_cast<std::int64_t>(counts_.size()) - 1;
  const float inv = 1.0f / width_;
  for (float v : values) {
    if (!std::isfinite(v)) continue;
    auto b = static_cast<std::int64_t>(std::fabs(v) * inv);
    counts_[static_cast<std::size_t>(std::clamp<std::int64_t>(b, 0, last))] += 1.0;
  }
}

namespace {

double total(const std::vector<double>& c) {
  double t = 0;
  for (double x : c) t += x;
  return t;
}

float percentile_threshold(const AbsHistogram& h, double p) {
  const auto& c = h.counts();
  double goal = total(c) * p / 100.0, seen = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    seen += c[i];
    if (seen >= goal) return static_cast<float>(i + 1) * h.bin_width();
  }
  return h.abs_max();
}

// KL(P || Q) where P is the histogram clipped at bin i (outliers added to its last bin)
// and Q is P merged into `levels` equal groups of bins, each group's mass spread over its
// non-empty bins.
double kl_at(const std::vector<double>& c, std::size_t i, int levels) {
  std::vector<double> p(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(i));
  for (std::size_t j = i; j < c.size(); ++j) p[i - 1] += c[j];
  std::vector<double> q(i, 0.0);
  for (int g = 0; g < levels; ++g) {
    std::size_t a = i * static_cast<std::size_t>(g) / static_cast<std::size_t>(levels);
    std::size_t b = i * static_cast<std::size_t>(g + 1) / static_cast<std::size_t>(levels);
    double mass = 0;
    std::size_t nonzero = 0;
    for (std::size_t j = a; j < b; ++j) {
      mass += c[j];  // unclipped, as TensorRT does
      nonzero += c[j] > 0;
    }
    for (std::size_t j = a; j < b; ++j) q[j] = c[j] > 0 ? mass / static_cast<double>(nonzero) : 0.0;
  }
  double sp = total(p), sq = total(q);
  if (sp <= 0 || sq <= 0) return std::numeric_limits<double>::infinity();
  double kl = 0;
  for (std::size_t j = 0; j < i; ++j) {
    if (p[j] <= 0) continue;
    double pj = p[j] / sp, qj = q[j] / sq;
    if (qj <= 0) qj = 1e-12;  // a bin P has and Q lost: heavily penalized, never infinite
    kl += pj * std::log(pj / qj);
  }
  return kl;
}

float entropy_threshold(const AbsHistogram& h, int levels) {
  const auto& c = h.counts();
  std::size_t start = std::min<std::size_t>(static_cast<std::size_t>(levels), c.size());
  double best = std::numeric_limits<double>::infinity();
  std::size_t best_i = c.size();
  // Every 4th candidate past the first `levels` bins, plus the full range: 2048 bins give
  // ~500 candidates, each O(bins).
  std::vector<std::size_t> candidates;
  for (std::size_t i = start; i < c.size(); i += 4) candidates.push_back(i);
  candidates.push_back(c.size());
  for (std::size_t i : candidates) {
    double kl = kl_at(c, i, levels);
    if (kl < best) {
      best = kl;
      best_i = i;
    }
  }
  return static_cast<float>(best_i) * h.bin_width();
}

float mse_threshold(const AbsHistogram& h, int levels) {
  const auto& c = h.counts();
  double w = h.bin_width();
  double best = std::numeric_limits<double>::infinity();
  float best_t = h.abs_max();
  for (std::size_t i = 8; i <= c.size(); i += 8) {
    double t = static_cast<double>(i) * w;
    double step = t / levels;
    double err = 0;
    for (std::size_t j = 0; j < c.size(); ++j) {
      if (c[j] <= 0) continue;
      double center = (static_cast<double>(j) + 0.5) * w;
      err += c[j] * (center > t ? (center - t) * (center - t) : step * step / 12.0);
    }
    if (err < best) {
      best = err;
      best_t = static_cast<float>(t);
    }
  }
  return best_t;
}

}  // namespace

float choose_threshold(const AbsHistogram& h, RangeMethod method, double percentile, int levels) {
  if (h.abs_max() <= 0 || total(h.counts()) <= 0) return h.abs_max();
  switch (method) {
    case RangeMethod::minmax:
      return h.abs_max();
    case RangeMethod::percentile:
      return percentile_threshold(h, percentile);
    case RangeMethod::entropy:
      return entropy_threshold(h, levels);
    case RangeMethod::mse:
      return mse_threshold(h, levels);
  }
  return h.abs_max();
}

Range clip_range(float min, float max, float threshold) {
  return {std::max(min, -threshold), std::min(max, threshold)};
}

}  // namespace lowp::quant
