// tools/lowp/conformance.cc
#include "conformance.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <set>

#include "base/error.h"
#include "base/float_types.h"
#include "base/timer.h"
#include "ir/schema.h"
#include "ir/verify.h"
#include "onnx/import.h"
#include "onnx/onnx_pb.h"
#include "onnx/tensor_file.h"
#include "runtime/op.h"
#include "runtime/session.h"

namespace lowp::cli {
namespace {

namespace fs = std::filesystem;

// ---- what the model asks for, read from its proto before lowp imports it ----

std::string op_key(const onnx::NodeProto& n) {
  bool standard = n.domain().empty() || n.domain() == "ai.onnx";
  return standard ? n.op_type() : n.domain() + "::" + n.op_type();
}

// Throws UnsupportedError when a declared type is one lowp cannot hold: not a tensor
// (sequence, map, optional, sparse) or an element type with no DType (string, complex).
void require_tensor_type(const onnx::ValueInfoProto& info, const std::string& model) {
  if (!info.has_type()) return;
  const onnx::TypeProto& t = info.type();
  if (!t.has_tensor_type()) {
    fail_unsupported("{}: value '{}' is not a tensor (sequences, maps, optionals and sparse tensors are "
                     "not supported)",
                     model, info.name());
  }
  int elem = t.tensor_type().elem_type();
  if (elem != 0 && !dtype_from_onnx(elem)) {
    fail_unsupported("{}: value '{}' has element type {} ({}), which lowp has no type for", model, info.name(),
                     elem, onnx::TensorProto_DataType_Name(elem));
  }
}

// The limits lowp states for every model, checked on the proto so that the outcome does
// not depend on which error the importer happens to raise first.
void require_expressible(const onnx::ModelProto& model, const std::string& name) {
  for (const auto& o : model.opset_import()) {
    bool standard = o.domain().empty() || o.domain() == "ai.onnx";
    if (standard && (o.version() < ir::kMinImportOpset || o.version() > ir::kIrOpset)) {
      fail_unsupported("{}: ai.onnx opset {} is outside the {}..{} that lowp imports", name, o.version(),
                       ir::kMinImportOpset, ir::kIrOpset);
    }
  }
  const onnx::GraphProto& g = model.graph();
  for (const auto& v : g.input()) require_tensor_type(v, name);
  for (const auto& v : g.output()) require_tensor_type(v, name);
  for (const auto& v : g.value_info()) require_tensor_type(v, name);
}

std::vector<std::string> model_ops(const onnx::ModelProto& model) {
  std::set<std::string> ops;
  for (const auto& n : model.graph().node()) ops.insert(op_key(n));
  return {ops.begin(), ops.end()};
}

// Every node of the imported graph has a schema (require_supported) and a kernel.
void require_kernels(const ir::Graph& graph, const std::string& name) {
  ir::require_supported(graph, name);
  for (const auto& n : graph.nodes()) {
    if (!runtime::find_binder(n->domain, n->op_type)) {
      fail_unsupported("{}: node '{}': op {} has no kernel in lowp's runtime", name, n->label(), n->op_type);
    }
  }
}

// ---- comparing ----

bool is_float(DType d) { return dtype_is_float(d); }

double float_element(const Tensor& t, std::size_t i) {
  const std::byte* p = t.raw() + i * (dtype_bits(t.dtype()) / 8);
  auto load16 = [&] {
    std::uint16_t b;
    std::memcpy(&b, p, 2);
    return b;
  };
  switch (t.dtype()) {
    case DType::float32: {
      float v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case DType::float64: {
      double v;
      std::memcpy(&v, p, 8);
      return v;
    }
    case DType::float16: return float16::from_bits(load16()).to_float();
    case DType::bfloat16: return bfloat16::from_bits(load16()).to_float();
    case DType::float8e4m3fn: return float8e4m3fn::from_bits(static_cast<std::uint8_t>(*p)).to_float();
    case DType::float8e5m2: return float8e5m2::from_bits(static_cast<std::uint8_t>(*p)).to_float();
    default: fail("internal: {} is not a float type", dtype_name(t.dtype()));
  }
}

std::string element_text(const Tensor& t, std::size_t i) {
  if (is_float(t.dtype())) return fmt::format("{}", float_element(t, i));
  const std::byte* p = t.raw() + i * (dtype_bits(t.dtype()) / 8);
  auto as = [&]<class T>() {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return fmt::format("{}", static_cast<std::conditional_t<sizeof(T) == 1, int, T>>(v));
  };
  switch (t.dtype()) {
    case DType::int8: return as.operator()<std::int8_t>();
    case DType::uint8: return as.operator()<std::uint8_t>();
    case DType::boolean: return as.operator()<std::uint8_t>();
    case DType::int16: return as.operator()<std::int16_t>();
    case DType::uint16: return as.operator()<std::uint16_t>();
    case DType::int32: return as.operator()<std::int32_t>();
    case DType::uint32: return as.operator()<std::uint32_t>();
    case DType::int64: return as.operator()<std::int64_t>();
    case DType::uint64: return as.operator()<std::uint64_t>();
    default: return "?";
  }
}

std::string index_text(const Shape& shape, std::size_t flat) {
  std::vector<std::int64_t> idx(shape.rank());
  for (std::size_t a = shape.rank(); a-- > 0;) {
    auto d = static_cast<std::size_t>(shape.dims()[a]);
    idx[a] = static_cast<std::int64_t>(flat % d);
    flat /= d;
  }
  return fmt::format("[{}]", fmt::join(idx, ", "));
}

// Empty when `got` matches `expected`, else why not.
std::string compare(const Tensor& got, const Tensor& expected, const ConformanceOptions& opt) {
  if (got.dtype() != expected.dtype()) {
    return fmt::format("type {}, expected {}", dtype_name(got.dtype()), dtype_name(expected.dtype()));
  }
  if (!(got.shape() == expected.shape())) {
    return fmt::format("shape {}, expected {}", got.shape().str(), expected.shape().str());
  }
  std::size_t n = got.elements();
  std::size_t bad = 0, first = 0;
  double first_tol = 0;
  if (is_float(got.dtype())) {
    for (std::size_t i = 0; i < n; ++i) {
      double g = float_element(got, i), e = float_element(expected, i);
      bool ok;
      double tol = opt.atol + opt.rtol * std::abs(e);
      if (std::isnan(e) || std::isnan(g)) {
        ok = std::isnan(e) && std::isnan(g);
      } else if (std::isinf(e) || std::isinf(g)) {
        ok = g == e;
      } else {
        ok = std::abs(g - e) <= tol;
      }
      if (!ok && bad++ == 0) {
        first = i;
        first_tol = tol;
      }
    }
  } else {
    std::size_t width = dtype_bits(got.dtype()) / 8;
    for (std::size_t i = 0; i < n; ++i) {
      if (std::memcmp(got.raw() + i * width, expected.raw() + i * width, width) != 0 && bad++ == 0) first = i;
    }
  }
  if (bad == 0) return {};
  std::string why = fmt::format("{} of {} elements differ; first at {}: {}, expected {}", bad, n,
                                index_text(got.shape(), first), element_text(got, first),
                                element_text(expected, first));
  if (is_float(got.dtype())) why += fmt::format(" (tolerance {:.3g})", first_tol);
  return why;
}

// test_data_set_N folders in N order.
std::vector<fs::path> data_sets(const fs::path& dir) {
  std::vector<std::pair<int, fs::path>> sets;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    constexpr std::string_view prefix = "test_data_set_";
    if (!entry.is_directory() || !name.starts_with(prefix)) continue;
    int n = 0;
    auto [ptr, ec] = std::from_chars(name.data() + prefix.size(), name.data() + name.size(), n);
    if (ec == std::errc() && ptr == name.data() + name.size()) sets.emplace_back(n, entry.path());
  }
  std::sort(sets.begin(), sets.end());
  std::vector<fs::path> out;
  for (auto& [n, p] : sets) out.push_back(std::move(p));
  return out;
}

// prefix_0.pb, prefix_1.pb... as long as they exist.
std::vector<std::shared_ptr<Tensor>> read_numbered(const fs::path& dir, const std::string& prefix) {
  std::vector<std::shared_ptr<Tensor>> out;
  for (int k = 0;; ++k) {
    fs::path p = dir / fmt::format("{}_{}.pb", prefix, k);
    if (!fs::exists(p)) break;
    out.push_back(onnx_io::read_tensor_file(p).tensor);
  }
  return out;
}

// ONNX 1.12 wrote the data of its bfloat16 tests as UINT16 tensors holding the bfloat16
// bits (numpy has no bfloat16). Where the model declares bfloat16 and the file says
// uint16, the bits are taken as bfloat16; nothing else is reinterpreted.
void bfloat16_from_uint16(std::shared_ptr<Tensor>& t, const ir::Value& declared) {
  if (t->dtype() != DType::uint16 || declared.type.dtype != DType::bfloat16) return;
  auto bf = std::make_shared<Tensor>(DType::bfloat16, t->shape());
  if (t->bytes() != 0) std::memcpy(bf->raw(), t->raw(), t->bytes());
  t = std::move(bf);
}

void run_data_set(runtime::Session& session, const fs::path& dir, const ConformanceOptions& opt) {
  std::vector<std::shared_ptr<Tensor>> inputs = read_numbered(dir, "input");
  std::vector<std::shared_ptr<Tensor>> expected = read_numbered(dir, "output");
  const ir::Graph& g = session.graph();
  std::string set_name = dir.filename().string();
  LOWP_CHECK(inputs.size() == g.inputs.size(), "{}: {} input files for the model's {} graph inputs", set_name,
             inputs.size(), g.inputs.size());
  LOWP_CHECK(expected.size() == g.outputs.size(), "{}: {} output files for the model's {} graph outputs", set_name,
             expected.size(), g.outputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) bfloat16_from_uint16(inputs[i], *g.inputs[i]);
  for (std::size_t i = 0; i < expected.size(); ++i) bfloat16_from_uint16(expected[i], *g.outputs[i]);
  std::vector<runtime::NamedInput> named;
  for (std::size_t i = 0; i < inputs.size(); ++i) named.push_back({g.inputs[i]->name, inputs[i].get()});
  std::vector<Tensor> got = session.run(named);
  LOWP_CHECK(got.size() == expected.size(), "{}: the model gives {} outputs, the test expects {}", set_name,
             got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    std::string why = compare(got[i], *expected[i], opt);
    LOWP_CHECK(why.empty(), "{}: output {} '{}': {}", set_name, i, g.outputs[i]->name, why);
  }
}

}  // namespace

std::string_view outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::passed: return "passed";
    case Outcome::failed: return "failed";
    case Outcome::unsupported: return "unsupported";
  }
  return "?";
}

