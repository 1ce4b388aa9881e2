// bench/onednn/onednn_conv.cc: `lowp_onednn_conv`, oneDNN's convolution timed exactly as
// `lowp bench conv` times lowp's (tools/lowp/conv_bench.cc), so bench/run_conv.sh can put a C++
// peer in lowp's own layout beside each lowp figure, without Python's per-call cost.
//
// Same problem: fp32, batch 1, NHWC input and output (format tag acdb, lowp's layout), padding
// kernel / 2 on every side, dilation 1, bias, ReLU fused (a post-op); weights prepared once
// outside the timing (oneDNN picks its own layout, format_tag::any, as lowp packs its own),
// algorithm convolution_auto (oneDNN picks direct or Winograd), prop_kind forward_inference.
// Inputs uniform in [-1, 1], weights in [-0.1, 0.1], bias 0.01, as lowp's. Timing: one warm-up
// call, then 5 repeats of >= --min-seconds (default 0.2 s, lowp's) and the median per call;
// GFLOP/s = 2 x output elements x (kernel_h x kernel_w x in_c / groups) / time, lowp's count.
//
//   lowp_onednn_conv --h H [--w W] --c C --out-c OC --kernel K [--stride S] [--groups G] [--json]
//   lowp_onednn_conv --layers FILE [--json]   every layer of a `lowp bench conv --json` output
//                                            (one JSON object per line), in its order
//
// --json prints one object per layer with `lowp bench conv --json`'s fields (model, layer,
// threads, in, out_c, kernel, stride, groups, ms, gflops) and tool, onednn_version, impl.
// Threads: oneDNN's OpenMP runtime, so OMP_NUM_THREADS sets them (bench/run_conv.sh sets it);
// "threads" is that variable's value (0 when it is not set: the runtime's default).
// Built only where oneDNN is installed (bench/CMakeLists.txt).
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/random.h"
#include "base/timer.h"

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct Layer {
  std::string model, name;
  int h = 0, w = 0, c = 0, out_c = 0, kernel = 1, stride = 1, groups = 1;
};

void fill(const memory& mem, float lo, float hi, std::uint64_t seed) {
  lowp::Random rng(seed);
  auto* f = static_cast<float*>(mem.get_data_handle());
  for (std::size_t i = 0; i < mem.get_desc().get_size() / 4; ++i) f[i] = rng.uniform(lo, hi);
}

int threads_from_env() {
  const char* omp = std::getenv("OMP_NUM_THREADS");
  return omp != nullptr ? std::atoi(omp) : 0;
}

// Times one layer; prints its line.
void run(const Layer& l, double min_seconds, bool json) {
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const memory::dim pad = l.kernel / 2;
  const memory::dim oh = (l.h + 2 * pad - l.kernel) / l.stride + 1;
  const memory::dim ow = (l.w + 2 * pad - l.kernel) / l.stride + 1;
  const memory::dim g = l.groups, oc = l.out_c, ic = l.c, k = l.kernel;

  memory::desc src_md({1, ic, l.h, l.w}, dt::f32, tag::acdb);  // NHWC
  memory::desc dst_md({1, oc, oh, ow}, dt::f32, tag::acdb);
  memory::desc bias_md({oc}, dt::f32, tag::a);
  memory::dims wdims = g > 1 ? memory::dims{g, oc / g, ic / g, k, k} : memory::dims{oc, ic, k, k};
  memory::desc wei_any(wdims, dt::f32, tag::any);
  memory::desc wei_user(wdims, dt::f32, g > 1 ? tag::goihw : tag::oihw);  // PyTorch's layout

  dnnl::post_ops ops;
  ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                       dnnl::algorithm::convolution_auto, src_md, wei_any, bias_md,
                                       dst_md, {l.stride, l.stride}, {pad, pad}, {pad, pad});
  dnnl::convolution_forward::primitive_desc pd(desc, attr, engine);
  dnnl::convolution_forward conv(pd);

  memory user_w(wei_user, engine), weights(pd.weights_desc(), engine);
  fill(user_w, -0.1f, 0.1f, 1);
  dnnl::reorder(user_w, weights).execute(stream, user_w, weights);
  memory src(src_md, engine), dst(dst_md, engine), bias(bias_md, engine);
  fill(src, -1.0f, 1.0f, 2);
  std::fill_n(static_cast<float*>(bias.get_data_handle()), oc, 0.01f);
  stream.wait();

  const std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst}};
  auto call = [&] {
    conv.execute(stream, args);
    stream.wait();
  };
  call();
  std::vector<double> per_call;
  for (int repeat = 0; repeat < 5; ++repeat) {
    lowp::Stopwatch watch;
    long calls = 0;
    do {
      call();
      ++calls;
    } while (watch.seconds() < min_seconds);
    per_call.push_back(watch.seconds() / static_cast<double>(calls));
  }
  const double seconds = lowp::median(per_call);
  const double flops =
      2.0 * static_cast<double>(oh * ow * oc) * static_cast<double>(k * k * ic / g);
  const double gflops = flops / seconds * 1e-9;
  const dnnl_version_t* v = dnnl_version();
  const std::string version = fmt::format("{}.{}.{}", v->major, v->minor, v->patch);
  const std::string impl = pd.impl_info_str();
  if (json) {
    nlohmann::ordered_json j = {{"tool", "oneDNN"},
                                {"onednn_version", version},
                                {"model", l.model},
                                {"layer", l.name},
                                {"threads", threads_from_env()},
                                {"in", {l.h, l.w, l.c}},
                                {"out_c", l.out_c},
                                {"kernel", l.kernel},
                                {"stride", l.stride},
                                {"groups", l.groups},
                                {"impl", impl},
                                {"ms", seconds * 1e3},
                                {"gflops", gflops}};
    fmt::print("{}\n", j.dump());
  } else {
    fmt::print("oneDNN {} conv {}x{}x{} -> {} k{} s{} g{}{}: {:.3f} ms, {:.1f} GFLOP/s, impl {}\n",
               version, l.h, l.w, l.c, l.out_c, l.kernel, l.stride, l.groups,
               l.name.empty() ? "" : " (" + l.name + ")", seconds * 1e3, gflops, impl);
  }
  std::fflush(stdout);
}

