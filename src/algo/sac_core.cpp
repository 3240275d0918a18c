#include "algo/sac_core.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "algo/losses.h"
#include "core/error.h"
#include "core/runtime.h"

namespace stitch {

SacCore::SacCore(const SacCoreOptions& options, const AlgoDims& dims, uint64_t seed)
    : Algorithm(seed),
      dims_(dims),
      actor_(dims.obs_dim + options.actor_extra_inputs, dims.act_dim,
             nn::MlpOptions{.hidden = options.hidden}, dims.max_action, options.log_std_min,
             options.log_std_max, /*log_std_affine=*/options.corl_networks),
      q_(options.critics, dims.obs_dim + dims.act_dim, 1, options.hidden, options.layer_norm),
      q_target_(options.critics, dims.obs_dim + dims.act_dim, 1, options.hidden,
                options.layer_norm),
      actor_flat_(*actor_),
      policy_(*actor_, actor_flat_, actor_flat_.grad()),
      options_(options),
      log_alpha_(torch::full({}, std::log(options.initial_alpha), torch::requires_grad())),
      q_flat_(*q_),
      q_target_flat_(*q_target_),
      actor_adam_(fused_steps::flat_adam(actor_flat_, options.actor_lr)),
      q_adam_(fused_steps::flat_adam(q_flat_, options.critic_lr)),
      alpha_optim_(std::vector<torch::Tensor>{log_alpha_},
                   torch::optim::AdamOptions(options.alpha_lr)) {
  // In place: the parameters are views of the flat buffers.
  if (options.corl_networks) {
    nn::orthogonal_init(*q_, std::sqrt(2.0), 1e-2);
    actor_->init_heads_xavier(1e-2);
  }
  if (options.edac_init) {
    nn::edac_init(*q_, 0.1, 3e-3);
    actor_->init_edac(0.1, 1e-3);
  }
  nn::hard_update(*q_target_, *q_);
  scalars_->register_parameter("log_alpha", log_alpha_);
  const int n = options.critics;
  q_net_.resize(n);
  q_frozen_.resize(n);
  q_target_net_.resize(n);
  tape_q_.resize(n);
  tape_frozen_.resize(n);
  tape_target_.resize(n);
  dq_.resize(n);
  dx_.resize(n);
  q_out_.resize(n);
  dq_out_.resize(n);
  for (int k = 0; k < n; ++k) {
    q_net_[k] = nn::fused_member(*q_, k, q_flat_, q_flat_.grad());
    q_frozen_[k] = nn::fused_member(*q_, k, q_flat_, nullptr);
    q_target_net_[k] = nn::fused_member(*q_target_, k, q_target_flat_, nullptr);
  }
}

double SacCore::temperature() const { return std::exp(log_alpha_.item<double>()); }

const float* SacCore::td_target(const fused_steps::RawBatch& b, std::optional<double> entropy_alpha,
                                const float* next_input) {
  const int64_t rows = b.rows;
  const auto eps = torch::randn({rows, dims_.act_dim}, generator_);
  // The members whose min is taken: all, or a REDQ subset drawn with replacement.
  std::vector<int64_t> members;
  if (options_.target_subsample > 0) {
    const auto drawn = torch::randint(critics(), {options_.target_subsample}, generator_,
                                      torch::TensorOptions().dtype(torch::kInt64));
    members.assign(drawn.data_ptr<int64_t>(), drawn.data_ptr<int64_t>() + drawn.numel());
    std::sort(members.begin(), members.end());
    members.erase(std::unique(members.begin(), members.end()), members.end());
  } else {
    for (int64_t k = 0; k < critics(); ++k) members.push_back(k);
  }
  target_.resize(static_cast<size_t>(rows));
  float* next_value = target_.data();
  min_target_q(next_input != nullptr ? next_input : b.s2, b.s2, rows, eps.data_ptr<float>(),
               members, next_value);
  if (entropy_alpha) {
    const float alpha = static_cast<float>(*entropy_alpha);
    for (int64_t i = 0; i < rows; ++i) next_value[i] -= alpha * next_log_pi_[i];
  }
  losses::td_target(b.r, b.discount, b.terminal, next_value, rows, target_.data());
  return target_.data();
}

void SacCore::target_min_q(const float* s, int64_t rows, float* out) {
  const auto eps = torch::randn({rows, dims_.act_dim}, generator_);
  std::vector<int64_t> members(static_cast<size_t>(critics()));
  for (int64_t k = 0; k < critics(); ++k) members[static_cast<size_t>(k)] = k;
  min_target_q(s, s, rows, eps.data_ptr<float>(), members, out);
}

void SacCore::min_target_q(const float* actor_in, const float* s, int64_t rows, const float* eps,
                           const std::vector<int64_t>& members, float* out) {
  const int64_t obs = dims_.obs_dim, act = dims_.act_dim;
  next_action_.resize(static_cast<size_t>(rows * act));
  next_log_pi_.resize(static_cast<size_t>(rows));
  x_.resize(static_cast<size_t>(rows * (obs + act)));
  policy_.sample(actor_in, rows, eps, next_action_.data(), next_log_pi_.data());
  nn::fused::concat_columns(s, obs, next_action_.data(), act, rows, x_.data());
  const auto n = static_cast<int64_t>(members.size());
  tasks().parallel_for(n, [&](int64_t j) {
    const int64_t k = members[static_cast<size_t>(j)];
    nn::fused::forward(q_target_net_[k], x_.data(), rows, tape_target_[k]);
  });
  std::copy_n(tape_target_[members[0]].output(), rows, out);
  for (int64_t j = 1; j < n; ++j) {
    const float* t = tape_target_[members[static_cast<size_t>(j)]].output();
    for (int64_t i = 0; i < rows; ++i) out[i] = std::min(out[i], t[i]);
  }
}

// One step in the order, and with the generator draws, of the autograd version the fused path
// replaced.
Metrics SacCore::sac_update(const TensorBatch& b) {
  const fused_steps::RawBatch raw(b);
  const int64_t batch = raw.rows;
  const SingleThreadedBlas single_blas;
  const double alpha = temperature();
  const float* target = td_target(raw, alpha);

  const TdStep td = td_critic_step(raw, target);  // critics: sum_k mean (Q_k(s, a) - y)^2

  const PolicyStepResult policy = policy_step(raw.s, batch, alpha);
  ++steps_;
  return {{"actor_loss", policy.actor_loss},
          {"q_loss", td.loss},
          {"alpha", alpha},
          {"entropy", -policy.log_pi_mean},
          {"q_mean", td.q_mean}};
}

void CriticEnsembleKeys::describe(ConfigFields& f) {
  f.add("critics", critics, "critics in the ensemble", {.min = 1, .max = 1000});
  f.add("layer_norm", layer_norm, "LayerNorm after each hidden ReLU of the critics");
  f.add("target_subsample", target_subsample,
        "TD target: min over this many members drawn with replacement (REDQ; 0: all)",
        {.min = 0, .max = 1000});
}

void CriticEnsembleKeys::apply(SacCoreOptions& o) const {
  o.critics = critics;
  o.layer_norm = layer_norm;
  o.target_subsample = target_subsample;
}

SacCore::TdStep SacCore::td_critic_step(const fused_steps::RawBatch& b, const float* target,
                                        const std::function<void()>& extra) {
  const int64_t rows = b.rows;
  x_data_.resize(static_cast<size_t>(rows * (dims_.obs_dim + dims_.act_dim)));
  nn::fused::concat_columns(b.s, dims_.obs_dim, b.a, dims_.act_dim, rows, x_data_.data());
  td_loss_.assign(static_cast<size_t>(critics()), 0.0);
  td_sum_.assign(static_cast<size_t>(critics()), 0.0);
  critic_step(
      x_data_.data(), rows,
      [&](int k, const float* q, float* dq) {
        std::tie(td_loss_[k], td_sum_[k]) = losses::squared_td_error(q, target, rows, rows, dq);
      },
      extra);
  TdStep out{0.0, 0.0};
  for (int k = 0; k < critics(); ++k) out.loss += td_loss_[k], out.q_mean += td_sum_[k];
  out.q_mean /= static_cast<double>(critics() * rows);
  return out;
}

void SacCore::critic_step(const float* x, int64_t rows, const CriticLoss& loss,
                          const std::function<void()>& extra,
                          const std::function<void()>& after_forward) {
  if (after_forward) {
    tasks().parallel_for(critics(),
                         [&](int64_t k) { nn::fused::forward(q_net_[k], x, rows, tape_q_[k]); });
    after_forward();
  }
  tasks().parallel_for(critics(), [&](int64_t k) {
    if (!after_forward) nn::fused::forward(q_net_[k], x, rows, tape_q_[k]);
    dq_[k].resize(static_cast<size_t>(rows));
    loss(static_cast<int>(k), tape_q_[k].output(), dq_[k].data());
    nn::fused::backward(q_net_[k], tape_q_[k], dq_[k].data(), nullptr);
  });
  if (extra) extra();
  if (hook_.flat) hook_.flat(q_flat_.grad(), q_flat_.size());
  q_adam_->advance();
  const float tau = static_cast<float>(options_.tau);
  tasks().parallel_for(2, [&](int64_t h) {
    fused_steps::adam_half(static_cast<int>(h), q_adam_, q_flat_, nullptr, &q_target_flat_, tau);
  });
}

double SacCore::add_diversity_gradient(double eta, int64_t rows) {
  const int n = critics();
  STITCH_CHECK(n >= 2, "the diversity term needs at least 2 critics, got {}", n);
  STITCH_CHECK(!options_.layer_norm, "the diversity term is for critics without LayerNorm");
  const int64_t obs = dims_.obs_dim, act = dims_.act_dim, cols = obs + act;
  if (q_diversity_.empty()) {  // views writing weight gradients only (d/dbias of dQ/da is 0)
    diversity_grad_.assign(static_cast<size_t>(q_flat_.size()), 0.0f);
    q_diversity_.resize(n);
    tape_diversity_.resize(n);
    input_grad_.resize(n);
    diversity_dx_.resize(n);
    for (int k = 0; k < n; ++k) {
      q_diversity_[k] = nn::fused_member(*q_, k, q_flat_, diversity_grad_.data());
      for (auto& layer : q_diversity_[k]) layer.gb = nullptr;
    }
  }
  // g_k = dQ_k/dx at the rows of the critics' forward (the fixed view: no weight gradients).
  ones_.assign(static_cast<size_t>(rows), 1.0f);
  tasks().parallel_for(n, [&](int64_t k) {
    input_grad_[k].resize(static_cast<size_t>(rows * cols));
    nn::fused::backward(q_frozen_[k], tape_q_[k], ones_.data(), input_grad_[k].data());
  });
  // Per row: L_b = ||U||^2 - sum_k ||u_k||^2 with U = sum_k u_k, so w_k = dL/du_k =
  // 2 (U - u_k) / ((N - 1) B), and through u = g / (|g| + e):
  // dL/dg = (w - g (g . w) / (|g| (|g| + e))) / (|g| + e). c_k holds dL/dg_k in its action
  // columns (zeros for the state's).
  constexpr double kEps = 1e-10;
  const double scale = 2.0 / (static_cast<double>(n - 1) * static_cast<double>(rows));
  std::vector<double> u(static_cast<size_t>(n * act)), norm(n), total(act);
  double loss = 0;
  for (auto& c : diversity_dx_) c.assign(static_cast<size_t>(rows * cols), 0.0f);
  for (int64_t b = 0; b < rows; ++b) {
    std::fill(total.begin(), total.end(), 0.0);
    double self = 0;
    for (int k = 0; k < n; ++k) {
      const float* g = input_grad_[k].data() + b * cols + obs;
      double sq = 0;
      for (int64_t j = 0; j < act; ++j) sq += static_cast<double>(g[j]) * g[j];
      norm[k] = std::sqrt(sq);
      for (int64_t j = 0; j < act; ++j) {
        u[k * act + j] = g[j] / (norm[k] + kEps);
        total[j] += u[k * act + j];
        self += u[k * act + j] * u[k * act + j];
      }
    }
    double all = 0;
    for (int64_t j = 0; j < act; ++j) all += total[j] * total[j];
    loss += all - self;
    for (int k = 0; k < n; ++k) {
      const float* g = input_grad_[k].data() + b * cols + obs;
      float* c = diversity_dx_[k].data() + b * cols + obs;
      double gw = 0;  // g . w, w = dL/du_k
      for (int64_t j = 0; j < act; ++j) gw += g[j] * scale * (total[j] - u[k * act + j]);
      const double d = norm[k] + kEps;
      const double radial = norm[k] > 0 ? gw / (norm[k] * d) : 0.0;  // |g|'s gradient at 0 is 0
      for (int64_t j = 0; j < act; ++j) {
        const double w = scale * (total[j] - u[k * act + j]);
        c[j] = static_cast<float>((w - g[j] * radial) / d);
      }
    }
  }
  // d/dtheta_k sum_b c_kb . g_kb: the masked linear net on c, backward at the same pattern, its
  // output gradient eta per row; added to the TD gradients in one pass.
  const std::vector<float> etas(static_cast<size_t>(rows), static_cast<float>(eta));
  tasks().parallel_for(n, [&](int64_t k) {
    nn::fused::forward_masked(q_diversity_[k], tape_q_[k], diversity_dx_[k].data(), rows,
                              tape_diversity_[k]);
    nn::fused::backward(q_diversity_[k], tape_diversity_[k], etas.data(), nullptr, &tape_q_[k]);
  });
  nn::fused::axpy_range(q_flat_.grad(), diversity_grad_.data(), 0, q_flat_.size());
  return loss / (static_cast<double>(n - 1) * static_cast<double>(rows));
}

SacCore::PolicyStepResult SacCore::policy_step(const float* s, int64_t rows, double alpha,
                                               const ActorInput& input) {
  const PolicyStepResult r = actor_step(s, rows, alpha, nullptr, input);
  // Temperature: -mean log_alpha (log pi(a~|s) + target entropy), on the actor's sample.
  const auto temperature =
      losses::sac_temperature_loss(log_pi_.data(), rows, options_.target_entropy);
  scalar_adam_step(log_alpha_, alpha_optim_, temperature.d_log_alpha);
  return r;
}

double SacCore::temperature_step(const float* s, int64_t rows) {
  const int64_t act = dims_.act_dim;
  const auto eps = torch::randn({rows, act}, generator_);
  pi_.resize(static_cast<size_t>(rows * act));
  log_pi_.resize(static_cast<size_t>(rows));
  policy_.sample(s, rows, eps.data_ptr<float>(), pi_.data(), log_pi_.data());
  const auto temperature =
      losses::sac_temperature_loss(log_pi_.data(), rows, options_.target_entropy);
  scalar_adam_step(log_alpha_, alpha_optim_, temperature.d_log_alpha);
  return temperature.log_pi_mean;
}

SacCore::PolicyStepResult SacCore::actor_step(const float* s, int64_t rows, double alpha,
                                              const GaussianTerm* term, const ActorInput& input) {
  STITCH_CHECK(term == nullptr || input.x == nullptr,
               "a Gaussian term needs an actor that reads the state alone");
  const int64_t obs = dims_.obs_dim, act = dims_.act_dim;
  const auto n = static_cast<size_t>(rows);
  const auto eps = torch::randn({rows, act}, generator_);  // read by policy_.backward
  // With a term: the actor runs on [s; term states], the term's rows with eps 0.
  const int64_t all = rows + (term != nullptr ? term->rows : 0);
  const auto total = static_cast<size_t>(all);
  const float* states = input.x != nullptr ? input.x : s;
  const float* noise = eps.data_ptr<float>();
  if (term != nullptr) {
    term_states_.resize(total * static_cast<size_t>(obs));
    std::copy_n(s, n * static_cast<size_t>(obs), term_states_.begin());
    std::copy_n(term->states, static_cast<size_t>(term->rows * obs),
                term_states_.begin() + static_cast<std::ptrdiff_t>(n * obs));
    term_eps_.assign(total * static_cast<size_t>(act), 0.0f);
    std::copy_n(noise, n * static_cast<size_t>(act), term_eps_.begin());
    states = term_states_.data();
    noise = term_eps_.data();
  }
  pi_.resize(total * static_cast<size_t>(act));
  log_pi_.resize(total);
  policy_.sample(states, all, noise, pi_.data(), log_pi_.data());

  // Actor: Q_k(s, a~), the loss, back through each (fixed) critic to a~, then the policy.
  dlog_pi_.assign(total, 0.0f);
  double actor_loss = 0;
  const float* da =
      frozen_q_action_gradient(s, pi_.data(), rows, [&](const float* const* q, float* const* dq) {
        actor_loss = losses::min_q_actor_loss(q, critics(), log_pi_.data(), rows, alpha, dq,
                                              dlog_pi_.data());
        if (input.q_scale == nullptr) return;
        double shift = 0;  // the loss's min Q term scaled: only the smallest member has a gradient
        for (int64_t i = 0; i < rows; ++i) {
          for (int k = 0; k < critics(); ++k) {
            if (dq[k][i] == 0.0f) continue;
            shift += (1.0 - static_cast<double>(input.q_scale[i])) * q[k][i];
            dq[k][i] *= input.q_scale[i];
          }
        }
        actor_loss += shift / static_cast<double>(rows);
      });
  dpi_.assign(total * static_cast<size_t>(act), 0.0f);
  std::copy_n(da, n * static_cast<size_t>(act), dpi_.begin());
  double term_loss = 0;
  if (term != nullptr) {
    d_mean_.assign(total * static_cast<size_t>(act), 0.0f);
    d_log_std_.assign(total * static_cast<size_t>(act), 0.0f);
    term_loss =
        term->loss(policy_.mean(), policy_.log_std(), all, d_mean_.data(), d_log_std_.data());
    policy_.backward(dpi_.data(), dlog_pi_.data(), d_mean_.data(), d_log_std_.data());
  } else {
    policy_.backward(dpi_.data(), dlog_pi_.data());
  }
  if (hook_.flat) hook_.flat(actor_flat_.grad(), actor_flat_.size());
  actor_adam_->step(actor_flat_);
  double log_pi_mean = 0;
  for (int64_t i = 0; i < rows; ++i) log_pi_mean += log_pi_[i];
  return {.actor_loss = actor_loss,
          .log_pi_mean = log_pi_mean / static_cast<double>(rows),
          .term_loss = term_loss};
}

const float* SacCore::frozen_q_action_gradient(const float* s, const float* a, int64_t rows,
                                               const FrozenQLoss& loss) {
  const int64_t obs = dims_.obs_dim, act = dims_.act_dim, cols = obs + act;
  const auto n = static_cast<size_t>(rows);
  x_.resize(n * static_cast<size_t>(cols));
  nn::fused::concat_columns(s, obs, a, act, rows, x_.data());
  const int members = critics();
  tasks().parallel_for(members, [&](int64_t k) {
    nn::fused::forward(q_frozen_[k], x_.data(), rows, tape_frozen_[k]);
  });
  for (int k = 0; k < members; ++k) {
    dq_[k].resize(n);
    q_out_[k] = tape_frozen_[k].output();
    dq_out_[k] = dq_[k].data();
  }
  loss(q_out_.data(), dq_out_.data());
  for (auto& v : dx_) v.resize(n * static_cast<size_t>(cols));
  tasks().parallel_for(members, [&](int64_t k) {
    nn::fused::backward(q_frozen_[k], tape_frozen_[k], dq_[k].data(), dx_[k].data());
  });
  da_.assign(n * static_cast<size_t>(act), 0.0f);
  for (int k = 0; k < members; ++k) {  // in member order: the same sum for any thread count
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < act; ++j) da_[i * act + j] += dx_[k][i * cols + obs + j];
    }
  }
  return da_.data();
}

