#include "algo/offline/rcsl.h"

#include <charconv>
#include <cmath>
#include <optional>

#include "algo/algorithm.h"
#include "algo/return_conditioned.h"
#include "core/error.h"
#include "nn/nn.h"

namespace stitch {

namespace {

// A configured number, or nothing for "max".
std::optional<double> parse_target(const std::string& text, const std::string& algo) {
  if (text == "max") return std::nullopt;
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) {
    fail("config key '{}.target_return': \"max\" or a finite number, got '{}'", algo, text);
  }
  return value;
}

// The policy and the returns it is conditioned on: buffer `returns` = [target, scale], saved
// with the module.
class RcslNetImpl : public torch::nn::Module {
 public:
  RcslNetImpl(const RcslConfig& c, const AlgoDims& d)
      : policy(register_module(
            "policy",
            nn::DeterministicPolicy(d.obs_dim + 1, d.act_dim,
                                    nn::MlpOptions{.hidden = {c.hidden, c.hidden}}, d.max_action))),
        returns(register_buffer("returns", torch::tensor({0.0f, 1.0f}))) {}
  // obs [B, obs], togo [B] (undiscounted return still to collect) -> actions [B, act].
  torch::Tensor forward(const torch::Tensor& obs, const torch::Tensor& togo) {
    return policy->forward(torch::cat({obs, (togo / returns[1]).unsqueeze(1)}, 1));
  }
  nn::DeterministicPolicy policy;
  torch::Tensor returns;
};
TORCH_MODULE(RcslNet);

class Rcsl : public Algorithm, public ReturnConditioned {
 public:
  Rcsl(const RcslConfig& c, const AlgoDims& d, uint64_t seed, std::string name)
      : Algorithm(seed),
        name_(std::move(name)),
        target_(parse_target(c.target_return, c.name)),
        net_(c, d),
        optim_(net_->parameters(), torch::optim::AdamOptions(c.lr).weight_decay(c.weight_decay)) {}

  std::string name() const override { return name_; }

  void set_data_returns(double best, double scale, double reward_scale) override {
    torch::NoGradGuard no_grad;
    net_->returns[0] = target_ ? *target_ * reward_scale : best;
    net_->returns[1] = scale > 0 ? scale : 1.0;
    togo_ = net_->returns[0].item<double>();
  }
  void start_episode() override { togo_ = net_->returns[0].item<double>(); }
  void reward_received(double reward) override { togo_ -= reward; }

  Metrics update(const TensorBatch& b) override {
    STITCH_CHECK(b.returns_to_go.defined(), "{}: the batch has no returns-to-go", name_);
    const auto loss = (net_->forward(b.observations, b.returns_to_go) - b.actions).pow(2).mean();
    optim_.zero_grad();
    loss.backward();
    optim_.step();
    ++steps_;
    return {{"bc_loss", loss.item<double>()}};
  }

  // Every row is conditioned on the current return to go (one episode at a time).
  torch::Tensor act(const torch::Tensor& obs, bool) override {
    torch::NoGradGuard no_grad;
    return net_->forward(obs, torch::full({obs.size(0)}, togo_, obs.options()));
  }

  std::vector<std::pair<std::string, torch::nn::Module*>> modules() override {
    return {{"policy", net_.get()}};
  }
  std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers() override {
    return {{"policy", &optim_}};
  }
  std::vector<std::pair<torch::Tensor, torch::Tensor>> policy_layers() override {
    fail(
        "{}: a return-conditioned policy reads the return still to collect besides the "
        "observation; the deployed policy format (stitch export) is a policy of the observation "
        "alone",
        name_);
  }

  void load(torch::serialize::InputArchive& archive) override {
    Algorithm::load(archive);
    start_episode();
  }

 private:
  std::string name_;
  std::optional<double> target_;
  RcslNet net_;
  torch::optim::Adam optim_;
  double togo_ = 0;
};

}  // namespace

void RcslConfig::describe(ConfigFields& f) {
  f.add("lr", lr, "learning rate", kRateRange);
  f.add("weight_decay", weight_decay, "Adam's L2 weight decay", {.min = 0, .max = 1e3});
  f.add("hidden", hidden, "hidden width (two layers)", {.min = 1, .max = 65536});
  f.add("target_return", target_return,
        "return the policy is conditioned on at the start of an episode: max (the training "
        "data's best episode return) or a number");
}

void RcslConfig::validate() const { (void)parse_target(target_return, name); }

std::unique_ptr<Algorithm> make_rcsl(const RcslConfig& config, const AlgoDims& dims, uint64_t seed,
                                     std::string name) {
  return std::make_unique<Rcsl>(config, dims, seed, std::move(name));
}

STITCH_REGISTER_ALGORITHM(
    rcsl, {.name = "rcsl",
           .summary = "return-conditioned supervised learning (RvS): a policy of the state and "
                      "the return to go",
           .normalize_observations = true,
           .return_conditioned = true,
           .make_config = [] { return std::make_unique<RcslConfig>(); },
           .make = [](const AlgoConfig& c, const AlgoDims& d,
                      uint64_t seed) -> std::unique_ptr<Algorithm> {
             return make_rcsl(dynamic_cast<const RcslConfig&>(c), d, seed, "rcsl");
           }});

}  // namespace stitch
