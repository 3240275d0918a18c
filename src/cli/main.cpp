// stitch: data-driven reinforcement learning. See `stitch --help`.
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "core/error.h"
#include "core/log.h"
#include "core/runtime.h"
#include "track/meta.h"

namespace stitch::cli {

GlobalOptions& global_options() {
  static GlobalOptions options;
  return options;
}

std::vector<std::string> ConfigArgs::overrides() const {
  std::vector<std::string> out = shorthands;
  out.insert(out.end(), sets.begin(), sets.end());
  return out;
}

void add_config_options(CLI::App* cmd, const std::shared_ptr<ConfigArgs>& args,
                        std::initializer_list<const char*> keys, const std::string& set_help) {
  for (const char* key : keys) {
    std::string config_key = key;
    std::replace(config_key.begin(), config_key.end(), '-', '_');
    cmd->add_option_function<std::string>(
        std::string("--") + key,
        [args, config_key](const std::string& v) {
          args->shorthands.push_back(config_key + "=" + v);
        },
        fmt::format("config key {}", config_key));
  }
  cmd->add_option("--set", args->sets, set_help);
  cmd->add_option("--config", args->config_file, "JSON file of config keys")
      ->check(CLI::ExistingFile);
}

void setup_runtime(bool warn_about_blas) {
  init_logging(global_options().log_level);
  tune_allocator();
  set_compute_threads({.threads = global_options().threads, .torch_threads = 1});
  if (warn_about_blas) warn_if_reference_blas();
}

namespace {

// Prints `error: <one line>` for a failed command; the full text (libtorch's backtrace, say)
// goes to the debug log. Returns the exit code.
int report_error(const std::string& summary, std::string_view full_text) {
  spdlog::debug("full error text:\n{}", full_text);
  fmt::print(stderr, "error: {}\n", summary);
  return 1;
}

}  // namespace
}  // namespace stitch::cli

int main(int argc, char** argv) {
  using namespace stitch::cli;
  stitch::set_command_line(argc, argv);
  CLI::App app{"stitch: learn control policies from logged data, and improve them"};
  app.name("stitch");
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--threads", global_options().threads,
                 "compute threads: BLAS threads and env-stepping threads (torch intra-op "
                 "stays at 1)")
      ->check(CLI::PositiveNumber)
      ->each([](const std::string&) { global_options().threads_given = true; });
  app.add_option("--log-level", global_options().log_level,
                 "trace, debug, info, warn, error or off (default: $STITCH_LOG_LEVEL or info)");

  add_version_command(app);
  add_env_commands(app);
  add_dataset_commands(app);
  add_collect_command(app);
  add_train_commands(app);
  add_suite_commands(app);
  add_runs_commands(app);
  add_report_command(app);
  add_sweep_command(app);
  add_model_commands(app);
  add_lm_commands(app);
  add_bench_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const stitch::Error& e) {
    return report_error(stitch::first_line(e.what()), e.what());
  } catch (const c10::Error& e) {  // libtorch: the message, then a backtrace
    return report_error(stitch::first_line(e.what_without_backtrace()), e.what());
  } catch (const std::exception& e) {  // std::bad_alloc reads "out of memory (std::bad_alloc)"
    return report_error(stitch::error_summary(e), e.what());
  } catch (...) {
    return report_error("unknown exception (not a std::exception)", "");
  }
  return 0;
}
