// bench/onednn/onednn_gemm.cc: `lowp_onednn_gemm`, oneDNN's matmul timed exactly as
// `lowp bench gemm` times lowp's (tools/lowp/gemm_bench.cc), so bench/run_kernels.sh can put a
// C++ peer beside each lowp figure without Python's per-call cost in the way.
//
// Same problem: C[m,n] = A[m,k] W[n,k]^T, weights prepared once outside the timing (oneDNN
// picks its own blocked layout, format_tag::any, as lowp packs its panels), warm-up, then 5
// repeats of >= 0.3 s and the median time per call; --cold cycles weight copies totalling 4x
// the last-level cache. Dtypes, as close to lowp's contracts as oneDNN 2.6 allows:
//   fp32  f32 x f32 -> f32
//   bf16  bf16 x bf16 -> f32: oneDNN 2.6 has no f32 x bf16-weights matmul, so its
//         activations are bf16 where lowp's are fp32 (conversion not timed here)
//   int8  u8 x s8 -> f32, runtime source zero point and per-output-channel scales: lowp's
//         int8 epilogue (zero-point offset, one fp32 multiply per output)
// Threads: oneDNN's OpenMP runtime, so OMP_NUM_THREADS sets them (run_kernels.sh passes 1).
// Built only where oneDNN is installed (bench/CMakeLists.txt).
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
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

std::size_t last_level_cache_bytes() {  // as tools/lowp/gemm_bench.cc does
  for (int index = 4; index >= 2; --index) {
    std::ifstream in("/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/size");
    std::string text;
    if (in >> text && !text.empty()) {
      std::size_t value = std::stoull(text);
      if (text.back() == 'K') value <<= 10;
      if (text.back() == 'M') value <<= 20;
      return value;
    }
  }
  return std::size_t{64} << 20;
}

void fill(const memory& mem, dt type, std::uint64_t seed) {
  lowp::Random rng(seed);
  std::size_t bytes = mem.get_desc().get_size();
  auto* p = static_cast<std::uint8_t*>(mem.get_data_handle());
  if (type == dt::f32) {
    auto* f = reinterpret_cast<float*>(p);
    for (std::size_t i = 0; i < bytes / 4; ++i) f[i] = rng.uniform(-1.0f, 1.0f);
  } else if (type == dt::bf16) {
    auto* h = reinterpret_cast<std::uint16_t*>(p);  // bf16 = the top half of an fp32
    for (std::size_t i = 0; i < bytes / 2; ++i) {
      float x = rng.uniform(-1.0f, 1.0f);
      std::uint32_t bits;
      std::memcpy(&bits, &x, 4);
      h[i] = static_cast<std::uint16_t>(bits >> 16);
    }
  } else if (type == dt::u8) {
    for (std::size_t i = 0; i < bytes; ++i) p[i] = static_cast<std::uint8_t>(rng.below(256));
  } else {  // s8, symmetric as lowp's: [-127, 127]
    for (std::size_t i = 0; i < bytes; ++i)
      p[i] = static_cast<std::uint8_t>(
          static_cast<std::int8_t>(static_cast<int>(rng.below(255)) - 127));
  }
}

struct Options {
  int m = 1, n = 4096, k = 4096;
  std::string dtype = "fp32";
  bool cold = false, json = false;
  double min_seconds = 0.3;
};

int usage() {
  fmt::print(stderr,
             "usage: lowp_onednn_gemm --m M --n N --k K --dtype fp32|bf16|int8 [--cold] [--json]\n"
             "threads: OMP_NUM_THREADS (oneDNN's OpenMP runtime)\n");
  return 2;
}

