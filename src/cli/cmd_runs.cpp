#include <fmt/format.h>

#include "cli/commands.h"
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
    fmt::print("{:<28} {:<10} {:<15} {:<28} {:<9} {:>17} {:>11} {:>9}\n", "run", "algo", "env", "dataset", "status",
               "steps", "last score", "wall");
    for (const RunSummary& r : found) {
      std::string score = "-";
      if (!r.evaluations.empty()) {
        const EvalPoint& e = r.evaluations.back();
        score = e.normalized ? fmt::format("{:.1f} n", *e.normalized) : fmt::format("{:.1f}", e.mean);
      }
      fmt::print("{:<28} {:<10} {:<15} {:<28} {:<9} {:>17} {:>11} {:>8.0f}s\n", r.name, r.algo, r.env, r.dataset,
                 r.status, fmt::format("{}/{}", r.steps, r.planned_steps), score, r.wall_s);
    }
    fmt::print("{} run{}; scores ending in n are normalised (suite references), others raw returns\n", found.size(),
               found.size() == 1 ? "" : "s");
  });
}

}  // namespace stitch::cli
