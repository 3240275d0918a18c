// Offline-to-online fine-tuning (algo/o2o/finetune.h, `stitch finetune`): the run starts from the
// checkpoint (its step-0 evaluation is the pre-trained policy's), resume equals an uninterrupted
// run with offline mixing and held episodes (Cal-QL) and with a warm-up (WSRL), returns-to-go of
// held episodes, the dip protocol, and one-line errors for bad input. Tiny networks and few
// steps: these check the loop, not learning (tests/algo/finetune_learning_test.cpp does).
#include "algo/o2o/finetune.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "algo/algorithm.h"
#include "algo/trainer.h"
#include "algo/training_loop.h"
#include "core/error.h"
#include "data/collect.h"
#include "data/io.h"
#include "env/registry.h"
#include "testing/errors.h"
#include "testing/run_command.h"
#include "track/checkpoint.h"
#include "track/runs.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;
using testing::error_of;
using ::testing::HasSubstr;

class FinetuneTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::path(::testing::TempDir()) / ("stitch_finetune_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto env = make_env("pendulum-v1");
    auto policy = make_scripted_policy("pendulum-v1");
    const Dataset d =
        collect(*env, *policy, {.transitions = 2000, .seed = 0, .gaussian_noise = 1.0});
    save_dataset(d, data().string(), {.force = true});
    for (const std::string algo : {"iql", "calql", "cql", "ro2o", "famo2o"}) pretrain(algo);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static fs::path data() { return dir_ / "pendulum.hdf5"; }
  static fs::path checkpoint(const std::string& algo) {
    return dir_ / ("pre-" + algo) / "checkpoints" / "latest.pt";
  }
  // A tiny offline run of `algo` on the Pendulum data (the CQL one with a LayerNorm ensemble, as
  // WSRL's pre-training).
  static void pretrain(const std::string& algo) {
    TrainConfig c;
    std::vector<std::string> o = {"algo=" + algo,
                                  "dataset=" + data().string(),
                                  "env=pendulum-v1",
                                  "steps=200",
                                  "batch_size=32",
                                  "eval_every=0",
                                  "eval_episodes=1",
                                  algo + ".hidden=16",
                                  "run_dir=" + (dir_ / ("pre-" + algo)).string()};
    if (algo != "iql") o.push_back(algo + ".layers=2");
    if (algo == "ro2o") {
      for (const char* kv : {"ro2o.critics=3", "ro2o.samples=2"}) o.push_back(kv);
    }
    if (algo == "cql") {
      for (const char* kv : {"cql.critics=4", "cql.layer_norm=true", "cql.target_subsample=2"})
        o.push_back(kv);
    }
    train(resolve_train_config(c, "", o), false);
  }
  // `stitch finetune`'s config for `method` from `from`'s checkpoint.
  static std::string config(const std::string& method, const std::string& from, int64_t steps,
                            const std::string& run, std::vector<std::string> extra = {}) {
    std::vector<std::string> o = {
        "algo=" + method,       "env=pendulum-v1", "steps=" + std::to_string(steps),
        "batch_size=32",        "eval_every=0",    "eval_episodes=1",
        "checkpoint_every=200", "log_every=100",   "run_dir=" + (dir_ / run).string()};
    o.insert(o.end(), extra.begin(), extra.end());
    return finetune_config(checkpoint(from).string(), method, "", o);
  }
  static std::vector<torch::Tensor> state(const std::string& run) {
    LoadedAlgorithm a =
        load_algorithm_checkpoint((dir_ / run / "checkpoints" / "latest.pt").string());
    std::vector<torch::Tensor> out;
    for (const auto& [name, module] : a.algo->modules()) {
      for (const auto& p : module->parameters()) out.push_back(p.detach().clone());
    }
    return out;
  }
  static inline fs::path dir_;
};

TEST_F(FinetuneTest, StartsFromTheCheckpointWithItsNormalisers) {
  // The step-0 evaluation is the pre-trained policy's, observation normaliser included.
  const TrainResult r = train(
      config("iql", "iql", 10, "start", {"eval_episodes=2", "dataset=" + data().string()}), false);
  ASSERT_FALSE(r.evaluations.empty());
  EXPECT_EQ(r.evaluations.front().first, 0);
  const EvalResult pre =
      evaluate_checkpoint(checkpoint("iql").string(), "pendulum-v1", 2, evaluation_seed(0));
  EXPECT_EQ(r.evaluations.front().second.returns, pre.returns);
  // The method's fine-tuning keys and the checkpoint's network are in config.json.
  const std::string cfg = testing::read_file((dir_ / "start" / "config.json").string());
  EXPECT_THAT(cfg, HasSubstr("\"offline_ratio\": 0.5"));
  EXPECT_THAT(cfg, HasSubstr("\"cosine_schedule\": false"));
  EXPECT_THAT(cfg, HasSubstr("\"hidden\": 16"));
}