int run(const Options& o) {
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const memory::dim m = o.m, n = o.n, k = o.k;
  dt src_t = dt::f32, wei_t = dt::f32;
  std::size_t weight_bytes = 4 * static_cast<std::size_t>(n * k);
  if (o.dtype == "bf16") {
    src_t = wei_t = dt::bf16;
    weight_bytes = 2 * static_cast<std::size_t>(n * k);
  } else if (o.dtype == "int8") {
    src_t = dt::u8;
    wei_t = dt::s8;
    weight_bytes = static_cast<std::size_t>(n * k + 4 * n);  // + fp32 scales, as lowp counts
  } else if (o.dtype != "fp32") {
    fmt::print(stderr, "lowp_onednn_gemm: --dtype must be fp32, bf16 or int8, got '{}'\n", o.dtype);
    return 2;
  }
  const bool int8 = o.dtype == "int8";

  memory::desc src_md({m, k}, src_t, tag::ab);
  memory::desc wei_any({k, n}, wei_t, tag::any);
  memory::desc wei_user({k, n}, wei_t, tag::ba);  // W[n][k], lowp's (and PyTorch's) layout
  memory::desc dst_md({m, n}, dt::f32, tag::ab);
  dnnl::primitive_attr attr;
  if (int8) {
    attr.set_output_scales(1 << 1, {DNNL_RUNTIME_F32_VAL});
    attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
  }
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, wei_any, dst_md), attr, engine);
  dnnl::matmul matmul(pd);

  int copies = 1;
  if (o.cold) {
    std::size_t target = 4 * last_level_cache_bytes();
    copies = static_cast<int>(std::max<std::size_t>(2, (target + weight_bytes - 1) / weight_bytes));
  }
  memory user_w(wei_user, engine);
  fill(user_w, wei_t, 1);
  std::vector<memory> weights;
  for (int i = 0; i < copies; ++i) {
    weights.emplace_back(pd.weights_desc(), engine);
    dnnl::reorder(user_w, weights.back()).execute(stream, user_w, weights.back());
  }
  memory src(src_md, engine), dst(dst_md, engine);
  fill(src, src_t, 2);
  memory scales({{n}, dt::f32, tag::a}, engine), zero_point({{1}, dt::s32, tag::a}, engine);
  std::fill_n(static_cast<float*>(scales.get_data_handle()), n, 1e-4f);
  *static_cast<std::int32_t*>(zero_point.get_data_handle()) = 128;
  stream.wait();

  auto call = [&](int i) {
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, src},
        {DNNL_ARG_WEIGHTS, weights[static_cast<std::size_t>(i)]},
        {DNNL_ARG_DST, dst}};
    if (int8) {
      args.insert({DNNL_ARG_ATTR_OUTPUT_SCALES, scales});
      args.insert({DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, zero_point});
    }
    matmul.execute(stream, args);
    stream.wait();
  };
  for (int i = 0; i < std::min(copies, 8); ++i) call(i);
  std::vector<double> per_call;
  int next = 0;
  for (int repeat = 0; repeat < 5; ++repeat) {
    lowp::Stopwatch watch;
    long calls = 0;
    do {
      call(next);
      next = (next + 1) % copies;
      ++calls;
    } while (watch.seconds() < o.min_seconds);
    per_call.push_back(watch.seconds() / static_cast<double>(calls));
  }
  double seconds = lowp::median(per_call);
  double gflops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) /
                  seconds * 1e-9;
  const dnnl_version_t* v = dnnl_version();
  std::string version = fmt::format("{}.{}.{}", v->major, v->minor, v->patch);
  std::string impl = pd.impl_info_str();
  const char* omp = std::getenv("OMP_NUM_THREADS");
  if (o.json) {
    nlohmann::ordered_json j = {
        {"tool", "oneDNN"},
        {"onednn_version", version},
        {"m", o.m},
        {"n", o.n},
        {"k", o.k},
        {"dtype", o.dtype},
        {"cold", o.cold},
        {"copies", copies},
        {"omp_num_threads", omp ? omp : ""},
        {"impl", impl},
        {"seconds_per_call", seconds},
        {"gflops", gflops},
        {"weight_bytes", weight_bytes},
        {"weight_gbytes_per_s", static_cast<double>(weight_bytes) / seconds * 1e-9}};
    fmt::print("{}\n", j.dump());
  } else {
    fmt::print(
        "oneDNN {} matmul m={} n={} k={} {}{}: {:.3f} ms, {:.1f} {}, weights {:.2f} GB/s, impl "
        "{}\n",
        version, o.m, o.n, o.k, o.dtype, o.cold ? fmt::format(" cold x {}", copies) : "",
        seconds * 1e3, gflops, int8 ? "GOP/s" : "GFLOP/s",
        static_cast<double>(weight_bytes) / seconds * 1e-9, impl);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--cold") {
      o.cold = true;
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--m" || a == "--n" || a == "--k" || a == "--dtype") {
      const char* v = value();
      if (v == nullptr) return usage();
      if (a == "--dtype") {
        o.dtype = v;
      } else {
        int x = std::atoi(v);
        if (x < 1) return usage();
        (a == "--m" ? o.m : a == "--n" ? o.n : o.k) = x;
      }
    } else {
      return usage();
    }
  }
  try {
    return run(o);
  } catch (const dnnl::error& e) {
    fmt::print(stderr, "lowp_onednn_gemm: oneDNN error: {} (status {})\n", e.what(),
               static_cast<int>(e.status));
    return 1;
  }
}
