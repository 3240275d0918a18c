// The benchmark suite: deterministic rebuilds, skipping what is up to date, policy provenance,
// the D4RL return ordering of its datasets, normalised scores.
#include "suite/suite.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/hash.h"
#include "data/io.h"
#include "deploy/policy.h"
#include "testing/run_command.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class SuiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("stitch_suite_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  SuiteBuildOptions options(const std::string& data, int64_t size = 2000) {
    return {.manifest = std::string(STITCH_SOURCE_DIR) + "/suite/manifest.json",
            .data_dir = (dir_ / data).string(),
            .env = "pendulum-v1",
            .size = size};
  }
  fs::path dir_;
};

TEST_F(SuiteTest, RebuildsByteIdenticallyAndSkipsWhatIsUpToDate) {
  const auto a = build_suite(options("a"));
  const auto b = build_suite(options("b"));
  ASSERT_EQ(a.size(), 5u);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_FALSE(a[i].skipped);
    EXPECT_EQ(a[i].sha256, b[i].sha256) << a[i].name;
    EXPECT_EQ(testing::read_file(a[i].path), testing::read_file(b[i].path)) << a[i].name;
  }
  EXPECT_EQ(a.back().name, "pendulum-v1-medium-expert");  // concatenations after their parts
  EXPECT_EQ(a.back().transitions, 4000);
  // Unchanged: skipped. A damaged file or another size: rebuilt.
  for (const auto& e : build_suite(options("a"))) EXPECT_TRUE(e.skipped) << e.name;
  { std::ofstream(a[0].path, std::ios::app) << "x"; }
  const auto again = build_suite(options("a"));
  EXPECT_FALSE(again[0].skipped);
  EXPECT_EQ(again[0].sha256, a[0].sha256);
  EXPECT_TRUE(again[1].skipped);
  const auto bigger = build_suite(options("a", 2400));
  EXPECT_FALSE(bigger[0].skipped);
  EXPECT_EQ(bigger[0].transitions, 2400);
}

TEST_F(SuiteTest, ReturnsFollowTheDatasetNames) {
  build_suite(options("d", 10000));
  std::map<std::string, SuiteListEntry> by_name;
  for (auto& e :
       list_suite(std::string(STITCH_SOURCE_DIR) + "/suite/manifest.json", (dir_ / "d").string())) {
    by_name[e.name] = e;
  }
  const double random = by_name["pendulum-v1-random"].mean_return,
               medium = by_name["pendulum-v1-medium"].mean_return,
               expert = by_name["pendulum-v1-expert"].mean_return;
  EXPECT_LT(random, medium);
  EXPECT_LT(medium, expert);
  ASSERT_TRUE(by_name["pendulum-v1-expert"].normalized.has_value());
  EXPECT_GT(*by_name["pendulum-v1-expert"].normalized, 90.0);
  EXPECT_LT(std::abs(*by_name["pendulum-v1-random"].normalized), 20.0);  // 50 episodes: noisy
  // medium-replay spans the range: its episodes run from random-like to medium-like.
  const Dataset replay = load_dataset(by_name["pendulum-v1-medium-replay"].path);
  double lo = 0, hi = -1e9;
  for (const Episode& e : replay.episodes) {
    lo = std::min(lo, e.total_return);
    hi = std::max(hi, e.total_return);
  }
  EXPECT_LT(lo, random);
  EXPECT_GT(hi, medium);
}

// The committed SAC behaviour policies of the MuJoCo tasks (suite/policies/, trained by
// scripts/train-behaviour-policies.sh): every task's datasets, at a small size, order their
// returns as D4RL's names say, and the expert scores near 100 against the compiled-in references.
TEST_F(SuiteTest, MujocoDatasetsFollowTheirNames) {
  for (const std::string env : {"hopper-v4", "halfcheetah-v4", "walker2d-v4"}) {
    SCOPED_TRACE(env);
    auto o = options(env, 6000);
    o.env = env;
    ASSERT_EQ(build_suite(o).size(), 5u);
    std::map<std::string, SuiteListEntry> by_name;
    for (auto& e : list_suite(o.manifest, o.data_dir)) by_name[e.name] = e;
    const auto& random = by_name[env + "-random"];
    const auto& medium = by_name[env + "-medium"];
    const auto& expert = by_name[env + "-expert"];
    ASSERT_TRUE(random.built && medium.built && expert.built &&
                by_name[env + "-medium-replay"].built);
    EXPECT_LT(random.mean_return, medium.mean_return);
    EXPECT_LT(medium.mean_return, expert.mean_return);
    ASSERT_TRUE(expert.normalized.has_value());
    EXPECT_GT(*expert.normalized, 70.0);  // 6,000 transitions: a few episodes
    EXPECT_GT(*medium.normalized, 10.0);
    EXPECT_LT(*medium.normalized, 70.0);
    EXPECT_EQ(by_name[env + "-medium-expert"].transitions, 12000);
  }
}