TEST_F(FinetuneTest, ResumedRunEndsWhereAnUninterruptedOneDoes) {
  // Cal-QL: half of each minibatch offline, episodes held for their returns-to-go; WSRL: a
  // warm-up with the pre-trained policy, UTD 4 on a LayerNorm ensemble with REDQ targets; RO2O:
  // its smoothness and OOD terms online; FamO2O: the balance model picking the universal policy's
  // coefficient online, the data mixed in.
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"calql", {"dataset=" + data().string(), "checkpoint_every=250"}},
      {"wsrl", {"learning_starts=150", "checkpoint_every=250"}},
      {"ro2o", {"learning_starts=150", "checkpoint_every=250"}},
      {"famo2o", {"dataset=" + data().string(), "checkpoint_every=250"}}};
  for (const auto& [method, extra] : cases) {
    const std::string from = method == "wsrl" ? "cql" : method;
    train(config(method, from, 700, method + "_full", extra), false);
    const std::string cfg = config(method, from, 700, method + "_killed", extra);
    // The checkpoint at 500 cuts an episode mid-way (Pendulum's are 200 steps): a held one is
    // stored then.
    EXPECT_EQ(train(cfg, false, /*stop_after_steps=*/300).steps, 500);
    EXPECT_EQ(resume_training((dir_ / (method + "_killed")).string()).steps, 700);
    const auto a = state(method + "_full"), b = state(method + "_killed");
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i)
      EXPECT_TRUE(torch::equal(a[i], b[i])) << method << " tensor " << i;
    EXPECT_EQ(testing::read_file((dir_ / (method + "_full") / "episodes.jsonl").string()),
              testing::read_file((dir_ / (method + "_killed") / "episodes.jsonl").string()));
  }
}

// RLPD-style (Ball et al. 2023): online SAC from scratch with half of each minibatch from the
// offline data; the report names its data "online+<file>".
TEST_F(FinetuneTest, OnlineLearnersMixOfflineDataRlpdStyle) {
  TrainConfig c;
  const auto run = dir_ / "rlpd";
  const TrainResult r =
      train(resolve_train_config(
                c, "",
                {"algo=sac", "online=true", "env=pendulum-v1", "steps=300", "learning_starts=100",
                 "batch_size=32", "eval_every=0", "eval_episodes=1", "sac.hidden=16",
                 "offline_ratio=0.5", "dataset=" + data().string(), "run_dir=" + run.string()}),
            false);
  EXPECT_EQ(r.steps, 300);
  EXPECT_EQ(read_run(run.string()).dataset, "online+pendulum.hdf5");
  TrainConfig d;
  EXPECT_THAT(error_of([&] {
                resolve_train_config(d, "",
                                     {"algo=iql", "dataset=" + data().string(), "env=pendulum-v1",
                                      "offline_ratio=0.5"});
              }),
              HasSubstr("config key 'offline_ratio': for fine-tuning"));
}

// Fine-tuned online, TD3+BC explores with TD3's Gaussian noise (it acted deterministically when it
// only ever trained offline).
TEST(FinetuneActing, Td3BcExploresOnline) {
  const auto& entry = AlgoRegistry::global().entry("td3_bc");
  auto config = entry.make_config();
  auto algo = entry.make(*config, {.obs_dim = 3, .act_dim = 1, .max_action = 2.0}, 0);
  const auto obs = torch::zeros({64, 3});
  const auto mode = algo->act(obs, /*deterministic=*/true);
  const auto explored = algo->act(obs, /*deterministic=*/false);
  EXPECT_FALSE(torch::equal(mode, explored));
  EXPECT_LE(explored.abs().max().item<float>(), 2.0f);
  EXPECT_NEAR((explored - mode).std().item<double>(), 0.2, 0.08);  // 0.1 x max_action
}

