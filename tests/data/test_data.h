// Small datasets built in memory for the data tests.
#pragma once

#include "data/dataset.h"

namespace stitch::testing {

// Three episodes over 10 rows, obs_dim 2, act_dim 1:
//   rows 0-3 terminated (terminal at 3), rows 4-6 timed out (timeout at 6), rows 7-9 cut by the
//   end of the data. observations row i = (i, -i), action = i / 10, reward = i.
// next_observations derived (so has_next = 0 at row 6 and row 9).
inline Dataset three_episodes() {
  Dataset d;
  d.obs_dim = 2;
  d.act_dim = 1;
  for (int i = 0; i < 10; ++i) {
    d.observations.push_back(static_cast<float>(i));
    d.observations.push_back(static_cast<float>(-i));
    d.actions.push_back(static_cast<float>(i) / 10.0f);
    d.rewards.push_back(static_cast<float>(i));
    d.terminals.push_back(i == 3);
    d.timeouts.push_back(i == 6);
  }
  d.derive_next_observations();
  d.index_episodes();
  return d;
}

}  // namespace stitch::testing
