// Subcommand registry: each src/cli/cmd_*.cc registers itself, so adding a
// subcommand never touches main.cc.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace whale::cli {

// Adds the subcommand's options to `app` and returns the function to run when
// the subcommand was chosen; it returns the process exit code.
using Setup = std::function<std::function<int()>(CLI::App& app)>;

struct Command {
  std::string name;
  std::string help;
  Setup setup;
};

std::vector<Command>& Registry();

struct Register {
  Register(std::string name, std::string help, Setup setup) {
    Registry().push_back({std::move(name), std::move(help), std::move(setup)});
  }
};

}  // namespace whale::cli
