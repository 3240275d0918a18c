// Fault injection through the durable writer's seam (track/durable.h), swept over every write
// of the commands that write files: train (resuming a run, with checkpoints), collect, dataset
// convert (to a Minari directory), export, suite build and report. For each call k of a
// command's run and each fault (ENOSPC and EIO on every call, a short write on every write):
//   - the command fails with one Error naming a file and the errno text;
//   - the previous output is byte-identical (these commands are deterministic, so a file the
//     run replaced before the fault holds the same bytes) and, for train, the checkpoint loads;
//   - no temporary (*.tmp, *.old) is left anywhere;
//   - train: a plain --resume afterwards ends with the same parameters as an uninterrupted run.
// The faults and commands swept are counted in the test's output (docs/reliability.md).
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>

#include "algo/trainer.h"
#include "algo/training_loop.h"
#include "core/error.h"
#include "data/collect.h"
#include "data/io.h"
#include "deploy/policy.h"
#include "env/registry.h"
#include "suite/suite.h"
#include "testing/checkpoint_parameters.h"
#include "testing/run_command.h"
#include "testing/thread_policy.h"
#include "track/durable.h"
#include "track/report.h"
#include "track/runs.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;
using durable::Fault;
using durable::Op;

// Every file under `root` (or root itself) by relative path, with its bytes.
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> out;
  if (fs::is_regular_file(root)) {
    out[""] = testing::read_file(root.string());
  } else if (fs::is_directory(root)) {
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (e.is_regular_file())
        out[fs::relative(e.path(), root).string()] = testing::read_file(e.path().string());
    }
  }
  return out;
}

std::vector<std::string> temporaries(const fs::path& root) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(".tmp") || name.ends_with(".old")) out.push_back(e.path().string());
  }
  return out;
}

class FaultSweep : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           fmt::format("stitch_faults_{}_{}", getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    durable::set_hook({});
    fs::remove_all(dir_);
  }

  // The number of durable calls `command` makes.
  static int count_calls(const std::function<void()>& command) {
    int calls = 0;
    durable::set_hook([&](Op, const fs::path&) {
      ++calls;
      return Fault{};
    });
    command();
    durable::set_hook({});
    return calls;
  }

  // The faults of call k: ENOSPC and EIO, and a short write when the call is a write.
  static std::vector<Fault> faults_for(Op op) {
    std::vector<Fault> f{{ENOSPC}, {EIO}};
    if (op == Op::kWrite) f.push_back({ENOSPC, true});
    return f;
  }

  // Runs `command` with call k failing with `fault`; expects one Error naming a file under
  // `named` and the errno text. Returns the op that failed.
  static void expect_fails(const std::function<void()>& command, int k, Fault fault,
                           const fs::path& named) {
    int calls = 0;
    durable::set_hook([&](Op, const fs::path&) { return calls++ == k ? fault : Fault{}; });
    try {
      command();
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_THAT(what, ::testing::HasSubstr(named.string()));
      EXPECT_THAT(what, ::testing::HasSubstr(std::strerror(fault.errno_value)));
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
    durable::set_hook({});
  }

  // The ops of a run of `command`, in order.
  static std::vector<Op> ops_of(const std::function<void()>& command) {
    std::vector<Op> ops;
    durable::set_hook([&](Op op, const fs::path&) {
      ops.push_back(op);
      return Fault{};
    });
    command();
    durable::set_hook({});
    return ops;
  }

  // Sweeps a deterministic command whose output is `output`: it ran once already.
  int sweep_deterministic(const std::string& what, const std::function<void()>& command,
                          const fs::path& output) {
    const auto before = snapshot(output);
    EXPECT_FALSE(before.empty()) << what;
    const std::vector<Op> ops = ops_of(command);
    int faults = 0;
    for (int k = 0; k < static_cast<int>(ops.size()); ++k) {
      for (const Fault fault : faults_for(ops[k])) {
        SCOPED_TRACE(fmt::format("{}: call {} ({}), errno {}{}", what, k, durable::op_name(ops[k]),
                                 fault.errno_value, fault.short_write ? ", short write" : ""));
        expect_fails(command, k, fault, output.parent_path());
        EXPECT_EQ(snapshot(output), before);
        EXPECT_EQ(temporaries(dir_), std::vector<std::string>{});
        ++faults;
      }
    }
    fmt::print("fault sweep: {}: {} durable calls, {} faults injected, 0 losses\n", what,
               ops.size(), faults);
    return faults;
  }

  void sweep_resume(const std::string& what,
                    const std::function<std::string(const std::string&)>& config);
  fs::path pendulum_data();
  fs::path dir_;
};

