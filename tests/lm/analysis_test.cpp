// pass@k's estimator against hand values and a count over every k-subset, and `stitch lm eval`'s
// pass@k and update sparsity on the runs of `lm sft` and `lm rl`.
#include "lm/analysis.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "testing/errors.h"
#include "testing/run_command.h"

namespace stitch::lm {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

TEST(PassAtK, HandValues) {
  EXPECT_DOUBLE_EQ(pass_at_k(4, 1, 1), 0.25);
  EXPECT_DOUBLE_EQ(pass_at_k(4, 1, 2), 0.5);  // 1 - C(3,2)/C(4,2) = 1 - 3/6
  EXPECT_NEAR(pass_at_k(10, 3, 5), 1.0 - 21.0 / 252.0, 1e-15);
  EXPECT_DOUBLE_EQ(pass_at_k(5, 0, 3), 0.0);
  EXPECT_DOUBLE_EQ(pass_at_k(5, 5, 1), 1.0);
  EXPECT_DOUBLE_EQ(pass_at_k(5, 3, 3), 1.0);  // n - c < k: every 3-subset holds a correct one
  EXPECT_NEAR(pass_at_k(1000, 1, 256), 0.256, 1e-12);
  EXPECT_THAT(testing::error_of([] { pass_at_k(4, 1, 5); }), HasSubstr("1 <= k <= n"));
  EXPECT_THAT(testing::error_of([] { pass_at_k(4, 5, 1); }), HasSubstr("0 <= c <= n"));
}

// The estimator is the chance that k samples drawn without replacement from the n hold a
// correct one: counted here over every k-subset of n = 8 samples.
TEST(PassAtK, EqualsTheShareOfKSubsetsWithACorrectSample) {
  const int n = 8;
  for (int c = 0; c <= n; ++c) {
    for (int k = 1; k <= n; ++k) {
      int subsets = 0, hit = 0;
      for (unsigned mask = 0; mask < (1u << n); ++mask) {
        if (__builtin_popcount(mask) != k) continue;
        ++subsets;
        hit += (mask & ((1u << c) - 1u)) != 0 ? 1 : 0;  // samples 0..c-1 are the correct ones
      }
      EXPECT_NEAR(pass_at_k(n, c, k), static_cast<double>(hit) / subsets, 1e-12)
          << "c " << c << " k " << k;
    }
  }
}

TEST(PassAtK, EvalReadsSftAndRlRuns) {
  const fs::path dir = fs::path(::testing::TempDir()) / fmt::format("stitch_passk_{}", getpid());
  fs::remove_all(dir);
  const std::string cli = STITCH_CLI_PATH;
  const fs::path sft = dir / "sft", rl = dir / "rl", out = dir / "eval.json";
  ASSERT_EQ(
      testing::run_command(fmt::format("{} --threads 1 --log-level warn lm sft --task sorting "
                                       "--difficulty 3 --steps 150 --run-dir {} --set "
                                       "eval_every=0 --set eval_problems=20 --set width=32",
                                       cli, sft.string()))
          .exit_code,
      0);
  const auto trained = testing::run_command(
      fmt::format("{} --threads 1 --log-level warn lm rl --method grpo --from {} --steps 3 "
                  "--run-dir {} --set eval_every=0 --set eval_problems=20 --set prompts=4",
                  cli, sft.string(), rl.string()));
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const auto eval = testing::run_command(
      fmt::format("{} --threads 1 lm eval --run-dir {} --problems 20 --pass-at-k 1,2,8 --samples 8 "
                  "--changed-from {} --out {}",
                  cli, rl.string(), sft.string(), out.string()));
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_THAT(eval.out, HasSubstr("pass@8"));
  const auto j = nlohmann::json::parse(testing::read_file(out.string()));
  const auto& pass = j.at("pass_at_k").at("pass");
  // With k = 1 the estimator is the share of correct samples.
  EXPECT_NEAR(pass.at("1").get<double>(), j.at("pass_at_k").at("mean_correct").get<double>(),
              1e-12);
  EXPECT_LE(pass.at("1").get<double>(), pass.at("2").get<double>());
  EXPECT_LE(pass.at("2").get<double>(), pass.at("8").get<double>());
  EXPECT_GT(pass.at("8").get<double>(), 0.0);  // sorting 3 numbers after 150 SFT steps
  // Three AdamW steps move most parameters; none moves a run against itself.
  EXPECT_GT(j.at("changed").at("fraction").get<double>(), 0.1);
  const auto self = testing::run_command(
      fmt::format("{} --threads 1 lm eval --run-dir {} --problems 5 --changed-from {}", cli,
                  sft.string(), sft.string()));
  EXPECT_THAT(self.out, HasSubstr(": 0 of "));
  const auto wide = testing::run_command(fmt::format(
      "{} lm eval --run-dir {} --problems 5 --pass-at-k 16 --samples 8", cli, sft.string()));
  EXPECT_NE(wide.exit_code, 0);
  EXPECT_THAT(wide.err, HasSubstr("k 16 is outside 1..8"));
  // `stitch report` reads both runs: their held-out accuracy in percent, on the SFT task.
  const auto report =
      testing::run_command(fmt::format("{} --log-level warn report {} --out {} --replicates 100",
                                       cli, dir.string(), (dir / "report").string()));
  ASSERT_EQ(report.exit_code, 0) << report.err;
  const std::string md = testing::read_file((dir / "report" / "summary.md").string());
  const double sft_accuracy =
      nlohmann::json::parse(testing::read_file((sft / "eval.jsonl").string()))
          .at("accuracy")
          .get<double>();
  EXPECT_THAT(md, HasSubstr(fmt::format("| sft-150 | sorting-d3 | lm | accuracy % | 1 | {:.1f} [",
                                        100 * sft_accuracy)));
  EXPECT_THAT(md, HasSubstr("| grpo | sorting-d3 | lm | accuracy % | 1 |"));
  EXPECT_TRUE(fs::exists(dir / "report" / "curves-sorting-d3-lm.svg"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace stitch::lm
