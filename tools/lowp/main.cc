// tools/lowp/main.cc: the `lowp` command line. Each subcommand lives in its own file
// (cmd_*.cc) and registers itself through commands.h; this file parses, dispatches and is
// the one place that turns a lowp::Error into "lowp: error: ..." and a non-zero exit.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "base/error.h"
#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"lowp: make neural networks smaller and faster with low-precision computing"};
  app.set_version_flag("--version", std::string("lowp ") + LOWP_VERSION);
  app.require_subcommand(1);
  std::vector<lowp::cli::Command> commands = lowp::cli::all_commands(app);
  // CLI11 would report an unknown first word as a missing subcommand; name it instead.
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (const lowp::cli::Command& command : commands) known |= command.app->check_name(argv[1]);
    if (!known) {
      std::fprintf(stderr, "lowp: error: unknown subcommand '%s' (see lowp --help)\n", argv[1]);
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "lowp: error: %s (see lowp --help)\n", e.what());
    return 2;
  } catch (const lowp::Error& e) {  // a subcommand that runs in its parse callback (bench conv)
    std::fprintf(stderr, "lowp: error: %s\n", e.what());
    return 1;
  }
  try {
    for (const lowp::cli::Command& command : commands) {
      if (command.app->parsed()) return command.run();
    }
  } catch (const lowp::Error& e) {
    std::fprintf(stderr, "lowp: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "lowp: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lowp: error: %s\n", e.what());
    return 1;
  }
  return 2;
}