void SacCore::scalar_adam_step(torch::Tensor& p, torch::optim::Adam& optim, double g) {
  if (hook_.scalar) g = hook_.scalar(g);
  p.mutable_grad() = torch::full({}, g);
  optim.step();
}

void SacCore::load(torch::serialize::InputArchive& archive) {
  Algorithm::load(archive);
  // torch's Adam restores its learning rate with its state: the config's wins (a checkpoint of
  // another algorithm, adopted for fine-tuning, has its own).
  for (auto& group : alpha_optim_.param_groups()) {
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(options_.alpha_lr);
  }
  for (auto* f : {&actor_flat_, &q_flat_, &q_target_flat_}) f->rebind();
}

torch::Tensor SacCore::act(const torch::Tensor& obs, bool deterministic) {
  torch::NoGradGuard no_grad;
  return actor_->sample(obs, deterministic, &generator_).first;
}

std::vector<std::pair<std::string, torch::nn::Module*>> SacCore::modules() {
  return {{"actor", actor_.get()},           {"q", q_.get()},
          {"q_target", q_target_.get()},     {"scalars", scalars_.get()},
          {"actor_adam", actor_adam_.get()}, {"q_adam", q_adam_.get()}};
}

std::vector<std::pair<torch::Tensor, torch::Tensor>> SacCore::policy_layers() {
  return actor_->action_layers();
}

std::vector<std::pair<std::string, torch::optim::Optimizer*>> SacCore::optimizers() {
  return {{"alpha", &alpha_optim_}};
}

}  // namespace stitch
