// tools/lowp/commands.h: how subcommands plug into main.cc. Each cmd_*.cc defines one
// add_*_command that declares its options on the CLI11 app and returns the function to run.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <vector>

namespace lowp::cli {

struct Command {
  CLI::App* app;
  std::function<int()> run;
};

Command add_inspect_command(CLI::App& app);
Command add_demo_command(CLI::App& app);
Command add_bench_command(CLI::App& app);
Command add_run_command(CLI::App& app);
Command add_conformance_command(CLI::App& app);
Command add_optimize_command(CLI::App& app);
Command add_quantize_command(CLI::App& app);
Command add_tune_command(CLI::App& app);
Command add_compare_command(CLI::App& app);
Command add_train_command(CLI::App& app);
Command add_compress_command(CLI::App& app);

inline std::vector<Command> all_commands(CLI::App& app) {
  return {add_inspect_command(app), add_demo_command(app),        add_bench_command(app),
          add_run_command(app),     add_conformance_command(app), add_optimize_command(app),
          add_quantize_command(app), add_tune_command(app),  add_compare_command(app),
          add_train_command(app),   add_compress_command(app)};
}

}  // namespace lowp::cli
