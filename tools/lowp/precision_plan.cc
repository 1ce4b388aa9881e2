// tools/lowp/precision_plan.cc
#include "precision_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <set>

#include "base/error.h"
#include "base/random.h"
#include "base/timer.h"
#include "gemm_bench.h"
#include "passes/passes.h"
#include "ir/ops_nn.h"
#include "ir/schema.h"
#include "kernels/conv/conv2d.h"
#include "kernels/convert/convert.h"
#include "kernels/quantize/quantize.h"
#include "model_inputs.h"
#include "onnx/import.h"
#include "runtime/session.h"

namespace lowp::cli {
namespace {

// Median seconds per call over 5 repeats of at least `min_seconds`, after one warm-up call.
double time_call(const std::function<void()>& call, double min_seconds) {
  call();
  std::vector<double> per_call;
  for (int repeat = 0; repeat < 5; ++repeat) {
    Stopwatch watch;
    long calls = 0;
    do {
      call();
      ++calls;
    } while (watch.seconds() < min_seconds);
    per_call.push_back(watch.seconds() / static_cast<double>(calls));
  }
  return median(per_call);
}

enum class ConvKind { f32, bf16, int8 };

// One convolution kernel on random data of `s`, NHWC as lowp runs it; bf16 includes the
// conversion of its fp32 input.
double time_conv(const Conv2dShape& s, ConvKind kind, double min_seconds, int threads, std::string& kernel) {
  Random rng(7);
  const std::size_t in = static_cast<std::size_t>(s.batch) * s.in_h * s.in_w * s.in_c;
  const std::size_t out = static_cast<std::size_t>(s.batch) * s.out_h() * s.out_w() * s.out_c;
  const std::size_t wn = static_cast<std::size_t>(s.out_c) * s.group_in_c() * s.kernel_h * s.kernel_w;
  std::vector<float> x(in), w(wn), bias(static_cast<std::size_t>(s.out_c), 0.01f), y(out);
  for (float& v : x) v = rng.uniform(-1.0f, 1.0f);
  for (float& v : w) v = rng.uniform(-0.1f, 0.1f);
  ThreadPool pool(threads);
  ThreadPool* maybe_pool = threads > 1 ? &pool : nullptr;
  switch (kind) {
    case ConvKind::f32: {
      PackedConv2dWeights packed = pack_conv2d_f32(s, w.data());
      Conv2dScratch scratch;
      kernel = s.is_depthwise() ? "conv2d_f32 (depthwise)" : "conv2d_f32";
      return time_call([&] { conv2d_f32(packed, x.data(), bias.data(), Activation::none, y.data(), scratch, maybe_pool); },
                       min_seconds);
    }
    case ConvKind::bf16: {
      std::vector<std::uint16_t> wb(wn), xb(in);
      convert_f32_to_bf16(w.data(), wb.data(), wn);
      PackedConv2dBf16Weights packed = pack_conv2d_bf16(s, wb.data());
      Conv2dBf16Scratch scratch;
      kernel = "conv2d_bf16 + fp32->bf16 input";
      return time_call(
          [&] {
            convert_f32_to_bf16(x.data(), xb.data(), in);
            conv2d_bf16(packed, xb.data(), bias.data(), Activation::none, y.data(), scratch, maybe_pool);
          },
          min_seconds);
    }
    case ConvKind::int8: {
      std::vector<std::int8_t> wq(wn);
      for (auto& v : wq) v = static_cast<std::int8_t>(static_cast<int>(rng.below(255)) - 127);
      std::vector<std::uint8_t> xq(in), yq(out);
      for (auto& v : xq) v = static_cast<std::uint8_t>(rng.below(256));
      std::vector<float> scales(static_cast<std::size_t>(s.out_c), 0.01f);
      std::vector<std::int32_t> qbias(static_cast<std::size_t>(s.out_c), 100);
      QConv2dParams p;
      p.input_zero_point = 128;
      p.input_scale = 0.02f;
      p.weight_scales = scales.data();
      p.bias = qbias.data();
      p.output = QGemmOutput::u8;
      p.output_scale = 0.05f;
      PackedConv2dInt8Weights packed = pack_conv2d_int8(s, wq.data(), p);
      Conv2dInt8Scratch scratch;
      kernel = s.is_depthwise() ? "conv2d_int8 (depthwise)" : "conv2d_int8";
      return time_call([&] { conv2d_int8(packed, xq.data(), nullptr, yq.data(), scratch, maybe_pool); }, min_seconds);
    }
  }
  return 0;
}

double time_quantize(std::size_t n, bool dequantize, double min_seconds) {
  std::vector<float> x(n, 0.5f);
  std::vector<std::uint8_t> q(n, 7);
  if (dequantize) return time_call([&] { dequantize_u8(q.data(), n, 0.01f, 3, x.data()); }, min_seconds);
  return time_call([&] { quantize_u8(x.data(), n, 0.01f, 3, q.data()); }, min_seconds);
}

std::size_t elements(const ir::Value* v) {
  return v && v->type.is_concrete() ? v->type.concrete_shape().elements() : 0;
}


// A layer's shapes, when it has constant float weights lowp's kernels take.
struct Layer {
  bool conv = false;
  Conv2dShape conv_shape;
  int m = 0, n = 0, k = 0;
};

std::optional<Layer> layer_of(const ir::Node& node) {
  if (!node.domain.empty()) return std::nullopt;
  auto float_constant = [](const ir::Value* v) {
    return v && v->constant && v->constant->dtype() == DType::float32;
  };
  if (node.op_type == "Conv") {
    const ir::Value* x = node.inputs[0];
    if (!float_constant(node.inputs[1]) || !x->type.is_concrete() || x->type.rank() != 4) return std::nullopt;
    if (node.has_input(2) && !float_constant(node.inputs[2])) return std::nullopt;
    const Shape xs = x->type.concrete_shape();
    const Shape& ws = node.inputs[1]->constant->shape();
    if (ws.rank() != 4) return std::nullopt;
    std::vector<ir::Dim> dims;
    for (std::int64_t d : xs.dims()) dims.push_back(ir::Dim::known(d));
    ir::InferContext ctx(node);
    ir::WindowGeometry g = ir::window_geometry(ctx, dims, {ws[2], ws[3]}, false);
    Layer l;
    l.conv = true;
    Conv2dShape& s = l.conv_shape;
    s.batch = static_cast<int>(xs[0]);
    s.in_c = static_cast<int>(xs[1]);
    s.in_h = static_cast<int>(xs[2]);
    s.in_w = static_cast<int>(xs[3]);
    s.out_c = static_cast<int>(ws[0]);
    s.kernel_h = static_cast<int>(ws[2]);
    s.kernel_w = static_cast<int>(ws[3]);
    s.stride_h = static_cast<int>(g.strides[0]);
    s.stride_w = static_cast<int>(g.strides[1]);
    s.dilation_h = static_cast<int>(g.dilations[0]);
    s.dilation_w = static_cast<int>(g.dilations[1]);
    s.pad_top = static_cast<int>(g.pads[0]);
    s.pad_left = static_cast<int>(g.pads[1]);
    s.pad_bottom = static_cast<int>(g.pads[2]);
    s.pad_right = static_cast<int>(g.pads[3]);
    s.groups = static_cast<int>(node.attr_int("group", 1));
    s.validate();
    return l;
  }
  if (node.op_type == "Gemm" || node.op_type == "MatMul") {
    const ir::Value* a = node.inputs[0];
    const ir::Value* b = node.inputs[1];
    if (!float_constant(b) || b->constant->shape().rank() != 2 || !a->type.is_concrete() || a->type.rank() < 1)
      return std::nullopt;
    bool gemm = node.op_type == "Gemm";
    if (gemm && node.attr_int("transA", 0) != 0) return std::nullopt;
    bool trans_b = gemm && node.attr_int("transB", 0) != 0;
    const Shape& bs = b->constant->shape();
    Layer l;
    l.k = static_cast<int>(trans_b ? bs[1] : bs[0]);
    l.n = static_cast<int>(trans_b ? bs[0] : bs[1]);
    std::size_t rows = a->type.concrete_shape().elements() / static_cast<std::size_t>(std::max(l.k, 1));
    l.m = static_cast<int>(std::max<std::size_t>(rows, 1));
    return l;
  }
  return std::nullopt;
}

std::string conv_text(const Conv2dShape& s) {
  return fmt::format("{}x{}/{} {}->{}{} @{}x{} n{}", s.kernel_h, s.kernel_w, s.stride_h, s.in_c, s.out_c,
                     s.groups > 1 ? fmt::format(" g{}", s.groups) : "", s.in_h, s.in_w, s.batch);
}

}  // namespace

PrecisionPlan plan_precision(const std::filesystem::path& path, const PrecisionPlanOptions& o) {
  const std::string& p = o.precision;
  LOWP_CHECK(p == "int8" || p == "int8-dynamic" || p == "fp16" || p == "bf16" || p == "int4",
             "inspect: --precision {} is not one of int8, int8-dynamic, fp16, bf16, int4", p);
  std::unique_ptr<ir::Graph> model = onnx_io::import_model(path);
  // The model's nodes with concrete shapes: a session specializes a copy for the inputs
  // (not optimized, so the nodes are the model's own).
  runtime::SessionOptions so;
  so.optimize = false;
  LoadedInputs inputs = synthetic_inputs(*model, o.dims, 1);
  runtime::Session session(std::move(model), so);
  const runtime::Plan& specialized = session.plan_for(inputs.named());
  const ir::Graph& g = *specialized.graph;

  PrecisionPlan plan;
  plan.precision = p;
  std::map<std::string, std::pair<double, std::string>> cache;  // timings by kernel and shape
  auto timed = [&](const std::string& key, const std::function<double(std::string&)>& run) {
    auto it = cache.find(key);
    if (it == cache.end()) {
      std::string kernel;
      double s = run(kernel);
      it = cache.emplace(key, std::make_pair(s, kernel)).first;
    }
    return it->second;
  };
  auto gemm_time = [&](const Layer& l, Precision dtype, bool dynamic) {
    std::string key = fmt::format("gemm {} {} {} {} {}", precision_name(dtype), dynamic, l.m, l.n, l.k);
    return timed(key, [&](std::string& kernel) {
      GemmBenchOptions b;
      b.m = l.m;
      b.n = l.n;
      b.k = l.k;
      b.dtype = dtype;
      b.int8_dynamic = dynamic;
      b.threads = o.threads;
      b.min_seconds = o.min_seconds;
      GemmBenchResult r = run_gemm_bench(b);
      kernel = r.kernel;
      return r.seconds_per_call;
    });
  };
  auto conv_time = [&](const Layer& l, ConvKind kind) {
    std::string key = fmt::format("conv {} {}", static_cast<int>(kind), conv_text(l.conv_shape));
    return timed(key, [&](std::string& kernel) { return time_conv(l.conv_shape, kind, o.min_seconds, o.threads, kernel); });
  };

  std::set<const ir::Node*> low;
  for (const auto& n : g.nodes()) {
    auto l = layer_of(*n);
    if (!l) {
      ++plan.other_nodes;
      continue;
    }
    NodePlan np;
    np.node = n->name.empty() ? n->outputs[0]->name : n->name;
    np.op_type = n->op_type;
    np.shape = l->conv ? conv_text(l->conv_shape) : fmt::format("{}x{}x{}", l->m, l->n, l->k);
    auto fp32 = l->conv ? conv_time(*l, ConvKind::f32) : gemm_time(*l, Precision::fp32, false);
    np.fp32_seconds = fp32.first;
    np.fp32_kernel = fp32.second;
    std::optional<std::pair<double, std::string>> lowt;
    if (p == "int8") {
      lowt = l->conv ? conv_time(*l, ConvKind::int8) : gemm_time(*l, Precision::int8, false);
    } else if (p == "int8-dynamic") {
      if (!l->conv) lowt = gemm_time(*l, Precision::int8, true);
      else np.reason = "stays fp32: dynamic quantization covers MatMul and Gemm";
    } else if (p == "fp16") {
      if (!l->conv) lowt = gemm_time(*l, Precision::fp16, false);
      else np.reason = "fp16 storage, fp32 compute: lowp has no fp16 convolution kernel";
    } else if (p == "bf16") {
      lowt = l->conv ? conv_time(*l, ConvKind::bf16) : gemm_time(*l, Precision::bf16, false);
    } else if (p == "int4") {
      if (!l->conv) lowt = gemm_time(*l, Precision::int4, false);
      else np.reason = "stays fp32: int4 is weight-only for MatMul and Gemm";
    }
    if (lowt) {
      np.low = true;
      np.low_seconds = lowt->first;
      np.low_kernel = lowt->second;
      low.insert(n.get());
    } else {
      np.low_seconds = np.fp32_seconds;
      np.low_kernel = np.fp32_kernel;
    }
    plan.fp32_seconds += np.fp32_seconds;
    plan.low_seconds += np.low_seconds;
    plan.nodes.push_back(std::move(np));
  }

  if (p == "int8") {
    // The QDQ plan, as passes/lower_qdq.cc would leave it: an activation reaches an int8
    // layer without a QuantizeLinear when it comes from one (through Relu and the ops that
    // commute with quantization); an int8 convolution writes u8, so a float reader needs a
    // DequantizeLinear (an int8 Gemm / MatMul writes fp32 from its epilogue when no Q follows).
    std::function<bool(const ir::Value*)> from_int8 = [&](const ir::Value* v) {
      const ir::Node* p = v ? v->producer : nullptr;
      if (!p) return false;
      if (low.contains(p)) return true;
      if (p->domain.empty() && (passes::commutes_with_quantization(p->op_type) || p->op_type == "Relu"))
        return from_int8(p->inputs[0]);
      // A Concat of int8 tensors runs on bytes (its inputs share its parameters).
      if (p->domain.empty() && p->op_type == "Concat")
        return !p->inputs.empty() && std::all_of(p->inputs.begin(), p->inputs.end(), from_int8);
      return false;
    };
    auto uses = g.uses();
    std::function<bool(const ir::Value*)> float_reader = [&](const ir::Value* v) {
      if (g.is_graph_output(v)) return true;
      auto it = uses.find(v);
      if (it == uses.end()) return false;
      for (const ir::Use& u : it->second) {
        const ir::Node* c = u.node;
        if (low.contains(c) && u.input == 0) continue;
        if (c->domain.empty() && (((passes::commutes_with_quantization(c->op_type) || c->op_type == "Relu") && u.input == 0) ||
                                  c->op_type == "Concat")) {
          if (float_reader(c->outputs[0])) return true;
          continue;
        }
        return true;
      }
      return false;
    };
    std::set<const ir::Value*> quantized_inputs;
    for (const ir::Node* n : low) {
      const ir::Value* x = n->inputs[0];
      if (!from_int8(x) && quantized_inputs.insert(x).second) {
        ++plan.quantize_ops;
        plan.conversion_seconds += timed(fmt::format("q {}", elements(x)), [&](std::string&) {
          return time_quantize(elements(x), false, o.min_seconds);
        }).first;
      }
      if (n->op_type == "Conv" && float_reader(n->outputs[0])) {
        ++plan.dequantize_ops;
        const ir::Value* y = n->outputs[0];
        plan.conversion_seconds += timed(fmt::format("dq {}", elements(y)), [&](std::string&) {
          return time_quantize(elements(y), true, o.min_seconds);
        }).first;
      }
    }
  } else if (p == "bf16" || p == "int8-dynamic" || p == "int4") {
    plan.casts = low.size();  // each converts or quantizes its fp32 input inside its time
  }
  plan.low_seconds += plan.conversion_seconds;
  return plan;
}

void print_precision_plan(const std::filesystem::path& path, const PrecisionPlan& plan,
                          const PrecisionPlanOptions& o) {
  fmt::print("precision plan: {} for {}\n", plan.precision, path.string());
  std::size_t width = 4, swidth = 5;
  for (const NodePlan& n : plan.nodes) {
    width = std::max(width, n.node.size());
    swidth = std::max(swidth, n.shape.size());
  }
  const std::string low_col = plan.precision + " us";
  fmt::print("{:<{}}  {:<7}  {:<{}}  {:>10}  {:>12}  {:>7}  {}\n", "node", width, "op", "shape", swidth, "fp32 us",
             low_col, "ratio", "low-precision kernel");
  std::size_t lowered = 0;
  for (const NodePlan& n : plan.nodes) {
    lowered += n.low ? 1 : 0;
    fmt::print("{:<{}}  {:<7}  {:<{}}  {:>10.2f}  {:>12.2f}  {:>7.2f}  {}\n", n.node, width, n.op_type, n.shape, swidth,
               n.fp32_seconds * 1e6, n.low_seconds * 1e6, n.low_seconds / n.fp32_seconds,
               n.low ? n.low_kernel : n.reason);
  }
  fmt::print("{} of {} Conv / Gemm / MatMul nodes would run in {} kernels; {} other nodes are not timed\n", lowered,
             plan.nodes.size(), plan.precision, plan.other_nodes);
  if (plan.precision == "int8") {
    fmt::print("conversions the plan needs: {} QuantizeLinear, {} DequantizeLinear ({:.2f} us timed, included below)\n",
               plan.quantize_ops, plan.dequantize_ops, plan.conversion_seconds * 1e6);
  } else if (plan.precision == "fp16") {
    fmt::print("conversions the plan needs: 0 (fp16 weights widened inside the GEMM; activations stay fp32)\n");
  } else {
    fmt::print("conversions the plan needs: 0 graph casts; {} nodes convert their fp32 input inside the kernel "
               "(included in their times)\n",
               plan.casts);
  }
  const double ratio = plan.fp32_seconds > 0 ? plan.low_seconds / plan.fp32_seconds : 1.0;
  fmt::print("predicted latency of these nodes: fp32 {:.2f} us, {} {:.2f} us, ratio {:.3f} ({:.2f}x)\n",
             plan.fp32_seconds * 1e6, plan.precision, plan.low_seconds * 1e6, ratio, ratio > 0 ? 1.0 / ratio : 0.0);
  fmt::print("this is a prediction from timing lowp's kernels alone on each node's shapes (median of 5 repeats of "
             ">= {:g} ms, {} thread{}, random data), not a run of the model: it excludes element-wise ops, pools, "
             "layout transposes, memory "
             "traffic between ops and accuracy; `lowp bench` on the quantized model measures it\n",
             o.min_seconds * 1e3, o.threads, o.threads == 1 ? "" : "s");
}

}  // namespace lowp::cli
