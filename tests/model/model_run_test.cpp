// Model runs (model/model_run.h): `stitch model train` writes a run whose checkpoint loads back
// to the same predictions, keeps whole episodes out of the fit, and `stitch model eval` scores
// open-loop rollouts on them; bad input is one line naming the file.
#include "model/model_run.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/collect.h"
#include "data/dataset.h"
#include "data/io.h"
#include "env/registry.h"
#include "testing/errors.h"
#include "testing/run_command.h"
#include "testing/thread_policy.h"
#include "track/run_files.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;
using testing::error_of;

fs::path fresh_dir(const std::string& name) {
  const fs::path dir =
      fs::path(::testing::TempDir()) / fmt::format("stitch_model_{}_{}", name, getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// 30 Pendulum episodes of 100 steps of its scripted controller with action noise, saved.
std::string pendulum_data(const fs::path& dir) {
  auto env = make_env("pendulum-v1", {.time_limit = false});
  auto policy = make_scripted_policy("pendulum-v1");
  // A 100-step episode: collect ends episodes only at the env's own limit, so cut by hand.
  Dataset all;
  for (int e = 0; e < 30; ++e) {
    Dataset d =
        collect(*env, *policy,
                {.transitions = 100, .seed = static_cast<uint64_t>(e), .gaussian_noise = 0.5});
    d.timeouts.back() = 1;
    d.index_episodes();
    if (e == 0) {
      all = d;
    } else {
      append_dataset(all, d);
    }
  }
  const std::string path = (dir / "pendulum.hdf5").string();
  save_dataset(all, path, {});
  return path;
}

TEST(ModelRun, TrainsKeepsEpisodesOutAndLoadsBackTheSameModel) {
  const fs::path dir = fresh_dir("train");
  const std::string data_path = pendulum_data(dir);
  ModelRunConfig c;
  c.dataset = data_path;
  c.env = "pendulum-v1";
  c.run_dir = (dir / "run").string();
  c.seed = 3;
  c.model.members = 3;
  c.model.elites = 2;
  c.model.hidden = 64;
  c.model.max_epochs = 150;
  c.model.patience = 20;
  c.model.eval_episodes = 4;
  TrainedModel m = train_model_run(c);
  ASSERT_EQ(m.eval_episodes.size(), 4u);
  EXPECT_EQ(m.elites.size(), 2u);
  for (const char* f : {"config.json", "meta.json", "metrics.jsonl", "checkpoints/model.pt"}) {
    EXPECT_TRUE(fs::exists(dir / "run" / f)) << f;
  }
  const auto config = nlohmann::json::parse(read_file_text(dir / "run" / "config.json"));
  EXPECT_EQ(config["kind"], "model");
  EXPECT_EQ(config["model"]["members"], 3);

  // The checkpoint gives the same predictions, elites and held-out episodes.
  TrainedModel back = load_model_checkpoint((dir / "run").string(), "pendulum-v1", 3, 1);
  EXPECT_EQ(back.elites, m.elites);
  EXPECT_EQ(back.eval_episodes, m.eval_episodes);
  EXPECT_EQ(back.holdout_mse, m.holdout_mse);
  const std::vector<float> obs = {0.5f, -0.2f, 1.0f, 0.9f, 0.4f, -2.0f}, act = {0.3f, -1.5f};
  std::vector<float> x(6 * 2), a(2 * 2 * 4), b(2 * 2 * 4);
  for (int k = 0; k < 3; ++k) {
    m.ensemble->standardise(obs.data(), act.data(), 2, x.data());
    m.ensemble->predict(k, x.data(), 2, a.data());
    back.ensemble->standardise(obs.data(), act.data(), 2, x.data());
    back.ensemble->predict(k, x.data(), 2, b.data());
    EXPECT_EQ(a, b) << "member " << k;
  }

  // Open-loop error on the 4 held-out episodes (400 rows): far below predicting no change at
  // one step, rising with the horizon, and written as json, md and svg.
  const auto table = evaluate_model_run((dir / "run").string(), 5);
  ASSERT_EQ(table.size(), 5u);
  EXPECT_EQ(table[0].starts, 400);
  EXPECT_EQ(table[4].starts, 400 - 4 * 4);  // each episode loses a start per step
  EXPECT_LT(table[0].state_mse, 0.1 * table[0].constant_mse);
  EXPECT_LT(table[0].state_mse, table[4].state_mse);
  for (const char* f : {"model_eval.json", "model_eval.md", "model_eval.svg"}) {
    EXPECT_TRUE(fs::exists(dir / "run" / f)) << f;
  }
  const auto j = nlohmann::json::parse(read_file_text(dir / "run" / "model_eval.json"));
  EXPECT_EQ(j["horizons"].size(), 5u);

  // A second fit into the same run directory is refused (the model is kept).
  EXPECT_EQ(error_of([&] { train_model_run(c); }),
            c.run_dir +
                ": already holds a fitted model (checkpoints/model.pt); choose another "
                "--run-dir");
  fs::remove_all(dir);
}

TEST(ModelRun, BadInputIsOneLineNamingTheFile) {
  const fs::path dir = fresh_dir("bad");
  const std::string data_path = pendulum_data(dir);
  ModelRunConfig c;
  c.dataset = data_path;
  c.run_dir = (dir / "run").string();  // env from the dataset's env_id
  c.model.members = 2;
  c.model.elites = 1;
  c.model.hidden = 8;
  c.model.max_epochs = 1;
  train_model_run(c);
  const std::string model = (dir / "run" / "checkpoints" / "model.pt").string();
  // A model for another env or other dimensions.
  EXPECT_EQ(error_of([&] { load_model_checkpoint(model, "hopper-v4", 11, 3); }),
            model +
                ": a model of pendulum-v1 (observation/action dimensions 3/1), not of "
                "hopper-v4 (11/3)");
  // Data of another env.
  c.env = "hopper-v4";
  c.run_dir = (dir / "run2").string();
  EXPECT_EQ(error_of([&] { train_model_run(c); }),
            data_path + ": observation/action dimensions 3/1 do not match hopper-v4's 11/3");
  // A dataset with no row that has a successor (no next_observations and 1-row episodes).
  Dataset d = load_dataset(data_path);
  std::fill(d.has_next.begin(), d.has_next.end(), 0);
  c.env = "pendulum-v1";
  c.run_dir = (dir / "run3").string();
  c.model.eval_episodes = 0;
  EXPECT_EQ(error_of([&] { train_model_run(c, &d); }),
            "dynamics: 0 transitions with a successor; at least 2 are needed");
  // A damaged checkpoint, and a training checkpoint where a model is expected.
  fs::resize_file(model, fs::file_size(model) / 2);
  EXPECT_NE(error_of([&] { load_model_checkpoint(model); }).find(model), std::string::npos);
  // Through the CLI: one line, no stack trace.
  const auto r = testing::run_command(
      fmt::format("{} model eval --run-dir {}", STITCH_CLI_PATH, (dir / "run").string()));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("error: " + model), std::string::npos) << r.err;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace stitch