std::size_t ConformanceReport::count(Outcome outcome) const {
  return static_cast<std::size_t>(
      std::count_if(tests.begin(), tests.end(), [&](const TestResult& t) { return t.outcome == outcome; }));
}

std::string ConformanceReport::summary() const {
  return fmt::format("{} passed, {} failed, {} unsupported", count(Outcome::passed), count(Outcome::failed),
                     count(Outcome::unsupported));
}

TestResult run_conformance_test(const fs::path& dir, const std::string& suite, const ConformanceOptions& options) {
  TestResult result;
  result.suite = suite;
  result.name = dir.filename().string();
  Stopwatch timer;
  try {
    fs::path model_path = dir / "model.onnx";
    std::string name = model_path.string();
    std::ifstream file(model_path, std::ios::binary);
    LOWP_CHECK(file.good(), "{}: cannot open", name);
    std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    onnx::ModelProto proto;
    LOWP_CHECK(proto.ParseFromString(bytes), "{}: not a valid ONNX protobuf", name);
    result.ops = model_ops(proto);
    require_expressible(proto, name);
    std::unique_ptr<ir::Graph> graph = onnx_io::import_model_bytes(bytes, name, dir);
    require_kernels(*graph, name);
    // What Session::load does after importing; constructed here from the graph already
    // imported, so that the file is parsed once.
    runtime::Session session(std::move(graph), runtime::SessionOptions{});
    std::vector<fs::path> sets = data_sets(dir);
    LOWP_CHECK(!sets.empty(), "{}: no test_data_set_N folder", dir.string());
    for (const fs::path& set : sets) run_data_set(session, set, options);
    result.outcome = Outcome::passed;
  } catch (const UnsupportedError& e) {
    result.outcome = Outcome::unsupported;
    result.reason = e.what();
  } catch (const std::exception& e) {  // lowp::Error, and anything a kernel let through
    result.outcome = Outcome::failed;
    result.reason = e.what();
  }
  result.seconds = timer.seconds();
  return result;
}

