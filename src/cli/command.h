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

// --mmap auto|mmap|ram: where the weights live (io/mmap_file.h explains why).
inline CLI::Option* AddMmapOption(CLI::App& app, std::string* mode) {
  return app
      .add_option("--mmap", *mode,
                  "weights: ram (read into memory on huge pages), mmap (mapped from the page cache; "
                  "for models larger than RAM), or auto (ram when it fits)")
      ->check(CLI::IsMember({"auto", "mmap", "ram"}))
      ->capture_default_str();
}

struct Register {
  Register(std::string name, std::string help, Setup setup) {
    Registry().push_back({std::move(name), std::move(help), std::move(setup)});
  }
};

}  // namespace whale::cli