TEST(EpisodeHold, StoresEachTransitionWithItsReturnToGo) {
  ReplayBuffer buffer(10, 1, 1);
  EpisodeHold hold(/*returns_to_go=*/true, 1, {.obs_dim = 1, .act_dim = 1}, 0.5);
  const float s[1] = {0}, a[1] = {0};
  hold.add(buffer, 0, s, a, 1.0f, s, false, false);
  hold.add(buffer, 0, s, a, 2.0f, s, false, false);
  EXPECT_EQ(buffer.size(), 0);  // held until the episode ends
  hold.add(buffer, 0, s, a, 3.0f, s, false, /*truncated=*/true);
  ASSERT_EQ(buffer.size(), 3);
  // G = r_t + 0.5 G_{t+1}, 0 past the end (a truncated episode is not bootstrapped).
  Rng rng(0);
  Batch batch = buffer.make_batch(64);
  batch.returns_to_go.resize(64);
  buffer.sample(batch, rng);
  for (int64_t i = 0; i < 64; ++i) {
    const float r = batch.rewards[i];
    EXPECT_FLOAT_EQ(batch.returns_to_go[i], r == 1.0f ? 2.75f : r == 2.0f ? 3.5f : 3.0f);
    EXPECT_EQ(batch.terminals[i], 0.0f);
  }
}

TEST(FinetuneScores, TheDipIsTheWorstEvaluationInTheFirstTenthOfTheRun) {
  RunSummary r;
  r.from = "pre/checkpoints/latest.pt";
  r.planned_steps = 10000;
  for (const auto& [step, mean] : std::vector<std::pair<int64_t, double>>{
           {0, -500}, {500, -700}, {1000, -800}, {1500, -100}, {5000, -1000}, {10000, -150}}) {
    r.evaluations.push_back({.step = step, .mean = mean});
  }
  const auto s = finetune_scores(r);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->before.mean, -500);
  EXPECT_EQ(s->dip.mean, -800);  // -1000 at 5,000 is past the first 10%
  EXPECT_EQ(s->dip.step, 1000);
  EXPECT_EQ(s->after.mean, -150);
  r.from.clear();
  EXPECT_FALSE(finetune_scores(r).has_value());
}

// The binary: exit code 1, one line naming the problem.
void expect_one_line_error(const std::string& args, const std::string& needle) {
  const auto r = testing::run_command(std::string(STITCH_CLI_PATH) + " finetune " + args);
  EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.err;
  EXPECT_THAT(r.err, HasSubstr(needle)) << args;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
}

TEST_F(FinetuneTest, BadInputIsAOneLineError) {
  const std::string run = " --run-dir " + (dir_ / "bad").string();
  // A checkpoint trained on another env's dimensions.
  expect_one_line_error(
      "--from " + checkpoint("iql").string() + " --algo iql --env hopper-v4" + run,
      "trained for observation/action dimensions 3/1, but hopper-v4 has 11/3");
  // A dataset that does not match the env.
  const fs::path other = dir_ / "other.hdf5";
  Dataset d;
  d.obs_dim = 5;
  d.act_dim = 1;
  for (int i = 0; i < 4; ++i) {
    d.observations.insert(d.observations.end(), 5, 0.0f);
    d.next_observations.insert(d.next_observations.end(), 5, 0.0f);
    d.actions.push_back(0.0f);
    d.rewards.push_back(0.0f);
    d.terminals.push_back(i == 3);
    d.timeouts.push_back(0);
    d.has_next.push_back(1);
  }
  d.index_episodes();
  save_dataset(d, other.string(), {.force = true});
  expect_one_line_error("--from " + checkpoint("iql").string() +
                            " --algo iql --env pendulum-v1 --dataset " + other.string() + run,
                        "observation/action dimensions 5/1 do not match pendulum-v1's 3/1");
  // Cal-QL from a checkpoint without a conservative critic.
  expect_one_line_error(
      "--from " + checkpoint("iql").string() + " --algo calql --env pendulum-v1" + run,
      "a iql checkpoint, and calql fine-tunes only calql or cql checkpoints");
  expect_one_line_error(
      "--from " + checkpoint("cql").string() + " --algo ro2o --env pendulum-v1" + run,
      "a cql checkpoint, and ro2o fine-tunes only ro2o checkpoints");
  expect_one_line_error(
      "--from " + checkpoint("cql").string() + " --algo famo2o --env pendulum-v1" + run,
      "a cql checkpoint, and famo2o fine-tunes only famo2o checkpoints");
  expect_one_line_error(
      "--from " + checkpoint("iql").string() + " --algo bc --env pendulum-v1" + run,
      "bc does not fine-tune a checkpoint online (methods: ");
  expect_one_line_error(
      "--from " + (dir_ / "missing.pt").string() + " --algo iql --env pendulum-v1" + run,
      "missing.pt");
  expect_one_line_error("--from " + checkpoint("calql").string() +
                            " --algo calql --env pendulum-v1 --offline-ratio 0.5" + run,
                        "needs --dataset FILE");
  expect_one_line_error("--algo iql --env pendulum-v1" + run, "finetune needs --from CHECKPOINT");
  EXPECT_FALSE(fs::exists(dir_ / "bad" / "metrics.jsonl"));
}

}  // namespace
}  // namespace stitch
