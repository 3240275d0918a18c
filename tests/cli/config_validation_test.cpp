// Every numeric config key of every algorithm and of the trainer declares an allowed range, and
// a value outside it (or nan, or a number too large for its type) is a one-line error naming
// the key, the range and the value.
//
// Every key is checked in-process through resolve_train_config (the path `stitch train` takes,
// some 250 cases in milliseconds); a representative subset (one key of every algorithm, the
// trainer's, JSON files, `env run` and `collect`) runs the real binary, which must print exactly
// one line, `error: ...`, and exit with 1. Config errors come before any file is read, so the
// datasets named here need not exist.
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <memory>
#include <new>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "algo/registry.h"
#include "algo/trainer.h"  // TrainConfig, resolve_train_config
#include "core/config.h"
#include "core/error.h"
#include "testing/run_command.h"

namespace stitch {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

bool is_numeric(const ConfigFields::Field& f) {
  return f.type == "int" || f.type == "uint" || f.type == "float";
}

// The trainer's keys and, under "<algo>.", the algorithm's: what `stitch train` resolves.
struct AlgoFields {
  TrainConfig train;
  std::unique_ptr<AlgoConfig> algo;
  ConfigFields fields;
};
std::unique_ptr<AlgoFields> describe_all(const std::string& algo) {
  auto r = std::make_unique<AlgoFields>();
  r->train.describe(r->fields);
  r->algo = AlgoRegistry::global().entry(algo).make_config();
  r->fields.nest(algo, *r->algo);
  return r;
}

// The overrides that make a valid `stitch train` command line for `algo`, before the bad key.
std::vector<std::string> base_overrides(const std::string& algo) {
  const auto& entry = AlgoRegistry::global().entry(algo);
  return {"algo=" + algo,
          std::string("env=") + (algo == "stream-q" ? "cartpole-v1" : "pendulum-v1"),
          entry.online ? "online=true" : "dataset=/nonexistent/stitch-config-test.hdf5"};
}
std::string base_args(const std::string& algo) {
  std::string args;
  for (const auto& kv : base_overrides(algo)) {
    if (kv == "online=true") {
      args += " --online";
    } else {
      args += " --" + kv.substr(0, kv.find('=')) + " " + kv.substr(kv.find('=') + 1);
    }
  }
  return args;
}

// A bad value for a key, and the error message it must produce.
struct BadValue {
  std::string text;
  std::string message;
};

// Below the minimum, above the maximum and (floats) nan, from the field's range text, e.g.
// "[1, 65536]" or "(0, 1]".
std::vector<BadValue> bad_values(const ConfigFields::Field& f) {
  const std::string& r = f.range;
  const bool min_open = r.front() == '(', max_open = r.back() == ')';
  const size_t comma = r.find(", ");
  const std::string min = r.substr(1, comma - 1), max = r.substr(comma + 2, r.size() - comma - 3);
  const std::string prefix = "config key '" + f.key + "': ";
  const auto outside = [&](const std::string& v) {
    return BadValue{v, prefix + "must be in " + r + ", got " + v};
  };
  std::vector<BadValue> out;
  if (f.type == "float") {
    const double lo = std::stod(min), hi = std::stod(max);
    out.push_back(
        outside(min_open ? min : fmt::format("{}", lo - std::max(1e-3, 1e-3 * std::abs(lo)))));
    out.push_back(
        outside(max_open ? max : fmt::format("{}", hi + std::max(1e-3, 1e-3 * std::abs(hi)))));
    out.push_back({"nan", prefix + "expected a finite number, got 'nan'"});
    out.push_back({"-inf", prefix + "expected a finite number, got '-inf'"});
  } else if (f.type == "int") {
    const long long lo = std::stoll(min), hi = std::stoll(max);
    // At the type's own limit, ten times the limit is too large for the type.
    out.push_back(
        outside(lo == std::numeric_limits<long long>::min() ? min + "0" : std::to_string(lo - 1)));
    out.push_back(
        outside(hi == std::numeric_limits<long long>::max() ? max + "0" : std::to_string(hi + 1)));
  } else {
    const unsigned long long lo = std::stoull(min), hi = std::stoull(max);
    out.push_back(lo == 0 ? BadValue{"-1", prefix + "expected a non-negative integer, got '-1'"}
                          : outside(std::to_string(lo - 1)));
    out.push_back(outside(
        hi == std::numeric_limits<unsigned long long>::max() ? max + "0" : std::to_string(hi + 1)));
  }
  return out;
}

std::string resolve_error(const std::vector<std::string>& overrides) {
  TrainConfig config;
  try {
    resolve_train_config(config, "", overrides);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigValidation, EveryNumericKeyDeclaresARange) {
  for (const auto& algo : AlgoRegistry::global().names()) {
    const auto all = describe_all(algo);
    for (const auto& f : all->fields.fields()) {
      if (is_numeric(f)) {
        EXPECT_FALSE(f.range.empty()) << f.key << " has no range";
      }
    }
  }
}

TEST(ConfigValidation, DefaultsLieInTheirRanges) {
  for (const auto& algo : AlgoRegistry::global().names()) {
    const auto all = describe_all(algo);
    const nlohmann::json defaults = all->fields.to_json();
    for (const auto& f : all->fields.fields()) {
      if (!is_numeric(f)) continue;
      const nlohmann::json* node = &defaults;
      for (size_t start = 0, dot = 0; dot != std::string::npos; start = dot + 1) {
        dot = f.key.find('.', start);
        node = &node->at(f.key.substr(start, dot == std::string::npos ? dot : dot - start));
      }
      EXPECT_NO_THROW(all->fields.apply_override(f.key + "=" + node->dump())) << f.key;
    }
  }
}

TEST(ConfigValidation, OutOfRangeValuesAreErrorsNamingKeyRangeAndValue) {
  int cases = 0;
  for (const auto& algo : AlgoRegistry::global().names()) {
    const auto all = describe_all(algo);
    for (const auto& f : all->fields.fields()) {
      if (!is_numeric(f) || f.range.empty()) continue;
      for (const auto& bad : bad_values(f)) {
        auto overrides = base_overrides(algo);
        overrides.push_back(f.key + "=" + bad.text);
        EXPECT_EQ(resolve_error(overrides), bad.message)
            << algo << ": " << f.key << "=" << bad.text;
        ++cases;
      }
    }
  }
  EXPECT_GT(cases, 200);
}

// The binary: exit code 1 and exactly one line on stderr, "error: ..." naming the key.
void expect_one_line_error(const std::string& args, const std::string& needle) {
  // No --log-level: the default level must not add lines before the error either.
  const auto r = testing::run_command(std::string(STITCH_CLI_PATH) + " " + args);
  EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.err;
  EXPECT_THAT(r.err, StartsWith("error: ")) << args;
  EXPECT_THAT(r.err, HasSubstr(needle)) << args;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
}

TEST(ConfigValidation, CliPrintsOneLineForABadKeyOfEveryAlgorithm) {
  for (const auto& algo : AlgoRegistry::global().names()) {
    auto entry_config = AlgoRegistry::global().entry(algo).make_config();
    ConfigFields fields;
    fields.nest(algo, *entry_config);
    const auto numeric = std::find_if(fields.fields().begin(), fields.fields().end(), is_numeric);
    ASSERT_NE(numeric, fields.fields().end()) << algo;
    const BadValue bad = bad_values(*numeric).front();
    expect_one_line_error("train" + base_args(algo) + " --set " + numeric->key + "=" + bad.text,
                          "error: " + bad.message);
  }
}

TEST(ConfigValidation, CliIqlHiddenMinus3IsExactlyOneLine) {
  const auto r = testing::run_command(std::string(STITCH_CLI_PATH) + " train --algo iql" +
                                      " --env pendulum-v1 --dataset /nonexistent/d.hdf5" +
                                      " --set iql.hidden=-3");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "error: config key 'iql.hidden': must be in [1, 65536], got -3\n");
}

TEST(ConfigValidation, CliTrainerKeys) {
  const std::string train = "train" + base_args("iql");
  expect_one_line_error(train + " --set batch_size=9223372036854775807",
                        "config key 'batch_size': must be in [0, 1048576]");
  expect_one_line_error(
      train + " --steps 9223372036854775808",  // one past int64
      "config key 'steps': must be in [1, 1000000000000], got 9223372036854775808");
  expect_one_line_error(train + " --set discount=nan",
                        "config key 'discount': expected a finite number, got 'nan'");
  expect_one_line_error(train + " --set eval_episodes=0", "config key 'eval_episodes'");
  expect_one_line_error(train + " --set utd_ratio=-1",
                        "config key 'utd_ratio': must be in [0, 1000]");
}

TEST(ConfigValidation, CliJsonFileValuesAreCheckedToo) {
  const std::string path =
      ::testing::TempDir() + "/stitch_config_validation_" + std::to_string(getpid()) + ".json";
  std::ofstream(path) << R"({"iql": {"expectile": 1.0}})";
  expect_one_line_error("train" + base_args("iql") + " --config " + path,
                        "config key 'iql.expectile': must be in (0, 1), got 1.0");
  std::remove(path.c_str());
}

TEST(ConfigValidation, CliOtherCommandsKeys) {
  expect_one_line_error("env run --set episodes=0",
                        "config key 'episodes': must be in [1, 1000000]");
  expect_one_line_error("env run --set max_episode_steps=-1", "config key 'max_episode_steps'");
  expect_one_line_error("collect --out /nonexistent/x.hdf5 --set gzip=10",
                        "config key 'gzip': must be in [0, 9], got 10");
  expect_one_line_error("collect --out /nonexistent/x.hdf5 --set seed=-1",
                        "config key 'seed': expected a non-negative integer");
}

// The one-line form the CLI prints (and meta.json's "error" uses) for any exception.
TEST(ErrorSummary, FirstLineOfTheMessage) {
  EXPECT_EQ(first_line("one line"), "one line");
  EXPECT_EQ(first_line("\n  first  \r\nsecond\nthird"), "first");
  EXPECT_EQ(first_line(""), "unknown error");
  EXPECT_EQ(first_line(" \n\t\n"), "unknown error");
  EXPECT_EQ(error_summary(std::bad_alloc()), "out of memory (std::bad_alloc)");
  EXPECT_EQ(error_summary(Error("bad thing\nmore")), "bad thing");
}

TEST(ErrorSummary, LibtorchErrorLosesItsBacktrace) {
  try {
    TORCH_CHECK(false, "shapes do not match: 3 vs 4");
  } catch (const c10::Error& e) {
    EXPECT_EQ(error_summary(e), "shapes do not match: 3 vs 4") << e.what();
    return;
  }
  FAIL() << "TORCH_CHECK did not throw";
}

}  // namespace
}  // namespace stitch
