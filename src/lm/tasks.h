// Verifiable tasks for token policies (the LM-RL part of stitch, src/lm): a generator of prompts
// at a difficulty level, an exact checker, and held-out test sets that training never sees.
//
//   task            prompt             a correct completion   difficulty d
//   addition        "123+45="          "168"                  operands of 1..d digits
//   multiplication  "12*34="           "408"                  operands of 1..d digits
//   sorting         "S5,31,9="         "5,9,31"               d numbers in [0, 99]
//   countdown       "C3,7,25,50>100="  "(50-25)*(7-3)"        d numbers in [1, 99] (d >= 2)
//
// Countdown (as in TinyZero's and SimpleRL-Zoo's reasoning experiments): reach the target with
// + - * / and parentheses, using every given number exactly once. The checker evaluates exactly
// (fractions), so a fraction on the way is allowed, as with TinyZero's evaluation of the
// expression; the generator builds each target from a random expression over the numbers that
// divides only where exact, so every problem has a solution (Problem::answer).
//
// Rewards (score): 1 for a correct completion; otherwise `format_reward` (TinyZero's 0.1) when
// the completion has the answer's form (digits; a comma-separated list; an expression over the
// given numbers), else 0.
//
// The test split: a problem is held out when the hash of its prompt (FNV-1a, 64-bit, then
// splitmix64's finaliser) is 0 modulo 10. training_problem() never returns a held-out prompt and
// test_set() returns only held-out ones, so a policy's test score is on prompts it was never
// trained on, at every difficulty.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"

namespace stitch::lm {

struct Problem {
  std::string prompt;  // ends with '='
  std::string answer;  // one correct completion (the canonical one where there is one)
};

struct Score {
  bool correct = false;
  bool formatted = false;  // the completion has the answer's form
  double reward = 0.0;     // 1 if correct, else format_reward if formatted, else 0
};

class Task {
 public:
  virtual ~Task() = default;
  virtual std::string name() const = 0;
  // A problem at difficulty d (see the table above); Error for a difficulty out of range.
  virtual Problem generate(Rng& rng, int difficulty) const = 0;
  // Whether `completion` (the text after the prompt, up to the end of sequence) solves the
  // problem posed by `prompt`.
  Score score(const std::string& prompt, const std::string& completion,
              double format_reward = 0.1) const;
  // The difficulties the generator accepts.
  virtual int min_difficulty() const = 0;
  virtual int max_difficulty() const = 0;

 protected:
  // (correct, formatted) for the completion of the prompt.
  virtual std::pair<bool, bool> check(const std::string& prompt,
                                      const std::string& completion) const = 0;
};

// addition, multiplication, sorting or countdown; Error naming the known ones otherwise.
std::unique_ptr<Task> make_task(const std::string& name);
std::vector<std::string> task_names();

// Whether `prompt` belongs to the held-out split.
bool held_out(const std::string& prompt);
// A problem for training: generated until its prompt is not held out (Error after 10,000 tries,
// which only a difficulty with almost no problems could reach).
Problem training_problem(const Task& task, Rng& rng, int difficulty);
// `count` distinct held-out problems from a generator seeded with `seed` (fewer when the
// difficulty has fewer held-out problems than that: the generator gives up after 100 draws per
// problem asked).
std::vector<Problem> test_set(const Task& task, int difficulty, int count, uint64_t seed);

}  // namespace stitch::lm
