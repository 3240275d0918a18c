#include "data/sampler.h"

#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "data/test_data.h"

namespace stitch {
namespace {

TEST(Sampler, DrawsOnlyRowsWithARecordedSuccessor) {
  const Dataset d = testing::three_episodes();
  Sampler sampler(d, {.batch_size = 64, .seed = 1});
  EXPECT_EQ(sampler.eligible_rows(), 8);  // rows 6 and 9 have no successor
  Batch b = sampler.make_batch();
  std::set<int64_t> seen;
  for (int i = 0; i < 20; ++i) {
    sampler.sample(b);
    for (int64_t row : b.indices) {
      ASSERT_NE(row, 6);
      ASSERT_NE(row, 9);
      seen.insert(row);
    }
  }
  EXPECT_EQ(seen.size(), 8u);
}

TEST(Sampler, GatherCopiesTheRightRows) {
  const Dataset d = testing::three_episodes();
  Sampler sampler(d, {.batch_size = 2, .discount = 0.9});
  Batch b = sampler.make_batch();
  sampler.gather({2, 3}, b);
  EXPECT_EQ(b.observations, (std::vector<float>{2, -2, 3, -3}));
  EXPECT_EQ(b.next_observations, (std::vector<float>{3, -3, 3, -3}));
  EXPECT_EQ(b.rewards, (std::vector<float>{2, 3}));
  EXPECT_EQ(b.terminals, (std::vector<float>{0, 1}));
  EXPECT_FLOAT_EQ(b.actions[0], 0.2f);
  EXPECT_FLOAT_EQ(b.discounts[0], 0.9f);
}

// ReBRAC's next actions: the action of the row after the bootstrap state, within the episode.
TEST(Sampler, NextActionsComeFromTheSameEpisode) {
  const Dataset d = testing::three_episodes();
  Sampler sampler(d, {.batch_size = 4, .next_actions = true});
  Batch b = sampler.make_batch();
  sampler.gather({2, 3, 5, 8}, b);
  // Row 3 is terminal (no next action); rows 2, 5, 8 are followed by rows 3, 6, 9.
  EXPECT_EQ(b.next_action_valid, (std::vector<float>{1, 0, 1, 1}));
  EXPECT_EQ(b.next_actions, (std::vector<float>{0.3f, 0.0f, 0.6f, 0.9f}));
  // Random batches take the same path.
  Sampler random(d, {.batch_size = 64, .next_actions = true, .seed = 2});
  Batch r = random.make_batch();
  random.sample(r);
  for (int64_t i = 0; i < r.size; ++i) {
    const int64_t row = r.indices[i];
    EXPECT_EQ(r.next_action_valid[i], row == 3 ? 0.0f : 1.0f) << row;
    if (row != 3) {
      EXPECT_FLOAT_EQ(r.next_actions[i], d.actions[row + 1]);
    }
  }
  // n-step: after the last row summed (row 4 with n = 3 stops at row 5; row 6 follows).
  Sampler n_step(d, {.batch_size = 1, .n_step = 3, .next_actions = true});
  Batch nb = n_step.make_batch();
  n_step.gather({4}, nb);
  EXPECT_EQ(nb.next_action_valid[0], 1.0f);
  EXPECT_FLOAT_EQ(nb.next_actions[0], 0.6f);
  // Without the option the columns stay empty.
  EXPECT_TRUE(Sampler(d, {.batch_size = 2}).make_batch().next_actions.empty());
}

TEST(Sampler, NStepSumsStopAtTerminalsAndUnrecordedSuccessors) {
  const Dataset d = testing::three_episodes();
  Sampler sampler(d, {.batch_size = 3, .n_step = 3, .discount = 0.5});
  Batch b = sampler.make_batch();
  sampler.gather({0, 2, 4}, b);
  // Row 0: r0 + .5 r1 + .25 r2 = 0 + .5 + .5 = 1, bootstrap from next of row 2 (obs 3), disc .125.
  EXPECT_FLOAT_EQ(b.rewards[0], 1.0f);
  EXPECT_EQ(b.next_observations[0 * 2], 3.0f);
  EXPECT_FLOAT_EQ(b.discounts[0], 0.125f);
  EXPECT_EQ(b.terminals[0], 0.0f);
  // Row 2: r2 + .5 r3 = 2 + 1.5 = 3.5, terminal at row 3.
  EXPECT_FLOAT_EQ(b.rewards[1], 3.5f);
  EXPECT_EQ(b.terminals[1], 1.0f);
  // Row 4: row 6 has no recorded successor, so stop after row 5: r4 + .5 r5 = 6.5, bootstrap
  // from row 5's successor (observation 6) with discount .25.
  EXPECT_FLOAT_EQ(b.rewards[2], 6.5f);
  EXPECT_EQ(b.next_observations[2 * 2], 6.0f);
  EXPECT_FLOAT_EQ(b.discounts[2], 0.25f);
}

TEST(Sampler, ReturnToGoWithinEpisodes) {
  const Dataset d = testing::three_episodes();
  Sampler sampler(d, {.batch_size = 3, .return_to_go = true});
  Batch b = sampler.make_batch();
  sampler.gather({0, 4, 8}, b);
  EXPECT_EQ(b.returns_to_go, (std::vector<float>{6, 15, 17}));
}

TEST(Sampler, SameSeedSameBatches) {
  const Dataset d = testing::three_episodes();
  Sampler a(d, {.batch_size = 16, .seed = 3}), b(d, {.batch_size = 16, .seed = 3});
  Batch x = a.make_batch(), y = b.make_batch();
  a.sample(x);
  b.sample(y);
  EXPECT_EQ(x.indices, y.indices);
}

TEST(Sampler, RejectsBadOptions) {
  const Dataset d = testing::three_episodes();
  EXPECT_THROW(Sampler(d, {.batch_size = 0}), Error);
  EXPECT_THROW(Sampler(d, {.n_step = 0}), Error);
  EXPECT_THROW(Sampler(d, {.discount = 1.5}), Error);
}

TEST(ReplayBuffer, RingOverwritesOldestAndKeepsFlagsApart) {
  ReplayBuffer buffer(3, 1, 1);
  for (int i = 0; i < 5; ++i) {
    const float o = static_cast<float>(i), a = 0.0f, n = o + 1;
    buffer.add(&o, &a, static_cast<float>(i), &n, i == 3, i == 4);
  }
  EXPECT_EQ(buffer.size(), 3);
  const Dataset d = buffer.to_dataset();
  EXPECT_EQ(d.observations, (std::vector<float>{2, 3, 4}));
  EXPECT_EQ(d.terminals, (std::vector<uint8_t>{0, 1, 0}));
  EXPECT_EQ(d.timeouts, (std::vector<uint8_t>{0, 0, 1}));
  Batch b = buffer.make_batch(32);
  Rng rng(0);
  buffer.sample(b, rng);
  for (float o : b.observations) EXPECT_GE(o, 2.0f);
  ReplayBuffer empty(2, 1, 1);
  EXPECT_THROW(empty.sample(b, rng), Error);
}

}  // namespace
}  // namespace stitch
