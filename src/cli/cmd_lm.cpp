// stitch lm sft | eval: token policies on verifiable tasks (src/lm).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/config.h"
#include "core/error.h"
#include "lm/analysis.h"
#include "lm/offline.h"
#include "lm/rl.h"
#include "lm/sft.h"
#include "track/durable.h"

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
        "(--method grpo, dr_grpo, rloo, ppo or dpo; --from SFT_RUN_DIR) into --run-dir");
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
    auto c = std::make_shared<lm::LogConfig>();
    auto* cmd = lm->add_subcommand(
        "log",
        "sample a run's policy on training problems and write the completions with their "
        "rewards as JSON lines (the data of `lm offline`)");
    cmd->add_option("--run-dir", c->run_dir, "the run whose policy samples")->required();
    cmd->add_option("--out", c->out, "the JSON-lines file to write")->required();
    cmd->add_option("--prompts", c->prompts, "training problems")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
    cmd->add_option("--samples", c->samples, "completions per problem")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 16));
    cmd->add_option("--temperature", c->temperature, "sampling temperature")
        ->check(CLI::Range(1e-3, 100.0));
    cmd->add_option("--seed", c->seed, "the problems' and samples' seed");
    cmd->callback([c] {
      setup_runtime(/*warn_about_blas=*/true);
      const lm::LogSummary s = lm::write_sequence_log(*c);
      fmt::print("logged {} completions (mean reward {:.3f}, correct {:.3f}) to {}\n", s.rows,
                 s.mean_reward, s.accuracy, c->out);
    });
  }
  {
    auto args = std::make_shared<ConfigArgs>();
    auto resume = std::make_shared<bool>(false);
    auto* cmd = lm->add_subcommand(
        "offline",
        "train from an `lm sft` run on a logged set of completions with rewards, never "
        "sampling (--method alol, nll or dpo; --from SFT_RUN_DIR --data LOG) into --run-dir");
    add_config_options(cmd, args, {"method", "from", "data", "steps", "seed", "run-dir"},
                       "override a config key: --set key=value (e.g. batch_size=32)");
    cmd->add_flag("--resume", *resume, "continue the run in --run-dir from its last checkpoint");
    cmd->callback([args, resume] {
      setup_runtime(/*warn_about_blas=*/true);
      const lm::RlResult r = *resume ? lm::resume_offline(resume_run_dir(*args)) : [&] {
        lm::OfflineConfig config;
        resolve_config(config, args->config_file, args->overrides());
        return lm::train_offline(config, false);
      }();
      fmt::print("trained {} steps; held-out accuracy {:.3f} ({} problems); run directory {}\n",
                 r.steps, r.last.accuracy, r.last.problems, r.run_dir);
    });
  }
  {
    struct EvalArgs {
      std::string run_dir;
      int problems = 500;
      std::vector<int64_t> ks;
      int64_t samples = 0;
      double temperature = 1.0;
      uint64_t seed = 0;
      std::string changed_from;
      double tolerance = 1e-5;
      std::string out;
    };
    auto a = std::make_shared<EvalArgs>();
    auto* cmd = lm->add_subcommand(
        "eval",
        "held-out accuracy of an `lm sft` or `lm rl` run (greedy); pass@k over sampled "
        "completions; the fraction of parameters changed from another run");
    cmd->add_option("--run-dir", a->run_dir, "the run directory")->required();
    cmd->add_option("--problems", a->problems, "held-out problems")->check(CLI::Range(1, 100000));
    cmd->add_option("--pass-at-k", a->ks,
                    "pass@k for these k (e.g. 1,8,64,256): the unbiased estimator over --samples "
                    "completions per problem (Chen et al. 2021)")
        ->delimiter(',')
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
    cmd->add_option("--samples", a->samples,
                    "completions per problem for pass@k (default: the "
                    "largest k)")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
    cmd->add_option("--temperature", a->temperature, "sampling temperature for pass@k")
        ->check(CLI::Range(1e-3, 100.0));
    cmd->add_option("--seed", a->seed, "the samples' seed for pass@k");
    cmd->add_option("--changed-from", a->changed_from,
                    "another run of the same network: the fraction of parameters that moved by "
                    "more than --tolerance (update sparsity)");
    cmd->add_option("--tolerance", a->tolerance, "for --changed-from")->check(CLI::Range(0.0, 1e6));
    cmd->add_option("--out", a->out, "also write the results as JSON to this file");
    cmd->callback([a] {
      setup_runtime(/*warn_about_blas=*/true);
      const lm::TaskEval e = lm::evaluate_sft_run(a->run_dir, a->problems);
      fmt::print("held-out accuracy {:.3f}, in the answer's format {:.3f} ({} problems)\n",
                 e.accuracy, e.format_rate, e.problems);
      nlohmann::json out{
          {"run_dir", a->run_dir},
          {"greedy",
           {{"problems", e.problems}, {"accuracy", e.accuracy}, {"format_rate", e.format_rate}}}};
      if (!a->ks.empty()) {
        const lm::PassAtKResult r = lm::pass_at_k_of_run(a->run_dir, {.ks = a->ks,
                                                                      .samples = a->samples,
                                                                      .problems = a->problems,
                                                                      .temperature = a->temperature,
                                                                      .seed = a->seed});
        fmt::print("pass@k over {} samples per problem at temperature {} ({} problems):\n",
                   r.samples, a->temperature, r.problems);
        nlohmann::json pass = nlohmann::json::object();
        for (const auto& [k, value] : r.pass) {
          fmt::print("  pass@{:<6} {:.3f}\n", k, value);
          pass[std::to_string(k)] = value;
        }
        out["pass_at_k"] = {
            {"samples", r.samples},   {"temperature", a->temperature},  {"seed", a->seed},
            {"problems", r.problems}, {"mean_correct", r.mean_correct}, {"pass", pass}};
      }
      if (!a->changed_from.empty()) {
        const lm::ParameterChange c =
            lm::changed_parameters(a->run_dir, a->changed_from, a->tolerance);
        fmt::print("parameters changed from {} by more than {}: {} of {} ({:.4f})\n",
                   a->changed_from, a->tolerance, c.changed, c.parameters, c.fraction());
        out["changed"] = {{"from", a->changed_from},
                          {"tolerance", a->tolerance},
                          {"changed", c.changed},
                          {"parameters", c.parameters},
                          {"fraction", c.fraction()}};
      }
      if (!a->out.empty()) write_file_atomic(a->out, out.dump(1) + "\n");
    });
  }
}

}  // namespace stitch::cli
