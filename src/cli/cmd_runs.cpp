#include <fmt/format.h>

#include "cli/commands.h"
#include "core/progress.h"
#include "track/report.h"
#include "track/runs.h"

namespace stitch::cli {

void add_runs_commands(CLI::App& app) {
  auto* runs = app.add_subcommand("runs", "training runs on disk");
  runs->require_subcommand(1);
  auto dir = std::make_shared<std::string>("runs");
  auto* list = runs->add_subcommand("list", "a table of the runs under DIR (default ./runs)");
  list->add_option("dir", *dir, "a run directory or a directory holding runs");
  list->callback([dir] {
    setup_runtime(false);
    const auto found = find_runs(*dir);
    fmt::print("{:<28} {:<10} {:<15} {:<28} {:<9} {:>17} {:>11} {:>9}\n", "run", "algo", "env",
               "dataset", "status", "steps", "last score", "wall");
    for (const RunSummary& r : found) {
      std::string score = "-";
      if (!r.evaluations.empty()) {
        const EvalPoint& e = r.evaluations.back();
        score =
            e.normalized ? fmt::format("{:.1f} n", *e.normalized) : fmt::format("{:.1f}", e.mean);
      }
      fmt::print("{:<28} {:<10} {:<15} {:<28} {:<9} {:>17} {:>11} {:>8.0f}s\n", r.name, r.algo,
                 r.env, r.dataset, r.status, fmt::format("{}/{}", r.steps, r.planned_steps), score,
                 r.wall_s);
    }
    fmt::print(
        "{} run{}; scores ending in n are normalised (suite references), others raw returns\n",
        found.size(), found.size() == 1 ? "" : "s");
  });
}

}  // namespace stitch::cli

namespace stitch::cli {

void add_report_command(CLI::App& app) {
  auto dirs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>("report");
  auto options = std::make_shared<ReportOptions>();
  auto* cmd =
      app.add_subcommand("report",
                         "summarise runs over seeds: mean, median, IQM and optimality gap with "
                         "bootstrap confidence intervals, learning curves, aggregate plots and "
                         "performance profiles (index.html, summary.csv/md, SVG charts)");
  cmd->add_option("runs", *dirs, "run directories, or directories holding runs")->required();
  cmd->add_option("--out", *out, "output directory");
  cmd->add_option("--replicates", options->replicates, "bootstrap replicates")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", options->seed, "seed of the bootstrap");
  cmd->add_option("--title", options->title, "title of index.html");
  cmd->callback([dirs, out, options] {
    setup_runtime(false);
    std::vector<std::string> found;
    for (const auto& d : *dirs) {
      for (auto& r : find_run_dirs(d)) found.push_back(std::move(r));
    }
    std::vector<RunSummary> runs;
    Progress progress("report: reading", static_cast<int64_t>(found.size()), "runs");
    for (const auto& dir : found) {
      runs.push_back(read_run(dir));
      progress.update(static_cast<int64_t>(runs.size()));
    }
    const auto written = write_report(runs, *out, *options);
    for (const auto& path : written) fmt::print("wrote {}\n", path);
    fmt::print("{} runs; open {}\n", runs.size(), written.back());
  });
}

}  // namespace stitch::cli
