// tools/lowp/cmd_conformance.cc: `lowp conformance [--data DIR] [--filter SUBSTR] [--json]
// [--verbose]`: the ONNX backend tests (conformance.h), a per-op table and the line
// "N passed, M failed, K unsupported". Exits 1 when a test failed.
#include <fmt/format.h>

#include <algorithm>
#include <memory>

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
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "The test data folder (with node/, pytorch-converted/, ...)");
  cmd->add_option("--filter", f->options.filter, "Run only tests whose 'suite/name' contains this");
  cmd->add_flag("--json", f->json, "Print one JSON object with every test's result");
  cmd->add_flag("--verbose", f->verbose, "List each failed and unsupported test with the reason");
  return {cmd, [f]() {
            f->options.data_dir = f->data;
            ConformanceReport report = run_conformance(f->options);
            if (f->json) {
              fmt::print("{}\n", report_json(report, f->options).dump(2));
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
              fmt::print("{}\n", report.summary());
            }
            return report.count(Outcome::failed) > 0 ? 1 : 0;
          }};
}

}  // namespace lowp::cli
