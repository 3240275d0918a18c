// stitch lm sft | eval: token policies on verifiable tasks (src/lm).
#include <fmt/format.h>

#include "cli/commands.h"
#include "core/config.h"
#include "core/error.h"
#include "lm/rl.h"
#include "lm/sft.h"

namespace stitch::cli {
namespace {

// --resume: only --run-dir may be given (the stored config wins).
std::string resume_run_dir(const ConfigArgs& args) {
  std::string run_dir;
  for (const std::string& kv : args.overrides()) {
    if (kv.rfind("run_dir=", 0) != 0)
      fail("--resume continues a run with its stored config; '{}' cannot change it", kv);
    run_dir = kv.substr(8);
  }
  if (run_dir.empty()) fail("--resume needs --run-dir DIR");
  return run_dir;
}

}  // namespace

void add_lm_commands(CLI::App& app) {
  auto* lm = app.add_subcommand(
      "lm",
      "token policies (small transformers) on verifiable tasks: supervised fine-tuning, "
      "held-out evaluation");
  lm->require_subcommand(1);
  {
    auto args = std::make_shared<ConfigArgs>();
    auto resume = std::make_shared<bool>(false);
    auto* cmd = lm->add_subcommand(
        "sft",
        "train a transformer from scratch on a task's generated solutions (--task addition, "
        "multiplication, sorting or countdown) into --run-dir; evaluates on held-out prompts");
    add_config_options(cmd, args, {"task", "difficulty", "steps", "seed", "run-dir"},
                       "override a config key: --set key=value (e.g. width=128)");
    cmd->add_flag("--resume", *resume, "continue the run in --run-dir from its last checkpoint");
    cmd->callback([args, resume] {
      setup_runtime(/*warn_about_blas=*/true);
      lm::SftResult r;
      if (*resume) {
        r = lm::resume_sft(resume_run_dir(*args));
      } else {
        lm::SftConfig config;
        resolve_config(config, args->config_file, args->overrides());
        r = lm::train_sft(config, false);
      }
      fmt::print("trained {} steps; held-out accuracy {:.3f} ({} problems); run directory {}\n",
                 r.steps, r.last.accuracy, r.last.problems, r.run_dir);
    });
  }
  {
    auto args = std::make_shared<ConfigArgs>();
    auto resume = std::make_shared<bool>(false);
    auto* cmd = lm->add_subcommand(
        "rl",
        "reinforcement learning with the task's checker as reward, from an `lm sft` run "
        "(--method grpo, dr_grpo, rloo or dpo; --from SFT_RUN_DIR) into --run-dir");
    add_config_options(cmd, args, {"method", "from", "steps", "seed", "run-dir"},
                       "override a config key: --set key=value (e.g. group=16)");
    cmd->add_flag("--resume", *resume, "continue the run in --run-dir from its last checkpoint");
    cmd->callback([args, resume] {
      setup_runtime(/*warn_about_blas=*/true);
      const lm::RlResult r = *resume ? lm::resume_rl(resume_run_dir(*args)) : [&] {
        lm::RlConfig config;
        resolve_config(config, args->config_file, args->overrides());
        return lm::train_rl(config, false);
      }();
      fmt::print("trained {} steps; held-out accuracy {:.3f} ({} problems); run directory {}\n",
                 r.steps, r.last.accuracy, r.last.problems, r.run_dir);
    });
  }
  {
    auto run_dir = std::make_shared<std::string>();
    auto problems = std::make_shared<int>(500);
    auto* cmd = lm->add_subcommand("eval", "held-out accuracy of an `lm sft` run (greedy)");
    cmd->add_option("--run-dir", *run_dir, "the run directory")->required();
    cmd->add_option("--problems", *problems, "held-out problems")->check(CLI::Range(1, 100000));
    cmd->callback([run_dir, problems] {
      setup_runtime(/*warn_about_blas=*/true);
      const lm::TaskEval e = lm::evaluate_sft_run(*run_dir, *problems);
      fmt::print("held-out accuracy {:.3f}, in the answer's format {:.3f} ({} problems)\n",
                 e.accuracy, e.format_rate, e.problems);
    });
  }
}

}  // namespace stitch::cli
