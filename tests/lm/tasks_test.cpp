// The token policies' verifiable tasks and tokenizer: every generated answer checks as correct,
// near misses do not, the format reward, and held-out prompts never reach training.
#include "lm/tasks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "lm/tokenizer.h"
#include "testing/errors.h"

namespace stitch::lm {
namespace {

using testing::error_of;
using ::testing::HasSubstr;

TEST(CharTokenizer, RoundTripsEveryTaskAndNamesABadCharacter) {
  const CharTokenizer tok;
  EXPECT_EQ(tok.vocab_size(), 3 + static_cast<int32_t>(tok.alphabet().size()));
  for (const std::string& name : task_names()) {
    const auto task = make_task(name);
    Rng rng(1);
    const Problem p = task->generate(rng, 3);
    const std::string text = p.prompt + p.answer;
    std::vector<int32_t> ids = tok.encode(text);
    ids.push_back(CharTokenizer::kEos);
    ids.push_back(tok.encode("7")[0]);  // after the end: ignored
    EXPECT_EQ(tok.decode(ids), text) << name;
  }
  EXPECT_THAT(error_of([&] { tok.encode("12+x"); }), HasSubstr("position 3"));
  EXPECT_THAT(error_of([&] { tok.decode(std::vector<int32_t>{99}); }),
              HasSubstr("outside the vocabulary"));
}

TEST(Tasks, GeneratedAnswersAreCorrectAndNearMissesAreNot) {
  for (const std::string& name : task_names()) {
    const auto task = make_task(name);
    Rng rng(7);
    for (int d = task->min_difficulty(); d <= task->max_difficulty(); ++d) {
      for (int i = 0; i < 100; ++i) {
        const Problem p = task->generate(rng, d);
        const Score ok = task->score(p.prompt, p.answer);
        ASSERT_TRUE(ok.correct) << p.prompt << p.answer;
        EXPECT_EQ(ok.reward, 1.0);
        const Score off = task->score(p.prompt, p.answer + "1");
        EXPECT_FALSE(off.correct) << p.prompt << p.answer << "1";
        EXPECT_EQ(task->score(p.prompt, "").reward, 0.0);
        EXPECT_EQ(task->score(p.prompt, "=" + p.answer).reward, 0.0);
      }
    }
    EXPECT_THAT(error_of([&] { task->generate(rng, task->max_difficulty() + 1); }),
                HasSubstr("difficulty must be in"));
  }
  EXPECT_THAT(error_of([] { make_task("chess"); }), HasSubstr("unknown task 'chess'"));
}

TEST(Tasks, TheFormatRewardIsForTheAnswersFormOnly) {
  const auto add = make_task("addition");
  EXPECT_EQ(add->score("12+30=", "42").reward, 1.0);
  EXPECT_EQ(add->score("12+30=", "43").reward, 0.1);   // digits: the right form
  EXPECT_EQ(add->score("12+30=", "042").reward, 0.1);  // a leading zero is not the answer
  EXPECT_EQ(add->score("12+30=", "4,2").reward, 0.0);
  EXPECT_EQ(add->score("12+30=", "43", 0.0).reward, 0.0);
  // Operands longer than the generator's overflow no check.
  const auto mul = make_task("multiplication");
  EXPECT_FALSE(mul->score("999999999999999999*999999999999999999=", "1").correct);
  const auto sort = make_task("sorting");
  EXPECT_TRUE(sort->score("S5,31,9,5=", "5,5,9,31").correct);
  EXPECT_EQ(sort->score("S5,31,9,5=", "5,9,31").reward, 0.1);  // a dropped duplicate
  EXPECT_EQ(sort->score("S5,31,9,5=", "5,5,9,31,").reward, 0.0);
  EXPECT_THAT(error_of([&] { sort->score("12+30=", "1"); }), HasSubstr("not one of its prompts"));
}

TEST(Tasks, CountdownUsesEveryNumberOnceAndEvaluatesExactly) {
  const auto cd = make_task("countdown");
  EXPECT_TRUE(cd->score("C3,7,25,50>100=", "(50-25)*(7-3)").correct);
  EXPECT_TRUE(cd->score("C3,7,25,50>100=", "(7-3)*(50-25)").correct);
  // A fraction on the way is fine (exact arithmetic): 8 / (3 - 8/3) = 24.
  EXPECT_TRUE(cd->score("C3,3,8,8>24=", "8/(3-8/3)").correct);
  const Score missing = cd->score("C3,7,25,50>100=", "(50-25)*7");  // 3 unused
  EXPECT_FALSE(missing.correct);
  EXPECT_FALSE(missing.formatted);
  const Score twice = cd->score("C3,7,25,50>100=", "50+50+3-3");  // 50 twice, 7 and 25 unused
  EXPECT_FALSE(twice.formatted);
  const Score wrong = cd->score("C3,7,25,50>100=", "50+25+7+3");  // 85: the right form
  EXPECT_FALSE(wrong.correct);
  EXPECT_EQ(wrong.reward, 0.1);
  EXPECT_FALSE(cd->score("C2,2,5>5=", "5/(2-2)").correct);  // division by zero
  EXPECT_EQ(cd->score("C3,7>21=", "(3*7").reward, 0.0);     // unbalanced
  EXPECT_EQ(cd->score("C3,7>21=", "03*7").reward, 0.0);     // a leading zero
  EXPECT_EQ(cd->score("C3,7>21=", std::string(100, '(') + "3*7" + std::string(100, ')')).reward,
            0.0);  // past the nesting limit
}

TEST(Tasks, HeldOutPromptsNeverReachTraining) {
  for (const std::string& name : task_names()) {
    const auto task = make_task(name);
    const std::vector<Problem> test = test_set(*task, 2, 50, 3);
    ASSERT_FALSE(test.empty()) << name;
    std::set<std::string> test_prompts;
    for (const Problem& p : test) {
      EXPECT_TRUE(held_out(p.prompt));
      test_prompts.insert(p.prompt);
    }
    EXPECT_EQ(test_prompts.size(), test.size());  // distinct
    Rng rng(11);
    for (int i = 0; i < 2000; ++i) {
      const Problem p = training_problem(*task, rng, 2);
      EXPECT_FALSE(held_out(p.prompt));
      EXPECT_EQ(test_prompts.count(p.prompt), 0u) << p.prompt;
    }
    // The split is not a rule about digits: held-out 1-2 digit sums are odd and even.
    if (name == "addition") {
      std::set<int64_t> parity;
      for (const Problem& p : test) parity.insert(std::stoll(p.answer) % 2);
      EXPECT_EQ(parity.size(), 2u);
    }
    // Same seed, same test set.
    const std::vector<Problem> again = test_set(*task, 2, 50, 3);
    ASSERT_EQ(again.size(), test.size());
    for (size_t i = 0; i < test.size(); ++i) EXPECT_EQ(again[i].prompt, test[i].prompt);
  }
}

}  // namespace
}  // namespace stitch::lm
