// train/adam.h: the Adam optimizer (Kingma and Ba), as torch.optim.Adam computes it:
//   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2
//   w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace lowp {

struct AdamOptions {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
};

class Adam {
 public:
  // One state per parameter tensor, sized on first use.
  Adam(AdamOptions options, std::size_t tensors);
  void begin_step() { ++step_; }
  // Updates params[i] from grads[i] for tensor `index`.
  void update(std::size_t index, std::span<float> params, std::span<const float> grads);
  long step() const { return step_; }

 private:
  AdamOptions options_;
  long step_ = 0;
  std::vector<std::vector<float>> m_, v_;
};

}  // namespace lowp
