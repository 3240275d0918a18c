// `stitch lm log` and `stitch lm offline`: a log read back trusting nothing, each method trains and
// resumes to the uninterrupted result, and bad input is one error line.
#include "lm/offline.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "testing/errors.h"
#include "testing/run_command.h"

namespace stitch::lm {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class OfflineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           fmt::format("stitch_lm_offline_{}_{}", getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }
  fs::path dir_;
};

TEST_F(OfflineTest, TheLogReaderNamesTheLineOfABadRow) {
  const fs::path log = dir_ / "log.jsonl";
  const std::string good =
      R"({"prompt":"1+2=","completion":"3","ended":true,"reward":1,"correct":true})";
  write(log, good + "\n" + good + "\n");
  EXPECT_EQ(read_sequence_log(log.string()).size(), 2u);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"[1,2]", ":2: not a JSON object"},
      {R"({"prompt":"","completion":"3","ended":true,"reward":1,"correct":true})",
       ":2: 'prompt' must be a non-empty string"},
      {R"({"prompt":"1+2=","completion":3,"ended":true,"reward":1,"correct":true})",
       ":2: 'completion' must be a string"},
      {R"({"prompt":"1+2=","completion":"3","ended":1,"reward":1,"correct":true})",
       ":2: 'ended' must be true or false"},
      {R"({"prompt":"1+2=","completion":"3","ended":true,"reward":"1","correct":true})",
       ":2: 'reward' must be a number in [-1e6, 1e6]"},
      {R"({"prompt":"1+2=","completion":"3","ended":true,"reward":1e300,"correct":true})",
       ":2: 'reward' must be a number in [-1e6, 1e6]"},
      {"{\"prompt\":\"1+2=\"", ":2: not a JSON object"},
  };
  for (const auto& [line, message] : bad) {
    write(log, good + "\n" + line + "\n");
    EXPECT_THAT(testing::error_of([&] { read_sequence_log(log.string()); }), HasSubstr(message))
        << line;
  }
  write(log, good + "\n" + good + "\n" + good + "\n");
  EXPECT_THAT(testing::error_of([&] { read_sequence_log(log.string(), 2); }),
              HasSubstr("more than 2 rows"));
  write(log, "\n");
  EXPECT_THAT(testing::error_of([&] { read_sequence_log(log.string()); }), HasSubstr("no rows"));
}

TEST_F(OfflineTest, EachMethodTrainsAndResumesExactly) {
  const std::string cli = STITCH_CLI_PATH;
  const fs::path sft = dir_ / "sft", log = dir_ / "log.jsonl";
  ASSERT_EQ(testing::run_command(fmt::format("{} --threads 1 --log-level warn lm sft --task "
                                             "addition --difficulty 1 --steps 150 --run-dir {} "
                                             "--set eval_every=0 --set width=32",
                                             cli, sft.string()))
                .exit_code,
            0);
  const auto logged = testing::run_command(
      fmt::format("{} --threads 1 lm log --run-dir {} --prompts 40 --samples 4 --out {}", cli,
                  sft.string(), log.string()));
  ASSERT_EQ(logged.exit_code, 0) << logged.err;
  EXPECT_EQ(read_sequence_log(log.string()).size(), 160u);
  for (const char* method : {"alol", "nll", "dpo"}) {
    auto run = [&](const fs::path& d, int64_t steps) {
      return fmt::format(
          "{} --threads 1 --log-level warn lm offline --method {} --from {} --data {} --steps {} "
          "--run-dir {} --set batch_size=8 --set checkpoint_every=10 --set eval_every=10 --set "
          "eval_problems=20",
          cli, method, sft.string(), log.string(), steps, d.string());
    };
    const fs::path whole = dir_ / fmt::format("{}-whole", method);
    const auto w = testing::run_command(run(whole, 20));
    ASSERT_EQ(w.exit_code, 0) << method << ": " << w.err;
    // Stopped at its checkpoint at 10 (a run of 10 steps), then resumed to 20 with the stored
    // config changed only in its length: the same evaluations as the whole run.
    const fs::path part = dir_ / fmt::format("{}-part", method);
    ASSERT_EQ(testing::run_command(run(part, 10)).exit_code, 0);
    auto config = nlohmann::json::parse(testing::read_file((part / "config.json").string()));
    config["steps"] = 20;
    write(part / "config.json", config.dump());
    const auto resumed = testing::run_command(fmt::format(
        "{} --threads 1 --log-level warn lm offline --resume --run-dir {}", cli, part.string()));
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_EQ(testing::read_file((part / "eval.jsonl").string()),
              testing::read_file((whole / "eval.jsonl").string()))
        << method;
    // lm eval reads an offline run as it reads an RL run.
    EXPECT_EQ(testing::run_command(
                  fmt::format("{} lm eval --run-dir {} --problems 5", cli, whole.string()))
                  .exit_code,
              0);
  }
  const auto method = testing::run_command(
      fmt::format("{} --log-level warn lm offline --method ppo --from {} --data {} --run-dir {}",
                  cli, sft.string(), log.string(), (dir_ / "x").string()));
  EXPECT_THAT(method.err, HasSubstr("expected alol, nll or dpo, got 'ppo'"));
  const auto data = testing::run_command(
      fmt::format("{} --log-level warn lm offline --from {} --data {} --run-dir {}", cli,
                  sft.string(), (dir_ / "none.jsonl").string(), (dir_ / "y").string()));
  EXPECT_THAT(data.err, HasSubstr("cannot open the sequence log"));
  // Every completion rewarded alike: no advantage above 0, nothing for A-LoL.
  write(dir_ / "flat.jsonl",
        R"({"prompt":"S1,2,3=","completion":"1,2,3","ended":true,"reward":1,"correct":true})"
        "\n"
        R"({"prompt":"S1,2,3=","completion":"1,2,3","ended":true,"reward":1,"correct":true})"
        "\n");
  const auto flat = testing::run_command(
      fmt::format("{} --log-level warn lm offline --from {} --data {} --run-dir {}", cli,
                  sft.string(), (dir_ / "flat.jsonl").string(), (dir_ / "z").string()));
  EXPECT_THAT(flat.err, HasSubstr("no completion beats its prompt's mean reward"));
  for (const auto* r : {&method, &data, &flat})
    EXPECT_EQ(std::count(r->err.begin(), r->err.end(), '\n'), 1) << r->err;
}

}  // namespace
}  // namespace stitch::lm
