// WSRL: Zhou, Peng, Li, Levine & Kumar 2024, "Efficient Online Reinforcement Learning Fine-Tuning
// Need Not Retain Offline Data". Fine-tuning without the offline data: a warm-up of 5,000 env
// steps with the pre-trained (stochastic) policy and no updates seeds an empty replay buffer,
// then SAC with a high update-to-data ratio on an ensemble of LayerNorm critics. Defaults from
// the authors' code (github.com/zhouzypaul/wsrl: experiments/configs/{sac,wsrl}_config.py,
// scripts/locomotion/launch_wsrl_finetune.sh):
//   - 10 critics with LayerNorm; the TD target's min over 2 members drawn with replacement
//     (REDQ), without the entropy term (backup_entropy False); the actor's loss through the min
//     over all 10;
//   - UTD 4: four critic steps per env step and one actor and temperature step (actor_delay 4);
//   - actor lr 1e-4, critic lr 3e-4, temperature lr 1e-4, tau 5e-3, discount 0.99, target
//     entropy -act_dim, no offline data, 5,000 warm-up steps.
// Pre-training (the authors' MuJoCo runs: CQL with `--use_redq`, 10 LayerNorm critics, 2 drawn):
//   stitch train --algo cql --set cql.critics=10 cql.layer_norm=true cql.target_subsample=2 ...
// then `stitch finetune --algo wsrl --from RUN/checkpoints/latest.pt`, which takes the
// checkpoint's network shape (hidden, layers, critics, layer_norm) and its normalisers.
// Differences kept (named): the LayerNorm is after each hidden ReLU (stitch's fused block,
// ReBRAC's order; WSRL's is Dense, LayerNorm, ReLU) and the actor has none (WSRL's does); the
// temperature is exp(log alpha) (WSRL's: a softplus); the actor steps on the last 256-row
// minibatch of the four (WSRL's: on their 1,024-row union); the actor's networks are CORL's CQL
// actor (learned log-std scale and offset) so that a CQL checkpoint loads.
// `stitch train --algo wsrl --online` trains the same learner from scratch (random warm-up
// actions for learning_starts steps).
#include <memory>
#include <optional>

#include "algo/algorithm.h"
#include "algo/losses.h"
#include "algo/sac_core.h"
#include "core/runtime.h"

namespace stitch {
namespace {

struct WsrlConfig : SacFamilyConfig {
  WsrlConfig() {
    actor_lr = 1e-4;
    alpha_lr = 1e-4;
  }
  CriticEnsembleKeys ensemble{.critics = 10, .layer_norm = true, .target_subsample = 2};
  int actor_delay = 4;
  bool backup_entropy = false;
  void describe(ConfigFields& f) override {
    describe_shared(f);
    ensemble.describe(f);
    f.add("actor_delay", actor_delay, "critic steps per actor and temperature step",
          {.min = 1, .max = 1000});
    f.add("backup_entropy", backup_entropy, "the entropy term in the TD target");
  }
};

class Wsrl : public SacCore {
 public:
  Wsrl(const WsrlConfig& c, const AlgoDims& d, uint64_t seed)
      : SacCore(core_options(c, d), d, seed), config_(c) {}

  std::string name() const override { return "wsrl"; }

  // The critics on the target from a' ~ pi(s'); every actor_delay-th call, then the actor
  // through the updated critics and the temperature on its sample.
  Metrics update(const TensorBatch& b) override {
    const fused_steps::RawBatch raw(b);
    const int64_t batch = raw.rows;
    const SingleThreadedBlas single_blas;
    const double alpha = temperature();
    const float* target =
        td_target(raw, config_.backup_entropy ? std::optional<double>(alpha) : std::nullopt);
    const TdStep td = td_critic_step(raw, target);
    ++steps_;
    Metrics m{{"alpha", alpha}, {"q_loss", td.loss}, {"q_mean", td.q_mean}};
    if (steps_ % config_.actor_delay == 0) {
      const PolicyStepResult r = policy_step(raw.s, batch, alpha);
      last_actor_loss_ = r.actor_loss;
      last_entropy_ = -r.log_pi_mean;
    }
    m["actor_loss"] = last_actor_loss_;
    m["entropy"] = last_entropy_;
    return m;
  }

 private:
  static SacCoreOptions core_options(const WsrlConfig& c, const AlgoDims& d) {
    SacCoreOptions o = sac_core_options(c, /*initial_alpha=*/1.0, -static_cast<double>(d.act_dim));
    o.corl_networks = true;  // CQL's actor and critics, so that its checkpoints load
    c.ensemble.apply(o);
    return o;
  }

  WsrlConfig config_;
  double last_actor_loss_ = 0.0, last_entropy_ = 0.0;
};

}  // namespace

STITCH_REGISTER_ALGORITHM(
    wsrl, {.name = "wsrl",
           .summary = "WSRL (Zhou et al. 2024): warm-up, then high-UTD SAC on a LayerNorm ensemble",
           .finetune = {.from = {"cql", "calql"},
                        .learning_starts = 5000,
                        .offline_ratio = 0.0,
                        .utd_ratio = 4.0,
                        .network_keys = {"hidden", "layers", "critics", "layer_norm"}},
           .online = true,
           .make_config = [] { return std::make_unique<WsrlConfig>(); },
           .make = [](const AlgoConfig& c, const AlgoDims& d,
                      uint64_t seed) -> std::unique_ptr<Algorithm> {
             return std::make_unique<Wsrl>(dynamic_cast<const WsrlConfig&>(c), d, seed);
           }});

}  // namespace stitch
