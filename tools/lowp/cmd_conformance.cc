// tools/lowp/cmd_conformance.cc: `lowp conformance [--data DIR] [--filter SUBSTR] [--json]
// [--verbose]`: the ONNX backend tests (conformance.h), a per-op table and the line
// "N passed, M failed, K unsupported". Exits 1 when a test failed; with
// --expect-failed FILE, when the failures differ from the list (a new failure, or a
// listed test that no longer fails).
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "commands.h"
#include "conformance.h"

namespace lowp::cli {

Command add_conformance_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "conformance", "Run the ONNX backend tests (libonnx-testdata): N passed, M failed, K unsupported");
  struct Flags {
    ConformanceOptions options;
    std::string data = kDefaultConformanceData;
    bool json = false;
    bool verbose = false;
    std::string expected_file;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "The test data folder (with node/, pytorch-converted/, ...)");
  cmd->add_option("--filter", f->options.filter, "Run only tests whose 'suite/name' contains this");
  cmd->add_flag("--json", f->json, "Print one JSON object with every test's result");
  cmd->add_flag("--verbose", f->verbose, "List each failed and unsupported test with the reason");
  cmd->add_option("--expect-failed", f->expected_file,
                  "A file of 'suite/name reason' lines: exit 0 when exactly these tests fail");
  return {cmd, [f]() {
            f->options.data_dir = f->data;
            std::optional<ExpectedFailures> expected;
            if (!f->expected_file.empty()) expected = read_expected_failures(f->expected_file);
            ConformanceReport report = run_conformance(f->options);
            std::optional<ExpectationCheck> check;
            if (expected) check = check_expected_failures(report, *expected);
            if (f->json) {
              nlohmann::json j = report_json(report, f->options);
              if (check) j["expected_failures"] = {{"file", f->expected_file}, {"unexpected", check->unexpected_failures},
                                                   {"stale", check->stale}};
              fmt::print("{}\n", j.dump(2));
            } else {
              fmt::print("{}", op_table(report));
              if (f->verbose) {
                for (const TestResult& t : report.tests) {
                  if (t.outcome == Outcome::passed) continue;
                  std::string reason = t.reason;  // one line per test
                  std::replace(reason.begin(), reason.end(), '\n', ' ');
                  fmt::print("{} {}/{}: {}\n", t.outcome == Outcome::failed ? "FAILED" : "UNSUPPORTED", t.suite,
                             t.name, reason);
                }
              }
              if (check) {
                for (const std::string& t : check->unexpected_failures) fmt::print("unexpected failure: {}\n", t);
                for (const std::string& t : check->stale) {
                  fmt::print("listed as failing but did not fail: {} (remove it from {})\n", t, f->expected_file);
                }
                fmt::print("{} of the failures are listed in {}\n",
                           report.count(Outcome::failed) - check->unexpected_failures.size(), f->expected_file);
              }
              fmt::print("{}\n", report.summary());
            }
            if (check) return check->ok() ? 0 : 1;
            return report.count(Outcome::failed) > 0 ? 1 : 0;
          }};
}

}  // namespace lowp::cli
