// Learning test of offline-to-online fine-tuning (label learn): on Pendulum, IQL pre-trained on
// the suite's medium data and fine-tuned online (`stitch finetune --algo iql`, half of each
// minibatch from the medium data) reaches the expert's score in fewer env steps than SAC from
// scratch, 3 seeds each, evaluated every 1,000 env steps. Networks of 2x64.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "algo/trainer.h"
#include "eval/evaluate.h"
#include "suite/suite.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;

// The expert's score: within 5 points of the suite's expert reference (normalised 100).
constexpr double kExpert = 95.0;

// The first evaluation step at which the run scores kExpert, or `never` when it does not.
int64_t steps_to_expert(const TrainResult& r, const std::string& env, int64_t never) {
  for (const auto& [step, e] : r.evaluations) {
    const auto score = score_evaluation(env, e).normalized;
    if (step > 0 && score && *score >= kExpert) return step;
  }
  return never;
}

fs::path work_dir() {
  return fs::path(::testing::TempDir()) / ("stitch_finetune_learn_" + std::to_string(getpid()));
}

std::string medium_data() {
  const fs::path dir = work_dir() / "suite";
  const fs::path path = dir / "pendulum-v1-medium.hdf5";
  if (!fs::exists(path)) {
    build_suite({.manifest = std::string(STITCH_SOURCE_DIR) + "/suite/manifest.json",
                 .data_dir = dir.string(),
                 .env = "pendulum-v1",
                 .size = 20000});
  }
  return path.string();
}

const std::vector<std::string> kEval = {"env=pendulum-v1", "eval_every=1000", "eval_episodes=10",
                                        "log_every=1000", "checkpoint_every=100000"};

int64_t finetuned_iql(uint64_t seed) {
  const std::string data = medium_data(), s = "seed=" + std::to_string(seed);
  const fs::path pre = work_dir() / ("pre-iql-" + std::to_string(seed));
  const fs::path run = work_dir() / ("ft-iql-" + std::to_string(seed));
  fs::remove_all(pre);
  fs::remove_all(run);
  TrainConfig c;
  train(resolve_train_config(c, "",
                             {"algo=iql", "dataset=" + data, "env=pendulum-v1", "steps=3000",
                              "eval_every=0", "iql.hidden=64", s, "run_dir=" + pre.string()}),
        false);
  std::vector<std::string> o = kEval;
  o.insert(o.end(), {"algo=iql", "steps=8000", "dataset=" + data, s, "run_dir=" + run.string()});
  const TrainResult r =
      train(finetune_config((pre / "checkpoints" / "latest.pt").string(), "iql", "", o), false);
  return steps_to_expert(r, "pendulum-v1", 9000);
}

int64_t sac_from_scratch(uint64_t seed) {
  const fs::path run = work_dir() / ("sac-" + std::to_string(seed));
  fs::remove_all(run);
  std::vector<std::string> o = kEval;
  o.insert(o.end(), {"algo=sac", "online=true", "steps=9000", "learning_starts=1000",
                     "sac.hidden=64", "seed=" + std::to_string(seed), "run_dir=" + run.string()});
  TrainConfig c;
  return steps_to_expert(train(resolve_train_config(c, "", o), false), "pendulum-v1", 10000);
}

// Measured on 2026-12-03 (2-core Xeon, alongside a sweep; 12,000 env steps each): fine-tuned IQL
// reached 95 at 5,000, 4,000 and 4,000 env steps (seeds 0-2; it scored 55, 61 and 47 before its
// first step), SAC from scratch (learning_starts 1,000) at 7,000 on all three. The margin, 1,500
// env steps, is about half the gap measured (2,700).
constexpr double kMargin = 1500.0;

TEST(FinetuneLearning, FinetunedIqlReachesTheExpertBeforeSacFromScratch) {
  double finetuned = 0, scratch = 0;
  for (uint64_t seed = 0; seed < 3; ++seed) {
    const int64_t f = finetuned_iql(seed), s = sac_from_scratch(seed);
    std::printf("seed %lu: fine-tuned IQL %ld env steps, SAC from scratch %ld\n",
                static_cast<unsigned long>(seed), static_cast<long>(f), static_cast<long>(s));
    finetuned += static_cast<double>(f) / 3.0;
    scratch += static_cast<double>(s) / 3.0;
  }
  EXPECT_LT(finetuned + kMargin, scratch);
  fs::remove_all(work_dir());
}

}  // namespace
}  // namespace stitch
