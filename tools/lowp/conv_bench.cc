// tools/lowp/conv_bench.cc
#include "conv_bench.h"

#include <cmath>
#include <vector>

#include "base/error.h"
#include "base/random.h"
#include "base/thread_pool.h"
#include "base/timer.h"
#include "kernels/convert/convert.h"

namespace lowp::cli {
namespace {

Conv2dShape conv(int hw, int c, int oc, int kernel, int stride, int groups = 1) {
  Conv2dShape s;
  s.in_h = s.in_w = hw;
  s.in_c = c;
  s.out_c = oc;
  s.kernel_h = s.kernel_w = kernel;
  s.stride_h = s.stride_w = stride;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = kernel / 2;
  s.groups = groups;
  return s;
}

}  // namespace

std::vector<ConvBenchCase> conv_bench_cases(const std::string& model) {
  if (model == "resnet18") {
    return {{"conv1 7x7/2 3->64 @224", conv(224, 3, 64, 7, 2)},
            {"layer1 3x3 64->64 @56", conv(56, 64, 64, 3, 1)},
            {"layer2 3x3/2 64->128 @56", conv(56, 64, 128, 3, 2)},
            {"layer2 3x3 128->128 @28", conv(28, 128, 128, 3, 1)},
            {"layer2 down 1x1/2 64->128 @56", conv(56, 64, 128, 1, 2)},
            {"layer3 3x3/2 128->256 @28", conv(28, 128, 256, 3, 2)},
            {"layer3 3x3 256->256 @14", conv(14, 256, 256, 3, 1)},
            {"layer4 3x3/2 256->512 @14", conv(14, 256, 512, 3, 2)},
            {"layer4 3x3 512->512 @7", conv(7, 512, 512, 3, 1)}};
  }
  if (model == "mobilenetv2") {
    return {{"stem 3x3/2 3->32 @224", conv(224, 3, 32, 3, 2)},
            {"dw 3x3 32 @112", conv(112, 32, 32, 3, 1, 32)},
            {"pw 1x1 32->16 @112", conv(112, 32, 16, 1, 1)},
            {"expand 1x1 24->144 @56", conv(56, 24, 144, 1, 1)},
            {"dw 3x3 144 @56", conv(56, 144, 144, 3, 1, 144)},
            {"project 1x1 144->24 @56", conv(56, 144, 24, 1, 1)},
            {"dw 3x3/2 144 @56", conv(56, 144, 144, 3, 2, 144)},
            {"dw 3x3 384 @14", conv(14, 384, 384, 3, 1, 384)},
            {"pw 1x1 384->64 @14", conv(14, 384, 64, 1, 1)},
            {"dw 3x3 960 @7", conv(7, 960, 960, 3, 1, 960)},
            {"head 1x1 320->1280 @7", conv(7, 320, 1280, 1, 1)}};
  }
  fail("bench conv: unknown model '{}'; use resnet18 or mobilenetv2", model);
}

ConvBenchResult run_conv_bench(const ConvBenchCase& c, int threads, double min_seconds,
                               bool cpu_time, const std::string& dtype) {
  if (dtype != "fp32" && dtype != "bf16" && dtype != "int8")
    fail("bench conv: --dtype must be fp32, bf16 or int8, not '{}'", dtype);
  LOWP_CHECK(!cpu_time || threads == 1, "bench conv: CPU time measures one thread only");
  const Conv2dShape& s = c.shape;
  s.validate();
  Random rng(1);
  std::vector<float> input(static_cast<std::size_t>(s.batch) * s.in_h * s.in_w * s.in_c);
  for (float& v : input) v = rng.uniform(-1.0f, 1.0f);
  std::vector<float> weights(static_cast<std::size_t>(s.out_c) * s.group_in_c() * s.kernel_h *
                             s.kernel_w);
  for (float& v : weights) v = rng.uniform(-0.1f, 0.1f);
  std::vector<float> bias(static_cast<std::size_t>(s.out_c), 0.01f);
  std::vector<float> output(static_cast<std::size_t>(s.batch) * s.out_h() * s.out_w() * s.out_c);
  ThreadPool pool(threads);
  ThreadPool* maybe_pool = threads > 1 ? &pool : nullptr;
  // Only the chosen dtype's buffers are filled.
  PackedConv2dWeights packed;
  Conv2dScratch scratch;
  PackedConv2dBf16Weights packed_bf16;
  Conv2dBf16Scratch scratch_bf16;
  std::vector<std::uint16_t> input_bf16;
  PackedConv2dInt8Weights packed_int8;
  Conv2dInt8Scratch scratch_int8;
  std::vector<std::uint8_t> input_u8, output_u8;
  std::vector<float> weight_scales(static_cast<std::size_t>(s.out_c), 0.01f);
  std::vector<std::int32_t> bias_q(static_cast<std::size_t>(s.out_c), 100);
  std::string kernel;
  if (dtype == "fp32") {
    packed = pack_conv2d_f32(s, weights.data());
    kernel = s.is_depthwise() ? "depthwise_f32" : "conv2d_f32";
  } else if (dtype == "bf16") {
    std::vector<std::uint16_t> wb(weights.size());
    convert_f32_to_bf16(weights.data(), wb.data(), wb.size());
    packed_bf16 = pack_conv2d_bf16(s, wb.data());
    input_bf16.resize(input.size());
    convert_f32_to_bf16(input.data(), input_bf16.data(), input.size());
    kernel = "conv2d_bf16";
  } else {
    std::vector<std::int8_t> wq(weights.size());
    for (std::size_t i = 0; i < wq.size(); ++i) wq[i] = static_cast<std::int8_t>(std::lround(weights[i] * 1270.0f));
    QConv2dParams params;
    params.input_zero_point = 128;
    params.input_scale = 0.01f;
    params.weight_scales = weight_scales.data();
    params.bias = bias_q.data();
    params.output = QGemmOutput::u8;
    params.output_scale = 0.05f;
    params.output_zero_point = 0;
    params.act = Activation::relu;
    packed_int8 = pack_conv2d_int8(s, wq.data(), params);
    input_u8.resize(input.size());
    for (std::size_t i = 0; i < input.size(); ++i) input_u8[i] = static_cast<std::uint8_t>(128.0f + 127.0f * input[i]);
    output_u8.resize(output.size());
    kernel = s.is_depthwise() ? "qdepthwise" : "conv2d_int8";
  }
  auto call = [&] {
    if (dtype == "fp32") {
      conv2d_f32(packed, input.data(), bias.data(), Activation::relu, output.data(), scratch, maybe_pool);
    } else if (dtype == "bf16") {
      conv2d_bf16(packed_bf16, input_bf16.data(), bias.data(), Activation::relu, output.data(), scratch_bf16,
                  maybe_pool);
    } else {
      conv2d_int8(packed_int8, input_u8.data(), nullptr, output_u8.data(), scratch_int8, maybe_pool);
    }
  };
  call();
  std::vector<double> per_call;
  auto time = [&](auto watch) {
    long calls = 0;
    do {
      call();
      ++calls;
    } while (watch.seconds() < min_seconds);
    return watch.seconds() / static_cast<double>(calls);
  };
  for (int repeat = 0; repeat < 5; ++repeat)
    per_call.push_back(cpu_time ? time(ThreadCpuStopwatch()) : time(Stopwatch()));
  ConvBenchResult r;
  r.name = c.name;
  r.shape = s;
  r.seconds = median(per_call);
  r.gflops = 2.0 * static_cast<double>(output.size()) * s.gemm_k() / r.seconds * 1e-9;
  r.kernel = kernel;
  return r;
}

}  // namespace lowp::cli