TEST_F(SuiteTest, PolicyFilesAreCheckedAgainstTheManifest) {
  // A tiny stitch-policy-v1 file for pendulum (3 -> 1).
  const std::string policy = (dir_ / "tiny.policy").string();
  DeployedPolicy({{.in = 3, .out = 1, .weight = {0.1f, -0.2f, 0.3f}, .bias = {0.0f}}}, 2.0f)
      .save(policy);
  auto write_manifest = [&](const std::string& sha) {
    nlohmann::json m{{"format", "stitch-suite-v1"},
                     {"default_transitions", {{"pendulum-v1", 400}}},
                     {"policies", {{"tiny.policy", sha}}},
                     {"datasets",
                      {{{"name", "p"},
                        {"env", "pendulum-v1"},
                        {"recipe", "rollout"},
                        {"policy", "tiny.policy"}}}}};
    std::ofstream(dir_ / "manifest.json") << m.dump(2);
  };
  SuiteBuildOptions o{.manifest = (dir_ / "manifest.json").string(),
                      .data_dir = (dir_ / "data").string()};
  write_manifest(sha256_file(policy));
  const auto built = build_suite(o);
  ASSERT_EQ(built.size(), 1u);
  EXPECT_EQ(built[0].transitions, 400);
  write_manifest(std::string(64, '0'));
  EXPECT_THAT([&] { build_suite(o); },
              ::testing::ThrowsMessage<Error>(HasSubstr("the manifest says")));
}

TEST(SuiteReferences, NormalisedScoreIsD4rls) {
  const auto r = reference_scores("pendulum-v1");
  ASSERT_TRUE(r.has_value());
  EXPECT_DOUBLE_EQ(*normalized_score("pendulum-v1", r->random), 0.0);
  EXPECT_DOUBLE_EQ(*normalized_score("pendulum-v1", r->expert), 100.0);
  EXPECT_DOUBLE_EQ(*normalized_score("pendulum-v1", (r->random + r->expert) / 2), 50.0);
  EXPECT_FALSE(normalized_score("cartpole-v1", 100.0).has_value());
  // The MuJoCo tasks have their SAC experts' references (suite/references.json).
  const auto hopper = reference_scores("hopper-v4");
  ASSERT_TRUE(hopper.has_value());
  EXPECT_DOUBLE_EQ(*normalized_score("hopper-v4", hopper->expert), 100.0);
  EXPECT_GT(hopper->expert, 2500.0);
  EXPECT_FALSE(normalized_score("ant-v4", 100.0).has_value());  // no behaviour policies for Ant
}

TEST(Sha256, MatchesTheStandardTestVector) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// Names from a manifest cannot leave the data directory; a concat cycle and a bad value are
// errors before anything is written.
TEST_F(SuiteTest, HostileManifestsWriteNothing) {
  auto build = [&](const nlohmann::json& datasets, nlohmann::json sizes = {{"pendulum-v1", 100}}) {
    const fs::path manifest = dir_ / "manifest.json";
    std::ofstream(manifest) << nlohmann::json{
        {"format", "stitch-suite-v1"},
        {"default_transitions", sizes},
        {"datasets", datasets}}.dump();
    try {
      build_suite({.manifest = manifest.string(), .data_dir = (dir_ / "data").string()});
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("<no error>");
  };
  auto rollout = [](const std::string& name, const std::string& noise = "none") {
    return nlohmann::json{{"name", name},
                          {"env", "pendulum-v1"},
                          {"recipe", "rollout"},
                          {"policy", "random"},
                          {"noise", noise}};
  };
  const std::vector<std::string> names = {"../escape", "/tmp/abs", ".hidden", "a/b",
                                          std::string("a\0b", 3)};
  for (const std::string& name : names) {
    EXPECT_THAT(build(nlohmann::json::array({rollout(name)})), HasSubstr("not a plain file name"))
        << name;
  }
  EXPECT_FALSE(fs::exists(dir_ / "escape.hdf5"));
  const nlohmann::json self{{"name", "loop"},
                            {"env", "pendulum-v1"},
                            {"recipe", "concat"},
                            {"parts", nlohmann::json::array({"loop"})}};
  EXPECT_THAT(build(nlohmann::json::array({self})), HasSubstr("a part of itself"));
  const nlohmann::json a{{"name", "a"},
                         {"env", "pendulum-v1"},
                         {"recipe", "concat"},
                         {"parts", nlohmann::json::array({"b"})}};
  const nlohmann::json b{{"name", "b"},
                         {"env", "pendulum-v1"},
                         {"recipe", "concat"},
                         {"parts", nlohmann::json::array({"a"})}};
  EXPECT_THAT(build(nlohmann::json::array({a, b})), HasSubstr("a part of itself"));
  EXPECT_THAT(
      build(nlohmann::json::array({rollout("ok")}), {{"pendulum-v1", 4611686018427387904}}),
      HasSubstr("default_transitions for pendulum-v1 must be an integer in [1, 1000000000]"));
  // A bad value in the second dataset fails before the first is written.
  EXPECT_THAT(build(nlohmann::json::array({rollout("first"), rollout("second", "gaussian:abc")})),
              HasSubstr("abc"));
  EXPECT_FALSE(fs::exists(dir_ / "data" / "first.hdf5"));
}

// A mixture records every part (policy, noise, seed, rows), not only its first part's settings.
TEST_F(SuiteTest, AMixtureRecordsEveryPart) {
  build_suite(options("m", 2000));
  const Dataset d = load_dataset((dir_ / "m" / "pendulum-v1-medium-replay.hdf5").string());
  EXPECT_EQ(d.metadata_string("policy"), "mixture");
  const auto parts = nlohmann::json::parse(d.metadata_string("mixture_parts"));
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[0]["policy"], "random");
  EXPECT_EQ(parts[1]["noise"], "gaussian:5.0");
  EXPECT_EQ(parts[0]["rows"][0], 0);
  for (size_t i = 1; i < parts.size(); ++i) EXPECT_EQ(parts[i]["rows"][0], parts[i - 1]["rows"][1]);
  EXPECT_EQ(parts.back()["rows"][1], d.size());
  EXPECT_NE(parts[0]["seed"], parts[1]["seed"]);
}

}  // namespace
}  // namespace stitch