ConformanceReport run_conformance(const ConformanceOptions& options) {
  std::error_code ec;
  LOWP_CHECK(fs::is_directory(options.data_dir, ec),
             "{}: no ONNX backend test data there (install Debian's libonnx-testdata, or pass --data)",
             options.data_dir.string());
  ConformanceReport report;
  for (const std::string& suite : options.suites) {
    fs::path suite_dir = options.data_dir / suite;
    LOWP_CHECK(fs::is_directory(suite_dir, ec), "{}: the test suite folder is missing", suite_dir.string());
    std::vector<fs::path> tests;
    for (const auto& entry : fs::directory_iterator(suite_dir)) {
      if (!entry.is_directory()) continue;
      std::string key = suite + "/" + entry.path().filename().string();
      if (key.find(options.filter) == std::string::npos) continue;
      tests.push_back(entry.path());
    }
    std::sort(tests.begin(), tests.end());
    for (const fs::path& t : tests) report.tests.push_back(run_conformance_test(t, suite, options));
  }
  return report;
}

ExpectedFailures read_expected_failures(const fs::path& path) {
  std::ifstream file(path);
  LOWP_CHECK(file.good(), "{}: cannot open the list of expected failures", path.string());
  ExpectedFailures out;
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    line = line.substr(0, line.find('#'));
    std::size_t begin = line.find_first_not_of(" \t");
    if (begin == std::string::npos) continue;
    std::size_t end = line.find_first_of(" \t", begin);
    std::string test = line.substr(begin, end - begin);
    LOWP_CHECK(test.find('/') != std::string::npos, "{}:{}: '{}' is not 'suite/test_name'", path.string(), number, test);
    std::string reason;
    if (end != std::string::npos) {
      std::size_t r = line.find_first_not_of(" \t", end);
      if (r != std::string::npos) reason = line.substr(r);
    }
    LOWP_CHECK(!reason.empty(), "{}:{}: '{}' needs a reason after the name", path.string(), number, test);
    LOWP_CHECK(out.emplace(test, reason).second, "{}:{}: '{}' is listed twice", path.string(), number, test);
  }
  return out;
}

