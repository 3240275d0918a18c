// stitch model train | eval: world models as runs (model/model_run.h).
#include <fmt/format.h>

#include "cli/commands.h"
#include "core/config.h"
#include "core/error.h"
#include "model/model_run.h"

namespace stitch::cli {

void add_model_commands(CLI::App& app) {
  auto* model = app.add_subcommand(
      "model", "world models: fit a dynamics ensemble on a dataset, measure its rollouts");
  model->require_subcommand(1);
  {
    auto args = std::make_shared<ConfigArgs>();
    auto* cmd = model->add_subcommand(
        "train",
        "fit a probabilistic dynamics ensemble (7 members of 4x200 SiLU, 5 elites, as "
        "OfflineRL-Kit's) on --dataset into --run-dir; whole episodes are kept out for `stitch "
        "model eval`");
    add_config_options(cmd, args, {"dataset", "env", "seed", "run-dir"},
                       "override a config key: --set model.KEY=value (e.g. model.members=5)");
    cmd->callback([args] {
      setup_runtime(/*warn_about_blas=*/true);
      ModelRunConfig config;
      resolve_config(config, args->config_file, args->overrides());
      const TrainedModel m = train_model_run(config);
      fmt::print(
          "fitted a model of {} ({} members, elites {}); {} episodes kept out for `stitch "
          "model eval`\n",
          m.env, m.config.members, fmt::join(m.elites, ","), m.eval_episodes.size());
    });
  }
  {
    auto run_dir = std::make_shared<std::string>();
    auto horizon = std::make_shared<int>(10);
    auto* cmd = model->add_subcommand(
        "eval",
        "open-loop error of a model run over horizons 1..H on the episodes its fit never saw, "
        "beside predicting no change; writes model_eval.{json,md,svg} into the run");
    cmd->add_option("--run-dir", *run_dir, "a `stitch model train` run directory")->required();
    cmd->add_option("--horizon", *horizon, "the longest horizon (steps)")
        ->check(CLI::Range(1, 1000));
    cmd->callback([run_dir, horizon] {
      setup_runtime(/*warn_about_blas=*/true);
      const auto table = evaluate_model_run(*run_dir, *horizon);
      fmt::print("{:>7} {:>9} {:>12} {:>12} {:>8} {:>12}\n", "horizon", "rollouts", "model MSE",
                 "no change", "ratio", "reward MSE");
      for (const HorizonError& e : table) {
        fmt::print("{:>7} {:>9} {:>12.4g} {:>12.4g} {:>8.3g} {:>12.4g}\n", e.horizon, e.starts,
                   e.state_mse, e.constant_mse, e.state_mse / e.constant_mse, e.reward_mse);
      }
      fmt::print("wrote {}/model_eval.md, model_eval.json, model_eval.svg\n", *run_dir);
    });
  }
}

}  // namespace stitch::cli
