#include "env/policy.h"

#include "core/error.h"

namespace stitch {
namespace {

class RandomPolicy : public Policy {
 public:
  explicit RandomPolicy(Space space) : space_(std::move(space)) {}
  void act(std::span<const float>, Rng& rng, std::span<float> action) override {
    space_.sample(rng, action);
  }

 private:
  Space space_;
};

}  // namespace

std::unique_ptr<Policy> make_random_policy(const Space& action_space) {
  if (!action_space.bounded()) {
    fail("random policy: cannot sample from the unbounded {}", action_space.describe());
  }
  return std::make_unique<RandomPolicy>(action_space);
}

}  // namespace stitch