ExpectationCheck check_expected_failures(const ConformanceReport& report, const ExpectedFailures& expected) {
  ExpectationCheck check;
  for (const TestResult& t : report.tests) {
    std::string key = t.suite + "/" + t.name;
    bool listed = expected.contains(key);
    if (t.outcome == Outcome::failed && !listed) check.unexpected_failures.push_back(key);
    if (t.outcome != Outcome::failed && listed) check.stale.push_back(key);
  }
  return check;
}

std::string op_table(const ConformanceReport& report) {
  struct Counts {
    std::size_t passed = 0, failed = 0, unsupported = 0;
  };
  std::map<std::string, Counts> by_op;
  for (const TestResult& t : report.tests) {
    for (const std::string& op : t.ops) {
      Counts& c = by_op[op];
      switch (t.outcome) {
        case Outcome::passed: ++c.passed; break;
        case Outcome::failed: ++c.failed; break;
        case Outcome::unsupported: ++c.unsupported; break;
      }
    }
  }
  std::size_t width = 2;
  for (const auto& [op, c] : by_op) width = std::max(width, op.size());
  std::string out = fmt::format("| {:<{}} | passed | failed | unsupported |\n", "op", width);
  out += fmt::format("|{:-<{}}|-------:|-------:|------------:|\n", "", width + 2);
  for (const auto& [op, c] : by_op) {
    out += fmt::format("| {:<{}} | {:>6} | {:>6} | {:>11} |\n", op, width, c.passed, c.failed, c.unsupported);
  }
  return out;
}

nlohmann::json report_json(const ConformanceReport& report, const ConformanceOptions& options) {
  nlohmann::json tests = nlohmann::json::array();
  for (const TestResult& t : report.tests) {
    tests.push_back({{"suite", t.suite},
                     {"name", t.name},
                     {"ops", t.ops},
                     {"result", outcome_name(t.outcome)},
                     {"reason", t.reason},
                     {"seconds", t.seconds}});
  }
  // What lowp knows, for docs/ONNX_SUPPORT.md: every schema, and whether it has a kernel.
  nlohmann::json known = nlohmann::json::array();
  for (const ir::OpSchema* schema : ir::all_schemas()) {
    known.push_back({{"domain", schema->domain},
                     {"op", schema->op_type},
                     {"kernel", runtime::find_binder(schema->domain, schema->op_type) != nullptr}});
  }
  return {{"data", options.data_dir.string()},
          {"lowp_ops", std::move(known)},
          {"filter", options.filter},
          {"summary",
           {{"passed", report.count(Outcome::passed)},
            {"failed", report.count(Outcome::failed)},
            {"unsupported", report.count(Outcome::unsupported)}}},
          {"tests", std::move(tests)}};
}

}  // namespace lowp::cli
