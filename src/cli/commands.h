// The `stitch` subcommands. Each add_* registers its subcommand on the app; the callbacks parse
// nothing themselves beyond CLI11's work, call library code, and print results to stdout.
// Errors are thrown as stitch::Error and printed by main() as "error: ...".
#pragma once

#include <CLI/CLI.hpp>

namespace stitch::cli {

// Options every compute command shares.
struct GlobalOptions {
  int threads = 1;             // BLAS / env-stepping threads (see README "Threads")
  bool threads_given = false;  // --threads was on the command line (sweep: its total cores)
  std::string log_level;       // empty: STITCH_LOG_LEVEL or "info"
};

GlobalOptions& global_options();

// The config-driven commands' options: `--KEY value` is shorthand for `--set key=value`
// (dashes become underscores), `--set` repeats, `--config FILE` is a JSON file. Shorthands
// apply before the explicit --set overrides.
struct ConfigArgs {
  std::vector<std::string> shorthands, sets;
  std::string config_file;
  std::vector<std::string> overrides() const;
};
void add_config_options(CLI::App* cmd, const std::shared_ptr<ConfigArgs>& args,
                        std::initializer_list<const char*> keys, const std::string& set_help);
// Applies logging and the thread policy; compute commands call it first.
void setup_runtime(bool warn_about_blas);

void add_version_command(CLI::App& app);
void add_env_commands(CLI::App& app);
void add_dataset_commands(CLI::App& app);
void add_collect_command(CLI::App& app);
void add_train_commands(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_suite_commands(CLI::App& app);
void add_runs_commands(CLI::App& app);
void add_report_command(CLI::App& app);
void add_sweep_command(CLI::App& app);
void add_model_commands(CLI::App& app);
void add_lm_commands(CLI::App& app);

}  // namespace stitch::cli
