// `stitch dataset corrupt`'s core (data/corrupt.h): RIQL's random and adversarial corruption.
#include "data/corrupt.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "data/collect.h"
#include "data/stats.h"
#include "env/registry.h"
#include "testing/errors.h"

namespace stitch {
namespace {

using ::testing::HasSubstr;

Dataset data(int64_t n = 2000) {
  auto env = make_env("pendulum-v1");
  auto policy = make_scripted_policy("pendulum-v1");
  return collect(*env, *policy, {.transitions = n, .seed = 3, .gaussian_noise = 0.5});
}

std::vector<int64_t> marked(const Dataset& d, int bit) {
  std::vector<int64_t> rows;
  const Column& c = d.infos.at("corrupted");
  for (int64_t i = 0; i < d.size(); ++i) {
    if ((static_cast<int>(c.data[i]) & bit) != 0) rows.push_back(i);
  }
  return rows;
}

TEST(Corrupt, RandomRewardsReplaceAboutRateOfTheRowsWithUniformNoise) {
  const Dataset clean = data();
  Dataset d = clean;
  const int64_t n = corrupt_dataset(
      d, {.target = CorruptTarget::kRewards, .rate = 0.3, .scale = 0.5, .seed = 7}, true);
  const auto rows = marked(d, corrupt_target_bit(CorruptTarget::kRewards));
  EXPECT_EQ(static_cast<int64_t>(rows.size()), n);
  EXPECT_NEAR(static_cast<double>(n) / 2000.0, 0.3, 0.04);
  size_t next = 0;
  for (int64_t i = 0; i < d.size(); ++i) {
    if (next < rows.size() && rows[next] == i) {
      EXPECT_LE(std::abs(d.rewards[i]), 15.0f);  // U(-30 scale, 30 scale)
      ++next;
    } else {
      EXPECT_EQ(d.rewards[i], clean.rewards[i]) << i;
    }
  }
  EXPECT_EQ(d.observations, clean.observations);
  // The same seed, the same corruption; another seed, another.
  Dataset again = clean, other = clean;
  corrupt_dataset(again, {.target = CorruptTarget::kRewards, .rate = 0.3, .scale = 0.5, .seed = 7},
                  true);
  corrupt_dataset(other, {.target = CorruptTarget::kRewards, .rate = 0.3, .scale = 0.5, .seed = 8},
                  true);
  EXPECT_EQ(again.rewards, d.rewards);
  EXPECT_NE(other.rewards, d.rewards);
  // Recorded: the application in the metadata, the rows in infos/corrupted.
  const auto record = nlohmann::json::parse(d.metadata_string("corruption"));
  ASSERT_EQ(record.size(), 1u);
  EXPECT_EQ(record[0]["target"], "rewards");
  EXPECT_EQ(record[0]["rows"], n);
  EXPECT_EQ(compute_stats(d, {}, {}).corrupted.at("rewards"), n);
}

TEST(Corrupt, RandomObservationsMoveByAtMostScaleTimesTheColumnStd) {
  const Dataset clean = data();
  Dataset d = clean;
  corrupt_dataset(d, {.target = CorruptTarget::kObservations, .rate = 0.5, .scale = 2.0}, true);
  std::vector<double> mean(3, 0), sq(3, 0);
  for (int64_t i = 0; i < clean.size(); ++i) {
    for (int j = 0; j < 3; ++j) mean[j] += clean.observations[i * 3 + j] / 2000.0;
  }
  for (int64_t i = 0; i < clean.size(); ++i) {
    for (int j = 0; j < 3; ++j)
      sq[j] += std::pow(clean.observations[i * 3 + j] - mean[j], 2) / 2000.0;
  }
  double moved = 0;
  for (int64_t i = 0; i < clean.size(); ++i) {
    for (int j = 0; j < 3; ++j) {
      const double delta = std::abs(d.observations[i * 3 + j] - clean.observations[i * 3 + j]);
      EXPECT_LE(delta, 2.0 * std::sqrt(sq[j]) * (1 + 1e-5) + 1e-5);
      moved += delta > 0;
    }
  }
  EXPECT_GT(moved, 1000);
  EXPECT_EQ(d.next_observations, clean.next_observations);  // obs only, as RIQL
  EXPECT_EQ(d.rewards, clean.rewards);
}

TEST(Corrupt, AdversarialRewardsAreNegatedAndScaled) {
  const Dataset clean = data();
  Dataset d = clean;
  corrupt_dataset(d,
                  {.target = CorruptTarget::kRewards,
                   .kind = CorruptKind::kAdversarial,
                   .rate = 1.0,
                   .scale = 0.5},
                  true);
  for (int64_t i = 0; i < d.size(); ++i) EXPECT_FLOAT_EQ(d.rewards[i], -0.5f * clean.rewards[i]);
}

TEST(Corrupt, MarksStayWithTheirRowsThroughASlice) {
  Dataset d = data();
  corrupt_dataset(d, {.target = CorruptTarget::kActions, .rate = 0.2, .seed = 2}, true);
  corrupt_dataset(d, {.target = CorruptTarget::kDynamics, .rate = 0.2, .seed = 3}, true);
  const Dataset tail = select_episodes(d, {9, 4});
  const Column &a = d.infos.at("corrupted"), &b = tail.infos.at("corrupted");
  for (int64_t i = 0; i < 200; ++i) {
    EXPECT_EQ(b.data[i], a.data[9 * 200 + i]);
    EXPECT_EQ(b.data[200 + i], a.data[4 * 200 + i]);
  }
  EXPECT_EQ(nlohmann::json::parse(d.metadata_string("corruption")).size(), 2u);
}

TEST(Corrupt, BadOptionsChangeNothing) {
  const Dataset clean = data(400);
  Dataset d = clean;
  using testing::error_of;
  EXPECT_THAT(error_of([&] { corrupt_dataset(d, {.rate = 1.5}, true); }),
              HasSubstr("--rate 1.5: must be in [0, 1]"));
  EXPECT_THAT(error_of([&] { corrupt_dataset(d, {.scale = -1}, true); }),
              HasSubstr("--scale -1: must be a finite number >= 0"));
  EXPECT_THAT(error_of([&] { corrupt_dataset(d, {.target = CorruptTarget::kDynamics}, false); }),
              HasSubstr("dynamics corruption needs the next observations the file records"));
  EXPECT_THAT(error_of([&] {
                corrupt_dataset(
                    d, {.target = CorruptTarget::kObservations, .kind = CorruptKind::kAdversarial},
                    true);
              }),
              HasSubstr("attacks a trained agent's critics: name its checkpoint with --attack"));
  EXPECT_THAT(error_of([] { parse_corrupt_target("velocity"); }),
              HasSubstr("--target 'velocity': expected obs, actions, rewards or dynamics"));
  EXPECT_EQ(d.rewards, clean.rewards);
  EXPECT_EQ(d.infos.count("corrupted"), 0u);
  EXPECT_EQ(d.metadata.count("corruption"), 0u);
}

}  // namespace
}  // namespace stitch
