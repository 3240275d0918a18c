#include <fmt/format.h>
#include <fmt/ranges.h>

#include "algo/algorithm.h"
#include "algo/trainer.h"
#include "cli/commands.h"
#include "core/error.h"
#include "deploy/policy.h"
#include "eval/evaluate.h"
#ifdef STITCH_HAVE_MPI
#include "dist/dist_train.h"
#endif

namespace stitch::cli {

namespace {

void print_result(const TrainResult& r) {
  fmt::print("trained {} steps; run directory {}\n", r.steps, r.run_dir);
  if (!r.evaluations.empty()) {
    const auto& [step, e] = r.evaluations.back();
    fmt::print("final evaluation (step {}): mean return {:.3f} over {} episodes\n", step, e.mean,
               e.returns.size());
  }
  fmt::print("checkpoint {}\n", r.checkpoint);
}

// --resume: the run's stored config.json is the whole config; only --run-dir picks the run.
std::string resume_run_dir(const ConfigArgs& args) {
  std::string run_dir;
  for (const std::string& kv : args.overrides()) {
    if (kv.rfind("run_dir=", 0) == 0) {
      run_dir = kv.substr(8);
    } else {
      fail("--resume continues a run with its stored config; '{}' cannot change it", kv);
    }
  }
  if (run_dir.empty()) fail("--resume needs --run-dir DIR");
  return run_dir;
}
TrainResult resume_from_args(const ConfigArgs& args) {
  return resume_training(resume_run_dir(args));
}

}  // namespace

void add_train_commands(CLI::App& app) {
  {
    auto args = std::make_shared<ConfigArgs>();
    auto resume = std::make_shared<bool>(false);
    std::string algos;
    for (const auto& name : AlgoRegistry::global().names()) {
      algos += fmt::format("\n  {:<10} {}", name, AlgoRegistry::global().entry(name).summary);
    }
    auto* cmd = app.add_subcommand("train",
                                   "train an algorithm: offline from a dataset (--dataset), or "
                                   "online from the env (--online, streaming agents); "
                                   "evaluates on --env\nalgorithms:" +
                                       algos);
    add_config_options(cmd, args, {"algo", "dataset", "env", "steps", "seed", "run-dir"},
                       "override a config key: --set key=value, algorithm keys as <algo>.<key> "
                       "(e.g. iql.expectile=0.8)");
    cmd->add_flag_callback(
        "--online", [args] { args->shorthands.push_back("online=true"); },
        "learn online from the env (config key online; the streaming agents)");
    cmd->add_flag("--resume", *resume,
                  "continue the run in --run-dir from its last checkpoint, with its stored config");
    auto dist = std::make_shared<bool>(false);
    cmd->add_flag("--dist", *dist,
                  "under `mpirun -n N`: SAC online with rank 0 learning and ranks 1..N-1 stepping "
                  "envs (docs/distributed.md)");
    auto learners = std::make_shared<int>(1);
    cmd->add_option("--learners", *learners,
                    "with --dist: ranks 0..L-1 learn data-parallel (their gradients averaged, "
                    "their parameters identical), the others step envs")
        ->check(CLI::Range(1, 4096));
    cmd->callback([args, resume, dist, learners] {
      if (*learners != 1 && !*dist) fail("train --learners: only with --dist");
      setup_runtime(/*warn_about_blas=*/false);  // train() warns about a slow BLAS itself
      if (*dist) {
#ifdef STITCH_HAVE_MPI
        TrainConfig config;
        const TrainResult r =
            *resume ? train_distributed("", true, resume_run_dir(*args), *learners)
                    : train_distributed(
                          resolve_train_config(config, args->config_file, args->overrides()), false,
                          "", *learners);
        if (!r.run_dir.empty()) print_result(r);  // rank 0, the learner
        return;
#else
        fail("train --dist: this stitch was built without MPI (install libopenmpi-dev, rebuild)");
#endif
      }
      if (*resume) {
        print_result(resume_from_args(*args));
        return;
      }
      TrainConfig config;
      print_result(
          train(resolve_train_config(config, args->config_file, args->overrides()), false));
    });
  }
  {
    auto args = std::make_shared<ConfigArgs>();
    auto resume = std::make_shared<bool>(false);
    auto from = std::make_shared<std::string>();
    std::string methods;
    for (const auto& name : AlgoRegistry::global().names()) {
      const AlgoEntry& e = AlgoRegistry::global().entry(name);
      if (e.finetune.from.empty()) continue;
      methods +=
          fmt::format("\n  {:<8} from {} checkpoints", name, fmt::join(e.finetune.from, ", "));
    }
    auto* cmd = app.add_subcommand(
        "finetune",
        "continue a pre-trained checkpoint online (offline-to-online): its networks, optimiser "
        "state and normalisers, on --env for --steps env steps; evaluated before the first step "
        "and every eval_every env steps (the dip: `stitch report`)\nmethods (--algo):" +
            methods);
    cmd->add_option("--from", *from, "the pre-trained checkpoint (a run's checkpoints/latest.pt)");
    add_config_options(cmd, args,
                       {"algo", "env", "dataset", "steps", "seed", "run-dir", "offline-ratio",
                        "utd-ratio", "num-envs"},
                       "override a config key: --set key=value, the method's keys as <algo>.<key>");
    cmd->add_option_function<std::string>(
        "--warmup",
        [args](const std::string& v) { args->shorthands.push_back("learning_starts=" + v); },
        "env steps of the pre-trained policy before updates (config key learning_starts)");
    cmd->add_flag("--resume", *resume,
                  "continue the fine-tuning run in --run-dir from its last checkpoint");
    cmd->callback([args, resume, from] {
      setup_runtime(/*warn_about_blas=*/false);
      if (*resume) {
        if (!from->empty()) fail("--resume continues a run with its stored config; drop --from");
        print_result(resume_from_args(*args));
        return;
      }
      if (from->empty()) fail("finetune needs --from CHECKPOINT");
      std::string method = "iql";
      for (const std::string& kv : args->overrides()) {
        if (kv.rfind("algo=", 0) == 0) method = kv.substr(5);
      }
      print_result(
          train(finetune_config(*from, method, args->config_file, args->overrides()), false));
    });
  }
  {
    struct Args {
      std::string checkpoint, policy, env;
      int episodes = 10;
      uint64_t seed = 1'000'000;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = app.add_subcommand(
        "eval", "evaluate a trained checkpoint or an exported policy file on an env");
    auto* from_checkpoint =
        cmd->add_option("--checkpoint", args->checkpoint,
                        "checkpoint (a run's checkpoints/latest.pt or latest.cbor)");
    auto* from_policy = cmd->add_option(
        "--policy", args->policy, "policy file written by `stitch export` (stitch-policy-v1)");
    from_checkpoint->excludes(from_policy);
    from_policy->excludes(from_checkpoint);
    cmd->add_option("--env", args->env, "env id")->required();
    cmd->add_option("--episodes", args->episodes, "episodes")->check(CLI::PositiveNumber);
    cmd->add_option("--seed", args->seed, "seed of the first episode");
    cmd->callback([args] {
      setup_runtime(/*warn_about_blas=*/true);
      if (args->checkpoint.empty() == args->policy.empty()) {
        fail("eval needs --checkpoint FILE or --policy FILE");
      }
      const EvalResult r =
          args->policy.empty()
              ? evaluate_checkpoint(args->checkpoint, args->env, args->episodes, args->seed)
              : evaluate_policy_file(args->policy, args->env, args->episodes, args->seed);
      for (size_t i = 0; i < r.returns.size(); ++i) {
        fmt::print("episode {:>4}  return {:>10.3f}\n", i, r.returns[i]);
      }
      fmt::print("mean return {:.3f} over {} episodes\n", r.mean, r.returns.size());
      const ScoredEval score = score_evaluation(args->env, r);
      if (score.normalized) fmt::print("normalised score {:.1f}\n", *score.normalized);
      if (score.d4rl_normalized) {
        fmt::print("normalised score with D4RL's references {:.1f}\n", *score.d4rl_normalized);
      }
    });
  }
  {
    struct Args {
      std::string checkpoint, out;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = app.add_subcommand(
        "export",
        "write a checkpoint's deterministic policy as a torch-free file for control loops");
    cmd->add_option("--checkpoint", args->checkpoint, "checkpoint (a run's checkpoints/latest.pt)")
        ->required();
    cmd->add_option("--out", args->out, "output file (stitch-policy-v1)")->required();
    cmd->callback([args] {
      setup_runtime(/*warn_about_blas=*/false);
      const DeployedPolicy policy = export_checkpoint_policy(args->checkpoint);
      policy.save(args->out);
      fmt::print("wrote {}: obs {} -> act {}\n", args->out, policy.obs_dim(), policy.act_dim());
    });
  }
}

}  // namespace stitch::cli
