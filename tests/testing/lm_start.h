// The SFT run the token-policy learning tests build on: 1-2 digit addition (difficulty 2), no
// evaluation before the end. `steps` 400 leaves the partial policy that RL and offline methods
// improve (tests/lm/rl_learning_test.cpp, offline_learning_test.cpp); 1,500 trains it well
// (sft_learning_test.cpp).
#pragma once

#include <cstdint>
#include <string>

#include "lm/sft.h"

namespace stitch::testing {

inline lm::SftResult train_addition_sft(uint64_t seed, const std::string& run_dir,
                                        int64_t steps = 400) {
  lm::SftConfig c;
  c.task = "addition";
  c.difficulty = 2;
  c.steps = steps;
  c.eval_every = 0;
  c.seed = seed;
  c.run_dir = run_dir;
  return lm::train_sft(c, false);
}

}  // namespace stitch::testing
