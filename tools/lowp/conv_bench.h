// tools/lowp/conv_bench.h: `lowp bench conv`: times the fp32 NHWC convolution on the layer
// shapes of ResNet-18 and MobileNetV2 (224 x 224 input, batch 1), or on one given shape.
#pragma once

#include <string>
#include <vector>

#include "kernels/conv/conv2d.h"

namespace lowp::cli {

struct ConvBenchCase {
  std::string name;
  Conv2dShape shape;
};

// "resnet18" or "mobilenetv2". Throws lowp::Error for another name.
std::vector<ConvBenchCase> conv_bench_cases(const std::string& model);

struct ConvBenchResult {
  std::string name;
  Conv2dShape shape;
  double seconds = 0.0;  // median per call
  double gflops = 0.0;   // 2 x output elements x K / time
};

// cpu_time: time with the calling thread's CPU clock (threads must be 1): on a machine shared
// with other processes, the time they are given is not counted.
ConvBenchResult run_conv_bench(const ConvBenchCase& c, int threads, double min_seconds = 0.2,
                               bool cpu_time = false);

}  // namespace lowp::cli
