// The token policy: causal, its cached sampling reports the log-probabilities a full forward
// gives, greedy and nucleus sampling, and its sizes.
#include "lm/transformer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/errors.h"
#include "testing/thread_policy.h"

namespace stitch::lm {
namespace {

using ::testing::HasSubstr;

TokenPolicy small(uint64_t seed) {
  torch::manual_seed(seed);
  return TokenPolicy(
      TransformerConfig{.vocab = 24, .context = 32, .width = 32, .layers = 2, .heads = 4});
}

TEST(TokenPolicy, LaterTokensDoNotChangeEarlierLogits) {
  TokenPolicy net = small(0);
  auto a = torch::randint(3, 24, {2, 10}, torch::kLong);
  auto b = a.clone();
  b.slice(1, 6, 10).fill_(5);
  const auto la = net->forward(a), lb = net->forward(b);
  EXPECT_TRUE(torch::allclose(la.slice(1, 0, 6), lb.slice(1, 0, 6), 1e-6, 1e-6));
  EXPECT_FALSE(torch::allclose(la.slice(1, 6, 10), lb.slice(1, 6, 10), 1e-6, 1e-6));
}

TEST(TokenPolicy, CachedSamplingLogProbsEqualAFullForward) {
  TokenPolicy net = small(1);
  const auto prompts = torch::randint(3, 24, {4, 6}, torch::kLong);
  auto gen = at::detail::createCPUGenerator(7);
  const Samples s = net->sample(prompts, {.max_new_tokens = 12, .eos = 2}, gen);
  ASSERT_EQ(s.tokens.size(1), 6 + s.log_probs.size(1));
  EXPECT_TRUE(torch::equal(s.tokens.slice(1, 0, 6), prompts));
  const auto full = net->token_log_probs(s.tokens).slice(1, 5);  // the sampled tokens'
  EXPECT_TRUE(torch::allclose(full * s.mask, s.log_probs, 1e-5, 1e-5))
      << (full * s.mask - s.log_probs).abs().max().item<float>();
  // The same generator seed gives the same samples.
  auto again = at::detail::createCPUGenerator(7);
  EXPECT_TRUE(torch::equal(net->sample(prompts, {.max_new_tokens = 12}, again).tokens, s.tokens));
  // Without the cache (every token recomputes the sequence): the same draws.
  auto uncached = at::detail::createCPUGenerator(7);
  const Samples u =
      net->sample(prompts, {.max_new_tokens = 12, .eos = 2, .kv_cache = false}, uncached);
  EXPECT_TRUE(torch::equal(u.tokens, s.tokens));
  EXPECT_TRUE(torch::allclose(u.log_probs, s.log_probs, 1e-5, 1e-5));
}

TEST(TokenPolicy, GreedyAndATinyNucleusTakeTheMostLikelyToken) {
  TokenPolicy net = small(2);
  const auto prompts = torch::randint(3, 24, {3, 5}, torch::kLong);
  auto g1 = at::detail::createCPUGenerator(1), g2 = at::detail::createCPUGenerator(2);
  const Samples greedy = net->sample(prompts, {.max_new_tokens = 8, .temperature = 0.0}, g1);
  const Samples nucleus = net->sample(prompts, {.max_new_tokens = 8, .top_p = 1e-6}, g2);
  EXPECT_TRUE(torch::equal(greedy.tokens, nucleus.tokens));
  // Each greedy token is the argmax of a full forward at its position.
  const auto logits = net->forward(greedy.tokens);
  const int64_t p = 5, n = greedy.log_probs.size(1);
  for (int64_t i = 0; i < n; ++i) {
    const auto alive = greedy.mask.select(1, i).to(torch::kBool);
    const auto best = logits.select(1, p - 1 + i).argmax(-1);
    EXPECT_TRUE(torch::equal(best.masked_select(alive),
                             greedy.tokens.select(1, p + i).masked_select(alive)));
  }
}

TEST(TokenPolicy, SizesAndBadShapes) {
  EXPECT_LT(TokenPolicy(TransformerConfig{.width = 64, .layers = 2, .heads = 4})->parameter_count(),
            200'000);
  const int64_t big =
      TokenPolicy(TransformerConfig{.context = 128, .width = 384, .layers = 6, .heads = 6})
          ->parameter_count();
  EXPECT_GT(big, 5'000'000);
  EXPECT_LT(big, 15'000'000);
  EXPECT_THAT(testing::error_of([] { TokenPolicy(TransformerConfig{.width = 30, .heads = 4}); }),
              HasSubstr("multiple of heads"));
  TokenPolicy net = small(3);
  EXPECT_THAT(testing::error_of([&] {
                net->forward(torch::zeros({1, 40}, torch::kLong));
              }),
              HasSubstr("longer than the context of 32"));
  auto gen = at::detail::createCPUGenerator(0);
  EXPECT_THAT(testing::error_of([&] {
                net->sample(torch::zeros({1, 30}, torch::kLong), {.max_new_tokens = 8}, gen);
              }),
              HasSubstr("pass the context of 32"));
}

}  // namespace
}  // namespace stitch::lm