TEST_F(FaultSweep, DatasetsPoliciesSuiteAndReportsSurviveEveryFault) {
  const fs::path data = dir_ / "collected.hdf5", minari = dir_ / "converted";
  auto collect_cmd = [&] {
    auto env = make_env("pendulum-v1");
    auto policy = make_scripted_policy("pendulum-v1");
    save_dataset(collect(*env, *policy, {.transitions = 300, .seed = 1}), data.string(),
                 {.force = true});
  };
  auto convert_cmd = [&] {
    save_dataset(load_dataset(data.string()), minari.string(),
                 {.layout = Layout::kMinari, .force = true});
  };
  collect_cmd();
  convert_cmd();
  int faults = sweep_deterministic("collect", collect_cmd, data);
  faults += sweep_deterministic("dataset convert (Minari directory)", convert_cmd, minari);

  // A short offline run gives a checkpoint to export and a run directory to report on.
  TrainConfig c;
  const TrainResult run =
      train(resolve_train_config(
                c, "",
                {"algo=bc", "dataset=" + data.string(), "env=pendulum-v1", "steps=40",
                 "eval_episodes=1", "bc.hidden=16", "run_dir=" + (dir_ / "runs" / "bc").string()}),
            false);
  const fs::path policy = dir_ / "bc.policy";
  auto export_cmd = [&] { export_checkpoint_policy(run.checkpoint).save(policy.string()); };
  export_cmd();
  faults += sweep_deterministic("export", export_cmd, policy);

  const fs::path report = dir_ / "report";
  auto report_cmd = [&] {
    write_report(find_runs((dir_ / "runs").string()), report.string(), {.replicates = 50});
  };
  report_cmd();
  faults += sweep_deterministic("report", report_cmd, report);

  const fs::path suite = dir_ / "suite";
  auto suite_cmd = [&] {
    build_suite({.manifest = std::string(STITCH_SOURCE_DIR) + "/suite/manifest.json",
                 .data_dir = suite.string(),
                 .env = "pendulum-v1",
                 .size = 200,
                 .force = true});
  };
  suite_cmd();
  faults += sweep_deterministic("suite build", suite_cmd, suite);
  EXPECT_GT(faults, 50);
}

// A run stopped at its first checkpoint, resumed with a fault at every durable call k: the
// resume fails with one Error, loses nothing, and a plain resume afterwards ends with the
// parameters of an uninterrupted run. `config(run)`: the run's config text (60 steps).
void FaultSweep::sweep_resume(const std::string& what,
                              const std::function<std::string(const std::string&)>& config) {
  auto parameters = [](const fs::path& checkpoint) {
    return testing::checkpoint_parameters(checkpoint.string());
  };
  train(config("full"), false);
  const auto expected = parameters(dir_ / "full" / "checkpoints" / "latest.pt");
  train(config("stopped"), false, /*stop_after_steps=*/20);  // the previous checkpoint

  const fs::path probe = dir_ / "probe";
  fs::copy(dir_ / "stopped", probe, fs::copy_options::recursive);
  const std::vector<Op> ops = ops_of([&] { resume_training(probe.string()); });
  int faults = 0;
  for (int k = 0; k < static_cast<int>(ops.size()); ++k) {
    for (const Fault fault : faults_for(ops[k])) {
      SCOPED_TRACE(fmt::format("{}: call {} ({}), errno {}{}", what, k, durable::op_name(ops[k]),
                               fault.errno_value, fault.short_write ? ", short write" : ""));
      const fs::path run = dir_ / fmt::format("k{}_{}_{}", k, fault.errno_value,
                                              fault.short_write ? "short" : "full");
      fs::copy(dir_ / "stopped", run, fs::copy_options::recursive);
      expect_fails([&] { resume_training(run.string()); }, k, fault, run);
      EXPECT_EQ(temporaries(run), std::vector<std::string>{});
      parameters(run / "checkpoints" / "latest.pt");  // loads (or throws)
      const TrainResult r = resume_training(run.string());
      EXPECT_EQ(r.steps, 60);
      EXPECT_TRUE(testing::same_tensors(parameters(run / "checkpoints" / "latest.pt"), expected));
      fs::remove_all(run);
      ++faults;
    }
  }
  fmt::print("fault sweep: {}: {} durable calls, {} faults injected, 0 losses\n", what, ops.size(),
             faults);
  EXPECT_GT(faults, 10);
}

fs::path FaultSweep::pendulum_data() {
  const fs::path data = dir_ / "data.hdf5";
  auto env = make_env("pendulum-v1");
  auto policy = make_scripted_policy("pendulum-v1");
  save_dataset(collect(*env, *policy, {.transitions = 500, .seed = 2, .gaussian_noise = 0.5}),
               data.string(), {});
  return data;
}

TEST_F(FaultSweep, TrainResumesToTheSameParametersAfterEveryFault) {
  const fs::path data = pendulum_data();
  sweep_resume("train --resume", [&](const std::string& run) {
    TrainConfig c;
    return resolve_train_config(
        c, "",
        {"algo=td3_bc", "dataset=" + data.string(), "env=pendulum-v1", "steps=60",
         "checkpoint_every=20", "log_every=20", "eval_every=0", "eval_episodes=1",
         "td3_bc.hidden=16", "run_dir=" + (dir_ / run).string()});
  });
}

// The online loop through fine-tuning (replay files, episodes.jsonl, held episodes' returns):
// Cal-QL continued online with the offline data mixed in.
TEST_F(FaultSweep, FinetuneResumesToTheSameParametersAfterEveryFault) {
  const fs::path data = pendulum_data();
  TrainConfig c;
  train(resolve_train_config(
            c, "",
            {"algo=calql", "dataset=" + data.string(), "env=pendulum-v1", "steps=20",
             "batch_size=16", "eval_every=0", "eval_episodes=1", "calql.hidden=16",
             "calql.layers=1", "calql.num_actions=2", "run_dir=" + (dir_ / "pre").string()}),
        false);
  const std::string from = (dir_ / "pre" / "checkpoints" / "latest.pt").string();
  sweep_resume("finetune --resume", [&](const std::string& run) {
    return finetune_config(from, "calql", "",
                           {"env=pendulum-v1", "steps=60", "checkpoint_every=20", "log_every=20",
                            "eval_every=0", "eval_episodes=1", "batch_size=16",
                            "dataset=" + data.string(), "run_dir=" + (dir_ / run).string()});
  });
}

}  // namespace
}  // namespace stitch