int usage() {
  fmt::print(stderr,
             "usage: lowp_onednn_conv --h H [--w W] --c C --out-c OC --kernel K [--stride S] "
             "[--groups G] [--min-seconds S] [--json]\n"
             "       lowp_onednn_conv --layers FILE [--min-seconds S] [--json]\n"
             "FILE: `lowp bench conv --json` output. Threads: OMP_NUM_THREADS (oneDNN's OpenMP "
             "runtime)\n");
  return 2;
}

bool read_layers(const std::string& path, std::vector<Layer>& layers) {
  std::ifstream in(path);
  if (!in) {
    fmt::print(stderr, "lowp_onednn_conv: cannot read {}\n", path);
    return false;
  }
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line);
    Layer l;
    l.model = j.value("model", "");
    l.name = j.value("layer", "");
    l.h = j.at("in").at(0).get<int>();
    l.w = j.at("in").at(1).get<int>();
    l.c = j.at("in").at(2).get<int>();
    l.out_c = j.at("out_c").get<int>();
    l.kernel = j.at("kernel").get<int>();
    l.stride = j.at("stride").get<int>();
    l.groups = j.at("groups").get<int>();
    layers.push_back(l);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Layer one;
  std::string layers_path;
  double min_seconds = 0.2;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--json") {
      json = true;
      continue;
    }
    if (i + 1 >= argc) return usage();
    std::string v = argv[++i];
    if (a == "--layers") {
      layers_path = v;
    } else if (a == "--min-seconds") {
      min_seconds = std::atof(v.c_str());
      if (!(min_seconds > 0.0)) return usage();
    } else {
      int x = std::atoi(v.c_str());
      if (x < 1) return usage();
      if (a == "--h") {
        one.h = x;
      } else if (a == "--w") {
        one.w = x;
      } else if (a == "--c") {
        one.c = x;
      } else if (a == "--out-c") {
        one.out_c = x;
      } else if (a == "--kernel") {
        one.kernel = x;
      } else if (a == "--stride") {
        one.stride = x;
      } else if (a == "--groups") {
        one.groups = x;
      } else {
        return usage();
      }
    }
  }
  std::vector<Layer> layers;
  if (!layers_path.empty()) {
    try {
      if (!read_layers(layers_path, layers)) return 1;
    } catch (const nlohmann::json::exception& e) {
      fmt::print(stderr, "lowp_onednn_conv: {}: not `lowp bench conv --json` output: {}\n",
                 layers_path, e.what());
      return 1;
    }
  } else {
    if (one.w == 0) one.w = one.h;  // square by default, as every benchmarked layer
    if (one.h < 1 || one.c < 1 || one.out_c < 1) return usage();
    layers.push_back(one);
  }
  for (const Layer& l : layers) {
    if (l.c % l.groups != 0 || l.out_c % l.groups != 0) {
      fmt::print(stderr, "lowp_onednn_conv: channels {} -> {} not divisible by groups {}\n", l.c,
                 l.out_c, l.groups);
      return 2;
    }
    try {
      run(l, min_seconds, json);
    } catch (const dnnl::error& e) {
      fmt::print(stderr, "lowp_onednn_conv: oneDNN error on {}: {} (status {})\n",
                 l.name.empty() ? "the layer" : l.name, e.what(), static_cast<int>(e.status));
      return 1;
    }
  }
  return 0;
}
