// For return-conditioned policies (RCSL: Emmons et al. 2022, "RvS"; MBRCSL's policy, Zhou et
// al. 2023): the action depends on the state and the return still to collect. The offline loop
// hands such an algorithm its training data's returns before the first update (the target it is
// conditioned on at evaluation, the data's best episode return unless configured, and the scale
// of returns-to-go at its input); its batches carry undiscounted returns-to-go. Evaluation
// (AlgorithmPolicy) starts each episode at the target and counts it down by every reward.
#pragma once

namespace stitch {

class ReturnConditioned {
 public:
  virtual ~ReturnConditioned() = default;
  // best: the largest return of a complete episode of the training data; scale: the largest
  // absolute episode return (returns-to-go enter the network divided by it); reward_scale: what
  // the training rewards were multiplied by (a configured target is in the env's units). Stored
  // with the algorithm's state, so a resumed or evaluated checkpoint keeps them.
  virtual void set_data_returns(double best, double scale, double reward_scale) = 0;
  virtual void start_episode() = 0;                 // the return to go is the target again
  virtual void reward_received(double reward) = 0;  // the return to go drops by `reward`
};

}  // namespace stitch
