// tools/lowp/conv_bench.h: `lowp bench conv`: times the NHWC convolution (fp32, bf16 or
// int8 with u8 output) on the layer shapes of ResNet-18 and MobileNetV2 (224 x 224 input,
// batch 1).
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
  double gflops = 0.0;   // 2 x output elements x K / time (GOP/s for int8)
  std::string kernel;
};

// cpu_time: time with the calling thread's CPU clock (threads must be 1): on a machine shared
// with other processes, the time they are given is not counted.
// dtype: "fp32", "bf16" (bf16 input and weights, fp32 output) or "int8" (u8 input, s8
// weights, u8 requantized output).
ConvBenchResult run_conv_bench(const ConvBenchCase& c, int threads, double min_seconds = 0.2,
                               bool cpu_time = false, const std::string& dtype = "fp32");

}  // namespace lowp::cli
