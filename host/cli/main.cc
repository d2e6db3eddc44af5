// streams-host: command-line entry point. Parses arguments (CLI11; each
// subcommand's options in options_*.cc), installs signal handlers, and runs
// the subcommand given.
#include <unistd.h>
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/edit_distance.h"

namespace {

std::atomic<bool> g_stop{false};

// First SIGTERM/SIGINT: stop gracefully. Second: exit at once.
extern "C" void on_stop_signal(int) {
  if (g_stop.exchange(true)) _exit(130);
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = &on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  // A file size limit (ulimit -f) fails the write (EFBIG) instead of
  // killing the process: a file sink then stops cleanly, uncommitted.
  signal(SIGXFSZ, SIG_IGN);
}

// The subcommand being parsed (the deepest one given), or `app`.
const CLI::App* innermost(const CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands()) return innermost(*sub);
  return &app;
}

// A usage error, said the way a user needs it (the command or option they
// mistyped, and the nearest that exists); exit status 2.
int usage_error(const CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  const CLI::App* cmd = innermost(app);
  std::vector<std::string> commands;
  for (const CLI::App* sub : cmd->get_subcommands({})) {
    if (!sub->get_name().empty()) commands.push_back(sub->get_name());  // not an option group
  }
  if (!commands.empty()) {  // a command with commands of its own: which one was meant?
    int at = 1;             // the argument after `cmd`'s name
    while (cmd != &app && at < argc && argv[at - 1] != cmd->get_name()) ++at;
    std::string all;
    for (const auto& c : commands) all += (all.empty() ? "" : ", ") + c;
    const std::string where = cmd == &app ? "" : " for '" + cmd->get_name() + "'";
    if (at >= argc || argv[at][0] == '-') {
      std::fprintf(stderr, "error: a command is required%s (commands: %s; see --help)\n",
                   where.c_str(), all.c_str());
    } else {
      std::fprintf(stderr, "error: unknown command '%s'%s%s (commands: %s; see --help)\n", argv[at],
                   where.c_str(), streams::did_you_mean(argv[at], commands).c_str(), all.c_str());
    }
    return 2;
  }
  std::vector<std::string> options;
  const auto add_names = [&options](const CLI::App* from) {
    for (const CLI::Option* o : from->get_options()) {
      for (const auto& name : o->get_lnames()) options.push_back("--" + name);
    }
  };
  add_names(cmd);
  for (const CLI::App* sub : cmd->get_subcommands({})) {
    if (sub->get_name().empty()) add_names(sub);  // an option group's options
  }
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) continue;
    const std::string name = arg.substr(0, arg.find('='));
    if (std::find(options.begin(), options.end(), name) != options.end()) continue;
    std::fprintf(stderr, "error: unknown option '%s' for '%s'%s (see %s --help)\n", name.c_str(),
                 cmd->get_name().c_str(), streams::did_you_mean(name, options).c_str(),
                 cmd->get_name().c_str());
    return 2;
  }
  std::fprintf(stderr, "error: %s (see --help)\n", e.what());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"streams-host: runs streaming pipelines of plugin transforms over Kafka"};
  app.require_subcommand(1);
  app.set_version_flag(
      "--version", [] { return streams::cli::version_text(); },
      "Print the version of streams-host, its plugin ABI and librdkafka");
  CLI::App* version_cmd = app.add_subcommand("version", "Print the versions (as --version)");

  std::vector<streams::cli::Subcommand> commands{streams::cli::add_run(app)};
  for (auto& c : streams::cli::add_admin_clients(app)) commands.push_back(std::move(c));
  commands.push_back(streams::cli::add_validate(app));
  commands.push_back(streams::cli::add_graph(app));
  commands.push_back(streams::cli::add_render(app));
  commands.push_back(streams::cli::add_dlq(app));
  commands.push_back(streams::cli::add_offsets(app));
  commands.push_back(streams::cli::add_dev_broker(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage_error(app, e, argc, argv);
  }
  install_signal_handlers();
  if (*version_cmd) {
    std::fputs((streams::cli::version_text() + "\n").c_str(), stdout);
    return 0;
  }

  for (const streams::cli::Subcommand& c : commands) {
    if (*c.app) return c.run(g_stop);
  }
  return 2;  // require_subcommand(1): not reached
}

#if defined(__SANITIZE_ADDRESS__)
// LeakSanitizer builds: the embedded Python interpreter (the bridge plugin)
// is never finalized, by design, so what libpython allocated is in use at
// exit rather than leaked. Leaks in our own code are still reported.
extern "C" const char* __lsan_default_suppressions() { return "leak:libpython3\n"; }
#endif
