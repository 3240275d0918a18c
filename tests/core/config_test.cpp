#include "core/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace stitch {
namespace {

using ::testing::HasSubstr;

struct OptimConfig {
  double lr = 3e-4;
  void describe(ConfigFields& f) { f.add("lr", lr, "learning rate"); }
};

struct TestConfig {
  int steps = 100;
  uint64_t seed = 7;
  float tau = 0.005f;
  bool deterministic = true;
  std::string name = "iql";
  OptimConfig optim;
  void describe(ConfigFields& f) {
    f.add("steps", steps, "gradient steps");
    f.add("seed", seed, "seed");
    f.add("tau", tau, "target update rate");
    f.add("deterministic", deterministic, "act deterministically");
    f.add("name", name, "name");
    f.nest("optim", optim);
  }
  void validate() const {
    if (steps < 1) fail("config key 'steps': must be >= 1, got {}", steps);
  }
};

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Config, DefaultsSurviveWithoutOverrides) {
  TestConfig c;
  resolve_config(c, "", {});
  EXPECT_EQ(c.steps, 100);
  EXPECT_EQ(c.name, "iql");
}

TEST(Config, OverridesSetEveryType) {
  TestConfig c;
  resolve_config(c, "",
                 {"steps=5", "seed=18446744073709551615", "tau=0.25", "deterministic=false",
                  "name=cql", "optim.lr=1e-3"});
  EXPECT_EQ(c.steps, 5);
  EXPECT_EQ(c.seed, 18446744073709551615ULL);
  EXPECT_FLOAT_EQ(c.tau, 0.25f);
  EXPECT_FALSE(c.deterministic);
  EXPECT_EQ(c.name, "cql");
  EXPECT_DOUBLE_EQ(c.optim.lr, 1e-3);
}

TEST(Config, UnknownKeyNamesKeyAndKnownKeys) {
  TestConfig c;
  const std::string msg = error_of([&] { resolve_config(c, "", {"stepz=3"}); });
  EXPECT_THAT(msg, HasSubstr("unknown config key 'stepz'"));
  EXPECT_THAT(msg, HasSubstr("optim.lr"));
}

TEST(Config, BadValuesNameKeyAndValue) {
  TestConfig c;
  EXPECT_THAT(error_of([&] { resolve_config(c, "", {"steps=ten"}); }),
              HasSubstr("config key 'steps': expected an integer, got 'ten'"));
  EXPECT_THAT(error_of([&] { resolve_config(c, "", {"steps=3.5"}); }),
              HasSubstr("expected an integer"));
  EXPECT_THAT(error_of([&] { resolve_config(c, "", {"seed=-1"}); }),
              HasSubstr("non-negative integer"));
  EXPECT_THAT(error_of([&] { resolve_config(c, "", {"deterministic=maybe"}); }),
              HasSubstr("expected true or false"));
  EXPECT_THAT(error_of([&] { resolve_config(c, "", {"tau="}); }), HasSubstr("expected a number"));
  EXPECT_THAT(error_of([&] { resolve_config(c, "", {"steps"}); }), HasSubstr("expected key=value"));
}

TEST(Config, ValidateRunsAfterOverrides) {
  TestConfig c;
  EXPECT_THAT(error_of([&] { resolve_config(c, "", {"steps=0"}); }),
              HasSubstr("must be >= 1, got 0"));
}

TEST(Config, JsonFileThenOverridesInOrder) {
  const std::string path = ::testing::TempDir() + "/config_test.json";
  std::ofstream(path) << R"({"steps": 42, "name": "td3bc", "optim": {"lr": 0.01}})";
  TestConfig c;
  resolve_config(c, path, {"name=bc"});
  EXPECT_EQ(c.steps, 42);
  EXPECT_EQ(c.name, "bc");  // --set wins over the file
  EXPECT_DOUBLE_EQ(c.optim.lr, 0.01);
  std::remove(path.c_str());
}

TEST(Config, BadJsonFileNamesFile) {
  const std::string path = ::testing::TempDir() + "/bad_config.json";
  std::ofstream(path) << R"({"steps": )";
  TestConfig c;
  EXPECT_THAT(error_of([&] { resolve_config(c, path, {}); }),
              HasSubstr("config file '" + path + "': invalid JSON"));
  // A number beyond a double's range is nlohmann's out_of_range, not a parse_error (fuzzer).
  std::ofstream(path) << R"({"steps": -8888E8889})";
  EXPECT_THAT(error_of([&] { resolve_config(c, path, {}); }),
              HasSubstr("': invalid JSON: number overflow parsing '-8888E8889'"));
  std::ofstream(path) << R"({"steps": [1, 2]})";
  EXPECT_THAT(error_of([&] { resolve_config(c, path, {}); }),
              HasSubstr("'steps' must be a string, number or boolean"));
  std::remove(path.c_str());
  EXPECT_THAT(error_of([&] { resolve_config(c, "/nonexistent/x.json", {}); }),
              HasSubstr("cannot open"));
}

TEST(Config, PrintsEveryFieldAndRoundTrips) {
  TestConfig c;
  c.steps = 9;
  c.optim.lr = 0.125;
  const auto j = nlohmann::json::parse(config_to_string(c));
  EXPECT_EQ(j["steps"], 9);
  EXPECT_EQ(j["optim"]["lr"], 0.125);
  EXPECT_EQ(j["deterministic"], true);
  TestConfig d;
  ConfigFields fields;
  d.describe(fields);
  fields.apply_json(j, "round trip");
  EXPECT_EQ(config_to_string(d), config_to_string(c));
}

}  // namespace
}  // namespace stitch
