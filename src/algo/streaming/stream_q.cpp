// Stream Q(lambda) (Elsayed, Vasan & Mahmood 2024, Algorithm 4): Watkins's Q(lambda) with a
// StreamMlp action-value network trained by ObGD, epsilon-greedy, one transition at a time.
// Discrete actions.
//
//   delta = r + gamma * (1 - terminated) * max_a' Q(s', a') - Q(s, a)
//   trace accumulates grad Q(s, a); step along delta * trace; the trace resets at the end of an
//   episode and after a non-greedy (exploratory) action, as Watkins's Q(lambda) requires.
// Exploration: epsilon decays linearly from 1.0 to 0.01 over the first 5% of the planned steps
// (the public code's defaults for stream Q).
#include <algorithm>
#include <memory>

#include "algo/streaming/agent.h"
#include "core/config.h"
#include "core/error.h"

namespace stitch {
namespace {

struct StreamQConfig : StreamConfig {
  double epsilon_start = 1.0;
  double epsilon_target = 0.01;
  double exploration_fraction = 0.05;

  void describe(ConfigFields& f) override {
    StreamConfig::describe(f);
    f.add("epsilon_start", epsilon_start, "initial exploration rate", {.min = 0, .max = 1});
    f.add("epsilon_target", epsilon_target, "final exploration rate", {.min = 0, .max = 1});
    f.add("exploration_fraction", exploration_fraction,
          "fraction of the steps over which epsilon decays",
          {.min = 0, .max = 1, .min_open = true});
  }
};

int64_t argmax(const std::vector<float>& q) {
  return std::max_element(q.begin(), q.end()) - q.begin();  // the first of equal maxima
}

class StreamQ final : public StreamAgent {
 public:
  StreamQ(const StreamQConfig& c, const AlgoDims& dims, uint64_t seed)
      : config_(c), num_actions_(dims.num_actions), total_steps_(dims.total_steps), rng_(seed) {
    if (num_actions_ < 2)
      fail("stream-q needs a discrete action space; use stream-ac for continuous actions");
    q_ = StreamNetwork(dims.obs_dim, c.hidden_sizes(dims.obs_dim), num_actions_, c.obgd(c.kappa),
                       c.sparsity, rng_);
    grad_out_.assign(static_cast<size_t>(num_actions_), 0.0f);
  }

  double epsilon() const {
    const double duration =
        std::max(1.0, config_.exploration_fraction * static_cast<double>(total_steps_));
    const double slope = (config_.epsilon_target - config_.epsilon_start) / duration;
    return std::max(slope * static_cast<double>(acted_) + config_.epsilon_start,
                    config_.epsilon_target);
  }

  void act(std::span<const float> features, std::span<const float>, bool deterministic,
           std::span<float> action) override {
    q_.net.forward(features, q_.scratch);
    const int64_t greedy = argmax(q_.scratch.output);
    int64_t chosen = greedy;
    if (!deterministic) {
      ++acted_;
      if (rng_.uniform() < epsilon())
        chosen = static_cast<int64_t>(rng_.below(static_cast<uint64_t>(num_actions_)));
      nongreedy_ = chosen != greedy;
    }
    action[0] = static_cast<float>(chosen);
  }

  StreamUpdateInfo update(const StreamTransition& t) override {
    const auto a = static_cast<int64_t>(t.action[0]);
    STITCH_CHECK(a >= 0 && a < num_actions_, "stream-q: action {} out of range", a);
    q_.net.forward(t.next_obs, q_.scratch);
    const double q_next = *std::max_element(q_.scratch.output.begin(), q_.scratch.output.end());
    q_.net.forward(t.obs, q_.tape);
    const double delta =
        t.reward + (t.terminated ? 0.0 : config_.gamma * q_next) - q_.tape.output[a];
    std::fill(grad_out_.begin(), grad_out_.end(), 0.0f);
    grad_out_[a] = 1.0f;
    StreamUpdateInfo info;
    info.delta = delta;
    info.step_size = q_.learn(grad_out_, delta, t.terminated || t.truncated || nongreedy_);
    return info;
  }

  std::map<std::string, double> end_episode() override { return {{"epsilon", epsilon()}}; }

  nlohmann::json state() const override {
    return {{"q", q_.state()},
            {"rng", rng_to_json(rng_)},
            {"acted", acted_},
            {"nongreedy", nongreedy_}};
  }
  void set_state(const nlohmann::json& j) override {
    q_.set_state(j.at("q"), "q");
    rng_from_json(j.at("rng"), rng_);
    acted_ = j.at("acted").get<int64_t>();
    nongreedy_ = j.at("nongreedy").get<bool>();
  }
  std::vector<std::pair<std::string, std::span<const float>>> parameters() const override {
    return {{"q", q_.net.params()}};
  }

 private:
  StreamQConfig config_;
  int64_t num_actions_;
  int64_t total_steps_;
  Rng rng_;
  StreamNetwork q_;
  std::vector<float> grad_out_;
  int64_t acted_ = 0;       // exploratory act() calls so far (epsilon's clock)
  bool nongreedy_ = false;  // whether the last action was exploratory
};

}  // namespace

STITCH_REGISTER_ALGORITHM(stream_q,
                          {
                              .name = "stream-q",
                              .summary = "stream Q(lambda): streaming Watkins Q(lambda) with ObGD, "
                                         "discrete actions (Elsayed et al. 2024)",
                              .online = true,
                              .make_config = [] { return std::make_unique<StreamQConfig>(); },
                              .make_stream = [](const AlgoConfig& c, const AlgoDims& d,
                                                uint64_t seed) -> std::unique_ptr<StreamAgent> {
                                return std::make_unique<StreamQ>(
                                    static_cast<const StreamQConfig&>(c), d, seed);
                              },
                          });

}  // namespace stitch
