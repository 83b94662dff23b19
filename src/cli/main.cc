// whale: run, serve and train DeepSeek-architecture models.
#include <cstdio>
#include <exception>
#include <map>

#include "cli/command.h"

namespace whale::cli {
std::vector<Command>& Registry() {
  static std::vector<Command> commands;
  return commands;
}
}  // namespace whale::cli

int main(int argc, char** argv) {
  using namespace whale::cli;
  CLI::App app{"whale: DeepSeek-architecture models (MLA, DeepSeekMoE, MTP) in C++"};
  app.require_subcommand(1);
  std::map<CLI::App*, std::function<int()>> runs;
  for (auto& c : Registry()) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    runs[sub] = c.setup(*sub);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& [sub, run] : runs)
      if (sub->parsed()) return run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "whale: error: %s\n", e.what());
    return 1;
  }
  return 1;
}
