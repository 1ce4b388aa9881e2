// tools/lowp/conformance.h: the ONNX backend tests (Debian's libonnx-testdata) run
// through lowp's Session, behind `lowp conformance` and its ctest.
//
// A test is a folder with model.onnx and test_data_set_N/{input_K,output_K}.pb. Each is
// loaded as a user's model would be (import, Session with default options, so the
// optimizer runs), fed input_K by the K-th graph input, and each output_K compared:
// same dtype and shape, integers and bools exactly, floats within
// |got - expected| <= atol + rtol * |expected| (NaN equals NaN, an infinity only itself).
//
// Outcomes are told apart by exception type, never by message text: a model that lowp
// cannot express (an op without a schema or kernel, an element type with no DType, a value
// that is not a tensor, an opset outside the imported range) is `unsupported`; anything
// else that goes wrong, and every mismatch, is `failed`.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace lowp::cli {

inline constexpr const char* kDefaultConformanceData = "/usr/share/libonnx-testdata/data";

enum class Outcome { passed, failed, unsupported };
std::string_view outcome_name(Outcome outcome);

struct ConformanceOptions {
  std::filesystem::path data_dir = kDefaultConformanceData;
  // The suites (subfolders of data_dir) to run, in this order.
  std::vector<std::string> suites = {"node", "pytorch-converted", "pytorch-operator", "simple"};
  // Runs only the tests whose "suite/name" contains this.
  std::string filter;
  double rtol = 1e-3;
  double atol = 1e-7;
};

struct TestResult {
  std::string suite;             // "node"
  std::string name;              // "test_abs"
  std::vector<std::string> ops;  // distinct op types of the model's graph, sorted
  Outcome outcome = Outcome::failed;
  std::string reason;  // why it failed or is unsupported; empty when it passed
  double seconds = 0;
};

struct ConformanceReport {
  std::vector<TestResult> tests;
  std::size_t count(Outcome outcome) const;
  // "N passed, M failed, K unsupported"
  std::string summary() const;
};

// One test folder. Never throws for what the test holds: every error becomes its outcome.
TestResult run_conformance_test(const std::filesystem::path& dir, const std::string& suite,
                                const ConformanceOptions& options);

// Every test of every suite that matches the filter, in suite then name order. Throws
// lowp::Error when data_dir or a suite folder is missing.
ConformanceReport run_conformance(const ConformanceOptions& options);

// Tests a caller expects to fail, "suite/name" -> why, from a file of lines
// "suite/name  reason" ('#' starts a comment). Lets a CI gate hold every other test to
// zero failures while a listed failure waits for its fix.
using ExpectedFailures = std::map<std::string, std::string>;
ExpectedFailures read_expected_failures(const std::filesystem::path& path);

struct ExpectationCheck {
  std::vector<std::string> unexpected_failures;  // failed, not listed
  std::vector<std::string> stale;                // listed, ran, and did not fail
  bool ok() const { return unexpected_failures.empty() && stale.empty(); }
};
ExpectationCheck check_expected_failures(const ConformanceReport& report, const ExpectedFailures& expected);

// A Markdown table: one row per op type (a test counts for each op its model contains).
std::string op_table(const ConformanceReport& report);

// {"data", "filter", "summary": {passed, failed, unsupported},
//  "tests": [{suite, name, ops, result, reason, seconds}],
//  "lowp_ops": [{domain, op, kernel}] (every op with a schema; kernel: the runtime runs it)}
nlohmann::json report_json(const ConformanceReport& report, const ConformanceOptions& options);

}  // namespace lowp::cli
