// Behaviour cloning: regress the dataset's actions. Two variants: "deterministic" (MSE of a
// tanh-bounded policy, as CORL's BC) and "gaussian" (negative log-likelihood of a Gaussian
// policy with a state-independent std). Defaults: 2x256 networks, Adam 3e-4 (CORL's BC).
#include "algo/algorithm.h"
#include "core/error.h"
#include "nn/nn.h"

namespace stitch {
namespace {

struct BcConfig : AlgoConfig {
  std::string variant = "deterministic";  // deterministic | gaussian
  double lr = 3e-4;
  int64_t hidden = 256;
  void describe(ConfigFields& f) override {
    f.add("variant", variant, "deterministic (MSE) or gaussian (NLL)");
    f.add("lr", lr, "learning rate", kRateRange);
    f.add("hidden", hidden, "hidden width (two layers)", {.min = 1, .max = 65536});
  }
  void validate() const override {
    if (variant != "deterministic" && variant != "gaussian") {
      fail("bc.variant must be deterministic or gaussian, got '{}'", variant);
    }
  }
};

class Bc : public Algorithm {
 public:
  Bc(const BcConfig& c, const AlgoDims& d, uint64_t seed)
      : Algorithm(seed),
        gaussian_(c.variant == "gaussian"),
        dims_(d),
        deterministic_(d.obs_dim, d.act_dim, nn::MlpOptions{.hidden = {c.hidden, c.hidden}},
                       d.max_action),
        stochastic_(d.obs_dim, d.act_dim, nn::MlpOptions{.hidden = {c.hidden, c.hidden}},
                    d.max_action),
        optim_(gaussian_ ? stochastic_->parameters() : deterministic_->parameters(),
               torch::optim::AdamOptions(c.lr)) {}

  std::string name() const override { return "bc"; }

  Metrics update(const TensorBatch& b) override {
    const auto loss = gaussian_
                          ? -stochastic_->log_prob(b.observations, b.actions).mean()
                          : (deterministic_->forward(b.observations) - b.actions).pow(2).mean();
    optim_.zero_grad();
    loss.backward();
    optim_.step();
    ++steps_;
    return {{"bc_loss", loss.item<double>()}};
  }

  torch::Tensor act(const torch::Tensor& obs, bool deterministic) override {
    torch::NoGradGuard no_grad;
    if (!gaussian_) return deterministic_->forward(obs);
    if (deterministic) return stochastic_->mean(obs);
    return stochastic_->sample(obs, &generator_).clamp(-dims_.max_action, dims_.max_action);
  }

  std::vector<std::pair<std::string, torch::nn::Module*>> modules() override {
    if (gaussian_) return {{"policy", stochastic_.get()}};
    return {{"policy", deterministic_.get()}};
  }
  std::vector<std::pair<torch::Tensor, torch::Tensor>> policy_layers() override {
    return gaussian_ ? stochastic_->action_layers() : deterministic_->action_layers();
  }
  std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers() override {
    return {{"policy", &optim_}};
  }

 private:
  bool gaussian_;
  AlgoDims dims_;
  nn::DeterministicPolicy deterministic_;
  nn::GaussianPolicy stochastic_;
  torch::optim::Adam optim_;
};

}  // namespace

STITCH_REGISTER_ALGORITHM(bc, {.name = "bc",
                               .summary = "behaviour cloning (deterministic MSE or Gaussian NLL)",
                               .normalize_observations = true,
                               .locomotion_reward_scaling = false,
                               .make_config = [] { return std::make_unique<BcConfig>(); },
                               .make = [](const AlgoConfig& c, const AlgoDims& d,
                                          uint64_t seed) -> std::unique_ptr<Algorithm> {
                                 return std::make_unique<Bc>(dynamic_cast<const BcConfig&>(c), d,
                                                             seed);
                               }});

}  // namespace stitch
