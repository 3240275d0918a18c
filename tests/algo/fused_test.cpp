// The fused training path (nn/fused_mlp.h) against libtorch's autograd: every gradient, Adam,
// and whole IQL / TD3+BC updates compared with the same updates written with torch ops.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <numbers>
#include <optional>
#include <sstream>

#include "algo/algorithm.h"
#include "core/config.h"
#include "core/error.h"
#include "core/runtime.h"
#include "nn/nn.h"

namespace stitch {
namespace {

void expect_close(const torch::Tensor& a, const torch::Tensor& b, double tol,
                  const std::string& what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  const double err = (a - b).abs().max().item<double>();
  const double scale = std::max(1.0, b.abs().max().item<double>());
  EXPECT_LE(err, tol * scale) << what << ": max abs difference " << err;
}

torch::Tensor from(const float* p, std::vector<int64_t> sizes) {
  return torch::from_blob(const_cast<float*>(p), sizes, torch::kFloat32).clone();
}

TEST(Fused, MlpForwardAndBackwardMatchAutograd) {
  torch::manual_seed(3);
  for (int64_t out : {1, 3}) {
    nn::Mlp mlp(5, out, nn::MlpOptions{.hidden = {7, 9}});
    nn::FlatParameters flat(*mlp);
    const auto net = nn::fused_mlp(mlp->relu_linear_layers(), flat, flat.grad());
    const auto x = torch::randn({6, 5}, torch::requires_grad());
    const auto dy = torch::randn({6, out});
    nn::fused::Tape tape;
    nn::fused::forward(net, x.data_ptr<float>(), 6, tape);
    std::vector<float> dx(6 * 5);
    nn::fused::backward(net, tape, dy.data_ptr<float>(), dx.data());

    const auto y = mlp->forward(x);
    expect_close(from(tape.output(), {6, out}), y.detach(), 1e-6, "output");
    (y * dy).sum().backward();
    expect_close(from(dx.data(), {6, 5}), x.grad(), 1e-5, "dx");
    const auto grads = from(flat.grad(), {flat.size()});
    int64_t offset = 0;
    for (const auto& p : mlp->parameters()) {  // parameters are views of the buffer, in order
      expect_close(grads.narrow(0, offset, p.numel()).view(p.sizes()), p.grad(), 1e-5,
                   "parameter gradient");
      offset += p.numel();
    }
  }
}

// Every member of `ens` (input width 4) on the fused path against autograd: output, dx and
// every parameter's gradient; returns x and dy for further checks.
std::pair<torch::Tensor, torch::Tensor> expect_members_match_autograd(nn::EnsembleMlpImpl& ens,
                                                                      nn::FlatParameters& flat,
                                                                      int64_t rows) {
  const auto x = torch::randn({rows, 4}, torch::requires_grad());
  const auto dy = torch::randn({rows, 1});
  for (int64_t k = 0; k < ens.ensemble_size(); ++k) {
    const auto net = nn::fused_member(ens, k, flat, flat.grad());
    nn::fused::Tape tape;
    nn::fused::forward(net, x.data_ptr<float>(), rows, tape);
    std::vector<float> dx(rows * 4);
    std::fill(flat.grad(), flat.grad() + flat.size(), 0.0f);
    nn::fused::backward(net, tape, dy.data_ptr<float>(), dx.data());
    ens.zero_grad();
    if (x.grad().defined()) x.grad().zero_();
    const auto y = ens.forward_member(x, k);
    expect_close(from(tape.output(), {rows, 1}), y.detach(), 1e-5, "member output");
    expect_close(y.detach(), ens.forward(x)[k].detach(), 1e-5, "forward_member vs forward");
    (y * dy).sum().backward();
    expect_close(from(dx.data(), {rows, 4}), x.grad(), 1e-5, "member dx");
    const auto grads = from(flat.grad(), {flat.size()});
    int64_t offset = 0;
    for (const auto& p : ens.parameters()) {
      expect_close(grads.narrow(0, offset, p.numel()).view(p.sizes()), p.grad(), 1e-5,
                   "member gradient");
      offset += p.numel();
    }
  }
  return {x, dy};
}

TEST(Fused, EnsembleMemberMatchesAutogradAndFrozenLayersSkipWeights) {
  torch::manual_seed(4);
  nn::EnsembleMlp ens(2, 4, 1, std::vector<int64_t>{8, 8});
  nn::FlatParameters flat(*ens);
  const auto [x, dy] = expect_members_match_autograd(*ens, flat, 5);
  // Without gradient slots only dx is computed: the buffer stays untouched.
  std::fill(flat.grad(), flat.grad() + flat.size(), 7.0f);
  const auto frozen = nn::fused_member(*ens, 0, flat, nullptr);
  nn::fused::Tape tape;
  nn::fused::forward(frozen, x.data_ptr<float>(), 5, tape);
  std::vector<float> dx(5 * 4);
  nn::fused::backward(frozen, tape, dy.data_ptr<float>(), dx.data());
  for (int64_t i = 0; i < flat.size(); ++i) ASSERT_EQ(flat.grad()[i], 7.0f);
}

// Members with LayerNorm after each hidden ReLU (ReBRAC's critics), LayerNorm's scale and shift
// included, at scales and shifts away from their initial 1 and 0.
TEST(Fused, EnsembleMemberWithLayerNormMatchesAutograd) {
  torch::manual_seed(14);
  nn::EnsembleMlp ens(3, 4, 1, std::vector<int64_t>{8, 6, 5}, /*layer_norm=*/true, 1e-6);
  {
    torch::NoGradGuard no_grad;
    for (const auto& [scale, shift] : ens->norm_layers()) {
      scale.uniform_(0.5, 1.5);
      shift.uniform_(-0.3, 0.3);
    }
  }
  nn::FlatParameters flat(*ens);
  expect_members_match_autograd(*ens, flat, 7);
}

// Members with SiLU hidden layers (the Swish of MBPO-style dynamics ensembles).
TEST(Fused, EnsembleMemberWithSiluMatchesAutograd) {
  torch::manual_seed(24);
  nn::EnsembleMlp ens(3, 4, 1, std::vector<int64_t>{8, 6, 5}, false, 1e-5, nn::Activation::kSilu);
  nn::FlatParameters flat(*ens);
  expect_members_match_autograd(*ens, flat, 7);
  // The module's forward is x sigmoid(x) after each hidden layer, written out for member 1.
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({7, 4});
  auto h = x;
  const auto layers = ens->linear_layers();
  for (size_t l = 0; l < layers.size(); ++l) {
    h = torch::matmul(h, layers[l].first[1]) + layers[l].second[1];
    if (l + 1 < layers.size()) h = h * torch::sigmoid(h);
  }
  expect_close(ens->forward(x)[1], h, 1e-5, "SiLU member");
}

TEST(Fused, AdamMatchesTorchOptimAdam) {
  torch::manual_seed(5);
  auto p = torch::randn({37}, torch::requires_grad());
  auto mine = p.detach().clone();
  std::vector<float> m(37, 0.0f), v(37, 0.0f);
  torch::optim::Adam adam({p}, torch::optim::AdamOptions(1e-2));
  for (int step = 1; step <= 5; ++step) {
    const auto g = torch::randn({37});
    p.mutable_grad() = g.clone();
    adam.step();
    nn::fused::adam_step(mine.data_ptr<float>(), g.contiguous().data_ptr<float>(), m.data(),
                         v.data(), 37, step, {.lr = 1e-2f});
    expect_close(mine, p.detach(), 1e-6, "Adam step " + std::to_string(step));
  }
}

TEST(Fused, PolyakAndConcat) {
  std::vector<float> t = {1, 2}, s = {3, 6};
  nn::fused::polyak(t.data(), s.data(), 2, 0.25f);
  EXPECT_FLOAT_EQ(t[0], 1.5f);
  EXPECT_FLOAT_EQ(t[1], 3.0f);
  const std::vector<float> x = {1, 2, 3, 4}, y = {9, 8};
  std::vector<float> d(6);
  nn::fused::concat_columns(x.data(), 2, y.data(), 1, 2, d.data());
  EXPECT_EQ(d, (std::vector<float>{1, 2, 9, 3, 4, 8}));
}

TEST(Fused, FlatParametersSurviveACheckpointRoundTrip) {
  torch::manual_seed(6);
  nn::Mlp a(3, 2, nn::MlpOptions{.hidden = {4}}), b(3, 2, nn::MlpOptions{.hidden = {4}});
  nn::FlatParameters fa(*a), fb(*b);
  torch::serialize::OutputArchive out;
  a->save(out);
  std::ostringstream bytes;
  out.save_to(bytes);
  torch::serialize::InputArchive in;
  std::istringstream read(bytes.str());
  in.load_from(read);
  float* before = fb.data();
  b->load(in);
  fb.rebind();
  EXPECT_EQ(fb.data(), before);
  for (const auto& p : b->parameters()) {
    const auto offset = p.data_ptr<float>() - fb.data();
    EXPECT_TRUE(offset >= 0 && offset < fb.size()) << "a parameter left the flat buffer";
  }
  for (int64_t i = 0; i < fa.size(); ++i) ASSERT_EQ(fa.data()[i], fb.data()[i]);
}

// ---- whole updates against the same updates in torch ops ---------------------------------

// The losses in torch ops, for autograd (the fused updates' own are algo/losses.h). Shapes [B]
// unless noted.
namespace reference {

// r + discount * (1 - terminal) * next_value, not differentiated.
torch::Tensor td_target(const torch::Tensor& rewards, const torch::Tensor& discounts,
                        const torch::Tensor& terminals, const torch::Tensor& next_value) {
  return (rewards + discounts * (1.0 - terminals) * next_value).detach();
}

// IQL's expectile regression, mean(|tau - 1(u < 0)| * u^2), u = target - prediction.
torch::Tensor expectile_loss(const torch::Tensor& u, double tau) {
  const auto weight = torch::where(u < 0, torch::full_like(u, 1.0 - tau), torch::full_like(u, tau));
  return (weight * u * u).mean();
}

// IQL's advantage weights, exp(temperature * advantage) clipped at max_weight.
torch::Tensor awr_weights(const torch::Tensor& advantage, double temperature, double max_weight) {
  return torch::exp(temperature * advantage).clamp_max(max_weight);
}

// TD3+BC's actor loss, -lambda * mean(q) + mean((pi - a)^2), lambda = alpha / mean|q| (not
// differentiated); policy_actions, dataset_actions [B, act_dim].
torch::Tensor td3_bc_actor_loss(const torch::Tensor& q, const torch::Tensor& policy_actions,
                                const torch::Tensor& dataset_actions, double alpha) {
  const auto lambda = alpha / q.abs().mean().detach();
  return -lambda * q.mean() + (policy_actions - dataset_actions).pow(2).mean();
}

// CQL(H)'s conservative term: mean over the batch of logsumexp over the 3N sampled actions of
// [Q - log U, Q - log pi(.|s), Q - log pi(.|s')] minus Q(s, a_data). q_* and log_pi_* [B, N].
torch::Tensor cql_conservative_term(const torch::Tensor& q_random, const torch::Tensor& q_policy,
                                    const torch::Tensor& log_pi_policy,
                                    const torch::Tensor& q_next_policy,
                                    const torch::Tensor& log_pi_next_policy,
                                    const torch::Tensor& q_data, int64_t act_dim,
                                    double max_action) {
  const double log_uniform = -static_cast<double>(act_dim) * std::log(2.0 * max_action);
  const auto cat = torch::cat(
      {q_random - log_uniform, q_policy - log_pi_policy, q_next_policy - log_pi_next_policy}, 1);
  return (torch::logsumexp(cat, 1) - q_data).mean();
}

}  // namespace reference

constexpr int64_t kObs = 3, kAct = 2, kRows = 16, kHidden = 16;

TensorBatch random_batch(int64_t rows = kRows) {
  TensorBatch b;
  b.observations = torch::randn({rows, kObs});
  b.actions = torch::rand({rows, kAct}) * 1.6 - 0.8;
  b.rewards = torch::randn({rows});
  b.next_observations = torch::randn({rows, kObs});
  b.terminals = (torch::rand({rows}) < 0.2).to(torch::kFloat32);
  b.discounts = torch::full({rows}, 0.99);
  b.next_actions = torch::rand({rows, kAct}) * 1.6 - 0.8;  // ReBRAC's; the others ignore them
  b.next_action_valid = (torch::rand({rows}) < 0.7).to(torch::kFloat32);
  return b;
}

std::unique_ptr<Algorithm> make(const std::string& algo, int64_t total_steps = 100) {
  const auto& entry = AlgoRegistry::global().entry(algo);
  auto config = entry.make_config();
  ConfigFields f;
  config->describe(f);
  f.apply_override("hidden=" + std::to_string(kHidden));
  return entry.make(
      *config, {.obs_dim = kObs, .act_dim = kAct, .max_action = 0.9, .total_steps = total_steps},
      11);
}

// `algo` with its config's `overrides` (key=value) on the test's dimensions, seed 11.
std::unique_ptr<Algorithm> make(const std::string& algo,
                                const std::vector<std::string>& overrides) {
  const auto& entry = AlgoRegistry::global().entry(algo);
  auto config = entry.make_config();
  ConfigFields f;
  config->describe(f);
  for (const auto& o : overrides) f.apply_override(o);
  return entry.make(*config,
                    {.obs_dim = kObs, .act_dim = kAct, .max_action = 0.9, .total_steps = 100}, 11);
}

torch::nn::Module& module_of(Algorithm& a, const std::string& name) {
  for (auto& [n, m] : a.modules()) {
    if (n == name) return *m;
  }
  throw std::runtime_error("no module " + name);
}

void expect_same_parameters(torch::nn::Module& fused, torch::nn::Module& reference, double tol,
                            const std::string& what) {
  const auto a = fused.parameters(), b = reference.parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) expect_close(a[i].detach(), b[i].detach(), tol, what);
}

// IQL with torch ops and autograd (CORL's order: V(s') and the advantage before the V step).
// RIQL (robust): 5 Q networks, V's target the 0.25-quantile of the target Qs (torch.quantile),
// and the Huber loss on the clamped Q target, averaged over members and rows.
void iql_matches_autograd(bool robust) {
  torch::manual_seed(robust ? 18 : 7);
  auto algo = make(robust ? "riql" : "iql", 10);
  const int64_t members = robust ? 5 : 2;
  const nn::MlpOptions opts{.hidden = {kHidden, kHidden}};
  nn::GaussianPolicy actor(kObs, kAct, opts, 0.9);
  nn::EnsembleMlp q(members, kObs + kAct, 1, std::vector<int64_t>{kHidden, kHidden});
  nn::EnsembleMlp q_target(members, kObs + kAct, 1, std::vector<int64_t>{kHidden, kHidden});
  nn::Mlp value(kObs, 1, opts);
  nn::hard_update(*actor, module_of(*algo, "actor"));
  nn::hard_update(*q, module_of(*algo, "q"));
  nn::hard_update(*q_target, module_of(*algo, "q_target"));
  nn::hard_update(*value, module_of(*algo, "value"));
  torch::optim::Adam oa(actor->parameters(), torch::optim::AdamOptions(3e-4));
  torch::optim::Adam oq(q->parameters(), torch::optim::AdamOptions(3e-4));
  torch::optim::Adam ov(value->parameters(), torch::optim::AdamOptions(3e-4));
  const double delta = 1.0;
  for (int step = 0; step < 4; ++step) {
    auto b = random_batch();
    if (step == 1) b.rewards = b.rewards * 300.0;  // RIQL: targets beyond [-100, 1000], clamped
    const Metrics m = algo->update(b);
    const auto sa = torch::cat({b.observations, b.actions}, 1);
    torch::Tensor target_q, target;
    {
      torch::NoGradGuard no_grad;
      const auto qs = q_target->forward(sa).squeeze(-1);
      target_q = robust ? torch::quantile(qs, 0.25, 0) : std::get<0>(qs.min(0));
      target = reference::td_target(b.rewards, b.discounts, b.terminals,
                                    value->forward(b.next_observations).squeeze(-1));
      if (robust) target = target.clamp(-100.0, 1000.0);
    }
    const auto adv = target_q - value->forward(b.observations).squeeze(-1);
    const auto value_loss = reference::expectile_loss(adv, 0.7);
    ov.zero_grad();
    value_loss.backward();
    ov.step();
    const auto d = q->forward(sa).squeeze(-1) - target.unsqueeze(0);
    const auto q_loss =
        robust ? torch::where(d.abs() < delta, d.pow(2) / (2 * delta), d.abs() - delta / 2).mean()
               : d.pow(2).mean(1).sum();
    oq.zero_grad();
    q_loss.backward();
    oq.step();
    const auto w = reference::awr_weights(adv.detach(), 3.0, 100.0);
    const auto actor_loss = -(w * actor->log_prob(b.observations, b.actions)).mean();
    const double lr = 3e-4 * 0.5 * (1.0 + std::cos(std::numbers::pi * step / 10.0));
    for (auto& g : oa.param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);
    oa.zero_grad();
    actor_loss.backward();
    oa.step();
    nn::soft_update(*q_target, *q, 0.005);

    EXPECT_NEAR(m.at("value_loss"), value_loss.item<double>(),
                1e-5 * (1 + value_loss.item<double>()));
    EXPECT_NEAR(m.at("q_loss"), q_loss.item<double>(), 1e-5 * (1 + q_loss.item<double>()));
    EXPECT_NEAR(m.at("actor_loss"), actor_loss.item<double>(),
                1e-4 * (1 + std::abs(actor_loss.item<double>())));
    expect_same_parameters(module_of(*algo, "value"), *value, 1e-5, "value");
    expect_same_parameters(module_of(*algo, "q"), *q, 1e-5, "q");
    expect_same_parameters(module_of(*algo, "q_target"), *q_target, 1e-5, "q_target");
    expect_same_parameters(module_of(*algo, "actor"), *actor, 1e-5, "actor");
  }
}

TEST(Fused, IqlUpdateMatchesAutograd) { iql_matches_autograd(false); }
TEST(Fused, RiqlUpdateMatchesAutograd) { iql_matches_autograd(true); }

// TD3+BC with torch ops and autograd; the target noise comes from a generator seeded as the
// algorithm's. ReBRAC (CORL's rebrac.py): LayerNorm critics of 3 hidden layers, the critic's
// BC penalty on the dataset's next actions, the actor's BC term weighted by actor_bc_coef and its
// Q term (the min of both critics) divided by mean|min Q|, actor steps on updates 1, 3, ..., and
// the target actor moved towards the actor from before its step.
void td3_bc_matches_autograd(bool rebrac) {
  torch::manual_seed(rebrac ? 16 : 8);
  auto algo = make(rebrac ? "rebrac" : "td3_bc");
  const std::vector<int64_t> widths(rebrac ? 3 : 2, kHidden);
  const nn::MlpOptions opts{.hidden = widths};
  const double max_a = 0.9, lr = rebrac ? 1e-3 : 3e-4;
  nn::DeterministicPolicy actor(kObs, kAct, opts, max_a), actor_target(kObs, kAct, opts, max_a);
  nn::EnsembleMlp critic(2, kObs + kAct, 1, widths, rebrac, 1e-6);
  nn::EnsembleMlp critic_target(2, kObs + kAct, 1, widths, rebrac, 1e-6);
  nn::hard_update(*actor, module_of(*algo, "actor"));
  nn::hard_update(*actor_target, module_of(*algo, "actor_target"));
  nn::hard_update(*critic, module_of(*algo, "critic"));
  nn::hard_update(*critic_target, module_of(*algo, "critic_target"));
  torch::optim::Adam oa(actor->parameters(), torch::optim::AdamOptions(lr));
  torch::optim::Adam oc(critic->parameters(), torch::optim::AdamOptions(lr));
  auto generator = at::detail::createCPUGenerator(11);
  for (int step = 0; step < 5; ++step) {
    const auto b = random_batch();
    const Metrics m = algo->update(b);
    torch::Tensor target;
    {
      torch::NoGradGuard no_grad;
      const auto noise = (torch::randn(b.actions.sizes(), generator) * 0.2 * max_a)
                             .clamp(-0.5 * max_a, 0.5 * max_a);
      const auto next_action =
          (actor_target->forward(b.next_observations) + noise).clamp(-max_a, max_a);
      const auto next_q = critic_target->forward(torch::cat({b.next_observations, next_action}, 1));
      auto next_value = std::get<0>(next_q.min(0)).squeeze(-1);
      if (rebrac)  // critic_bc_coef 1
        next_value -= (next_action - b.next_actions).pow(2).sum(1) * b.next_action_valid;
      target = reference::td_target(b.rewards, b.discounts, b.terminals, next_value);
    }
    const auto qs = critic->forward(torch::cat({b.observations, b.actions}, 1)).squeeze(-1);
    const auto critic_loss = (qs - target.unsqueeze(0)).pow(2).mean(1).sum();
    oc.zero_grad();
    critic_loss.backward();
    oc.step();
    EXPECT_NEAR(m.at("critic_loss"), critic_loss.item<double>(),
                1e-5 * (1 + critic_loss.item<double>()));
    // The authors' TD3 delay moves the actor on updates 2, 4, ...; CORL's ReBRAC on 1, 3, ...
    if ((step + (rebrac ? 0 : 1)) % 2 == 0) {
      const auto pi = actor->forward(b.observations);
      const auto sa = torch::cat({b.observations, pi}, 1);
      torch::Tensor actor_loss;
      if (rebrac) {  // actor_bc_coef 1
        const auto q_min = std::get<0>(critic->forward(sa).squeeze(-1).min(0));
        const auto lambda = 1.0 / q_min.abs().mean().detach();
        actor_loss = ((pi - b.actions).pow(2).sum(1) - lambda * q_min).mean();
      } else {
        const auto q_pi = critic->forward_member(sa, 0).squeeze(-1);
        actor_loss = reference::td3_bc_actor_loss(q_pi, pi, b.actions, 2.5);
      }
      oa.zero_grad();
      actor_loss.backward();
      if (rebrac) nn::soft_update(*actor_target, *actor, 0.005);  // before the actor's step
      oa.step();
      if (!rebrac) nn::soft_update(*actor_target, *actor, 0.005);
      nn::soft_update(*critic_target, *critic, 0.005);
      EXPECT_NEAR(m.at("actor_loss"), actor_loss.item<double>(),
                  1e-4 * (1 + std::abs(actor_loss.item<double>())));
    }
    expect_same_parameters(module_of(*algo, "critic"), *critic, 1e-5, "critic");
    expect_same_parameters(module_of(*algo, "actor"), *actor, 1e-5, "actor");
    expect_same_parameters(module_of(*algo, "actor_target"), *actor_target, 1e-5, "actor_target");
    expect_same_parameters(module_of(*algo, "critic_target"), *critic_target, 1e-5,
                           "critic_target");
  }
}

TEST(Fused, Td3BcUpdateMatchesAutograd) { td3_bc_matches_autograd(false); }
TEST(Fused, RebracUpdateMatchesAutograd) { td3_bc_matches_autograd(true); }

// CORL's ReBRAC initialisation: hidden biases 0.1, last layers small, LayerNorm at 1 and 0.
TEST(Fused, RebracStartsFromCorlsInitialisation) {
  torch::manual_seed(17);
  auto algo = make("rebrac");
  auto& critic = dynamic_cast<nn::EnsembleMlpImpl&>(module_of(*algo, "critic"));
  const auto layers = critic.linear_layers();
  ASSERT_EQ(layers.size(), 4u);  // 3 hidden layers and the output
  for (size_t l = 0; l + 1 < layers.size(); ++l)
    EXPECT_TRUE(layers[l].second.eq(0.1f).all().item<bool>());
  EXPECT_LE(layers.back().first.abs().max().item<float>(), 3e-3f);
  ASSERT_EQ(critic.norm_layers().size(), 3u);
  EXPECT_TRUE(critic.norm_layers()[0].first.eq(1.0f).all().item<bool>());
  const auto actor = module_of(*algo, "actor").parameters();
  EXPECT_LE(actor.back().abs().max().item<float>(), 1e-3f);
}

void tanh_gaussian_matches_autograd(bool log_std_affine) {
  torch::manual_seed(12);
  nn::TanhGaussianPolicy policy(4, 3, nn::MlpOptions{.hidden = {8, 8}}, 0.7, -2.0, 0.5,
                                log_std_affine);
  if (log_std_affine) {  // away from 1 and -1, and some log_stds clamped at either bound
    torch::NoGradGuard no_grad;
    policy->log_std_scale().fill_(3.0);
    policy->log_std_offset().fill_(-0.4);
  }
  nn::FlatParameters flat(*policy);
  nn::FusedTanhGaussian fused(*policy, flat, flat.grad());
  const auto obs = torch::randn({5, 4});
  auto gen_a = at::detail::createCPUGenerator(3), gen_b = at::detail::createCPUGenerator(3);
  const auto eps = torch::randn({5, 3}, gen_a);
  std::vector<float> action(15), logp(5);
  fused.sample(obs.data_ptr<float>(), 5, eps.data_ptr<float>(), action.data(), logp.data());
  auto [a, lp] = policy->sample(obs, false, &gen_b);  // draws the same eps
  expect_close(from(action.data(), {5, 3}), a.detach(), 1e-6, "action");
  expect_close(from(logp.data(), {5}), lp.detach(), 1e-5, "log_prob");
  const auto da = torch::randn({5, 3}), dl = torch::randn({5});
  fused.backward(da.data_ptr<float>(), dl.data_ptr<float>());
  ((a * da).sum() + (lp * dl).sum()).backward();
  const auto grads = from(flat.grad(), {flat.size()});
  int64_t offset = 0;
  for (const auto& p : policy->parameters()) {
    expect_close(grads.narrow(0, offset, p.numel()).view(p.sizes()), p.grad(), 1e-4,
                 "policy gradient");
    offset += p.numel();
  }
}

TEST(Fused, TanhGaussianSampleAndBackwardMatchAutograd) { tanh_gaussian_matches_autograd(false); }
TEST(Fused, TanhGaussianWithLearnedLogStdScaleAndOffsetMatchesAutograd) {
  tanh_gaussian_matches_autograd(true);
}

// CORL's critic initialisation: each member's weights orthogonal with the layer's gain (rows
// orthonormal times the gain where out <= in, columns where out > in), biases 0.
TEST(Fused, OrthogonalInitGivesOrthogonalMembers) {
  torch::manual_seed(3);
  nn::EnsembleMlp net(2, 5, 1, std::vector<int64_t>{8, 8});
  nn::orthogonal_init(*net, std::sqrt(2.0), 1e-2);
  const auto layers = net->linear_layers();
  for (size_t l = 0; l < layers.size(); ++l) {
    const double gain = l + 1 == layers.size() ? 1e-2 : std::sqrt(2.0);
    for (int64_t k = 0; k < 2; ++k) {
      const auto w = layers[l].first[k].t();  // [out, in]
      const auto gram = w.size(0) <= w.size(1) ? w.matmul(w.t()) : w.t().matmul(w);
      expect_close(gram, gain * gain * torch::eye(gram.size(0)), 1e-5, "W W^T");
    }
    EXPECT_EQ(layers[l].second.abs().max().item<float>(), 0.0f);
  }
}

// The SAC core (algo/sac_core.h) with torch ops and autograd, for the CQL and SAC references:
// copies of an algorithm's actor and critics, the temperature, their optimisers, and a generator
// seeded as the algorithm's, drawn from in the same order.
struct SacCoreReference {
  static constexpr double kMaxAction = 0.9;
  SacCoreReference(Algorithm& algo, double actor_lr, double alpha_lr = 3e-4,
                   bool log_std_affine = false, int members = 2, double log_std_min = -20.0,
                   int64_t actor_extra_inputs = 0)
      : actor(kObs + actor_extra_inputs, kAct, nn::MlpOptions{.hidden = {kHidden, kHidden}},
              kMaxAction, log_std_min, 2.0, log_std_affine),
        q(members, kObs + kAct, 1, std::vector<int64_t>{kHidden, kHidden}),
        q_target(members, kObs + kAct, 1, std::vector<int64_t>{kHidden, kHidden}),
        actor_optim(actor->parameters(), torch::optim::AdamOptions(actor_lr)),
        q_optim(q->parameters(), torch::optim::AdamOptions(3e-4)),
        alpha_optim(std::vector<torch::Tensor>{log_alpha}, torch::optim::AdamOptions(alpha_lr)) {
    nn::hard_update(*actor, module_of(algo, "actor"));
    nn::hard_update(*q, module_of(algo, "q"));
    nn::hard_update(*q_target, module_of(algo, "q_target"));
  }

  // Q_k(o, a) of both members: [2, B].
  static torch::Tensor both(nn::EnsembleMlp& net, const torch::Tensor& o, const torch::Tensor& a) {
    return net->forward(torch::cat({o, a}, 1)).squeeze(-1);
  }
  // r + discount (1 - terminal) (min_k Q'_k(s', a') [- alpha log pi(a'|s')]), a' ~ pi(s').
  torch::Tensor td_target(const TensorBatch& b, std::optional<torch::Tensor> alpha) {
    torch::NoGradGuard no_grad;
    auto [next_action, next_log_pi] = actor->sample(b.next_observations, false, &gen);
    auto next_value = std::get<0>(both(q_target, b.next_observations, next_action).min(0));
    if (alpha) next_value = next_value - *alpha * next_log_pi;
    return reference::td_target(b.rewards, b.discounts, b.terminals, next_value);
  }
  // sum_k mean (Q_k - y)^2 of q_data [2, B].
  static torch::Tensor td_loss(const torch::Tensor& q_data, const torch::Tensor& target) {
    return (q_data - target.unsqueeze(0)).pow(2).mean(1).sum();
  }
  // The critics' step on `loss`, then the targets' Polyak update.
  void critic_step(const torch::Tensor& loss) {
    q_optim.zero_grad();
    loss.backward();
    q_optim.step();
    nn::soft_update(*q_target, *q, 0.005);
  }
  // The actor's loss through the fixed critics at a~ ~ pi(s), and the temperature's on the same
  // sample, both before any step.
  std::pair<torch::Tensor, torch::Tensor> policy_losses(const torch::Tensor& obs,
                                                        const torch::Tensor& alpha) {
    auto [pi, log_pi] = actor->sample(obs, false, &gen);
    const nn::FrozenParameters frozen(*q);
    const auto actor_loss = (alpha * log_pi - std::get<0>(both(q, obs, pi).min(0))).mean();
    const auto alpha_loss = -(log_alpha * (log_pi.detach() + static_cast<double>(-kAct))).mean();
    return {actor_loss, alpha_loss};
  }
  // The temperature's step, then the actor's.
  void policy_steps(const torch::Tensor& actor_loss, const torch::Tensor& alpha_loss) {
    alpha_optim.zero_grad();
    alpha_loss.backward();
    alpha_optim.step();
    actor_optim.zero_grad();
    actor_loss.backward();
    actor_optim.step();
  }
  // The actor's step through the fixed critics at a~ ~ pi(s), then the temperature's on the same
  // sample. Returns the actor's loss.
  torch::Tensor policy_step(const torch::Tensor& obs, const torch::Tensor& alpha) {
    auto [actor_loss, alpha_loss] = policy_losses(obs, alpha);
    policy_steps(actor_loss, alpha_loss);
    return actor_loss;
  }
  void expect_matches(Algorithm& algo) {
    expect_same_parameters(module_of(algo, "actor"), *actor, 1e-5, "actor");
    expect_same_parameters(module_of(algo, "q"), *q, 1e-5, "q");
    expect_same_parameters(module_of(algo, "q_target"), *q_target, 1e-5, "q_target");
    EXPECT_NEAR(module_of(algo, "scalars").parameters()[0].item<double>(), log_alpha.item<double>(),
                1e-6);
  }

  nn::TanhGaussianPolicy actor;
  nn::EnsembleMlp q, q_target;
  torch::Tensor log_alpha = torch::zeros({}, torch::requires_grad());
  torch::optim::Adam actor_optim, q_optim, alpha_optim;
  torch::Generator gen = at::detail::createCPUGenerator(11);
};

// CQL's conservative term of each of the two critics (reference::cql_conservative_term) from
// the 3 N sampled actions per state (uniform, pi(s), pi(s') scored at s) and the data's Q.
std::array<torch::Tensor, 2> cql_gaps(SacCoreReference& sac, const torch::Tensor& obs_rep,
                                      const torch::Tensor& random_actions,
                                      const torch::Tensor& pi_s, const torch::Tensor& logp_s,
                                      const torch::Tensor& pi_next, const torch::Tensor& logp_next,
                                      const torch::Tensor& q_data, int64_t n) {
  const auto q_rand = SacCoreReference::both(sac.q, obs_rep, random_actions).view({2, kRows, n});
  const auto q_pi_s = SacCoreReference::both(sac.q, obs_rep, pi_s).view({2, kRows, n});
  const auto q_pi_next = SacCoreReference::both(sac.q, obs_rep, pi_next).view({2, kRows, n});
  std::array<torch::Tensor, 2> gap;
  for (int64_t i = 0; i < 2; ++i) {
    gap[i] = reference::cql_conservative_term(q_rand[i], q_pi_s[i], logp_s.view({kRows, n}),
                                              q_pi_next[i], logp_next.view({kRows, n}), q_data[i],
                                              kAct, SacCoreReference::kMaxAction);
  }
  return gap;
}

// CQL with torch ops and autograd in CORL's order (algorithms/offline/cql.py, train()): every
// loss from the parameters before the step, then the steps of alpha' (Lagrange), alpha, the
// actor and the critics; the same draws from a generator seeded as the algorithm's. A fused
// update that took a step before computing a later loss (e.g. the TD target from the updated
// actor) fails this test.
void cql_matches_autograd(bool lagrange) {
  torch::manual_seed(13);
  const auto& entry = AlgoRegistry::global().entry("cql");
  auto config = entry.make_config();
  ConfigFields f;
  config->describe(f);
  f.apply_override("hidden=" + std::to_string(kHidden));
  f.apply_override("layers=2");
  f.apply_override("num_actions=3");
  if (lagrange) f.apply_override("lagrange=true");
  auto algo = entry.make(
      *config, {.obs_dim = kObs, .act_dim = kAct, .max_action = 0.9, .total_steps = 100}, 11);
  const double max_a = SacCoreReference::kMaxAction;
  const double w = 10.0, target_gap = 10.0;  // CORL's cql_alpha; the Lagrange target
  const int64_t n = 3;
  // CORL: policy lr 3e-5 for the actor and the temperature, Q lr 3e-4 for the critics and alpha'.
  SacCoreReference sac(*algo, 3e-5, 3e-5, /*log_std_affine=*/true);
  auto log_alpha_prime = torch::ones({}, torch::requires_grad());  // CORL's Scalar(1.0)
  torch::optim::Adam oap(std::vector<torch::Tensor>{log_alpha_prime},
                         torch::optim::AdamOptions(3e-4));
  auto& gen = sac.gen;
  for (int step = 0; step < 3; ++step) {
    const auto b = random_batch();
    const Metrics m = algo->update(b);
    const auto alpha = sac.log_alpha.exp().detach();
    const auto target = sac.td_target(b, std::nullopt);  // no entropy term
    const auto obs_rep = b.observations.repeat_interleave(n, 0),
               next_rep = b.next_observations.repeat_interleave(n, 0);
    const auto random_actions = torch::rand({kRows * n, kAct}, gen) * (2.0 * max_a) - max_a;
    torch::Tensor pi_s, logp_s, pi_next, logp_next;
    {
      torch::NoGradGuard no_grad;
      std::tie(pi_s, logp_s) = sac.actor->sample(obs_rep, false, &gen);
      std::tie(pi_next, logp_next) = sac.actor->sample(next_rep, false, &gen);
    }
    auto [actor_loss, alpha_loss] = sac.policy_losses(b.observations, alpha);
    const auto q_data = SacCoreReference::both(sac.q, b.observations, b.actions);
    const auto td_loss = SacCoreReference::td_loss(q_data, target);
    const auto gap =
        cql_gaps(sac, obs_rep, random_actions, pi_s, logp_s, pi_next, logp_next, q_data, n);
    torch::Tensor conservative = w * (gap[0] + gap[1]);
    if (lagrange) {
      // CORL: 0.5 * (-alpha' w (gap_1 - target) - alpha' w (gap_2 - target)), the gaps fixed.
      const auto alpha_prime = log_alpha_prime.exp().clamp(0.0, 1e6);
      conservative = alpha_prime.detach() * w * (gap[0] + gap[1] - 2.0 * target_gap);
      const auto alpha_prime_loss = 0.5 * (-alpha_prime * w * (gap[0].detach() - target_gap) -
                                           alpha_prime * w * (gap[1].detach() - target_gap));
      oap.zero_grad();
      alpha_prime_loss.backward();
      oap.step();
    }
    sac.policy_steps(actor_loss, alpha_loss);
    sac.critic_step(td_loss + conservative);

    const double gap_sum = (gap[0] + gap[1]).item<double>();
    EXPECT_NEAR(m.at("td_loss"), td_loss.item<double>(), 1e-5 * (1 + td_loss.item<double>()));
    EXPECT_NEAR(m.at("cql_gap"), gap_sum / 2, 1e-5 * (1 + std::abs(gap_sum)));
    EXPECT_NEAR(m.at("actor_loss"), actor_loss.item<double>(),
                1e-5 * (1 + std::abs(actor_loss.item<double>())));
    sac.expect_matches(*algo);
    auto scalars = module_of(*algo, "scalars").parameters();
    ASSERT_EQ(scalars.size(), 2u);
    EXPECT_NEAR(scalars[1].item<double>(), log_alpha_prime.item<double>(), 1e-6);
  }
}

TEST(Fused, CqlUpdateMatchesAutograd) { cql_matches_autograd(false); }
TEST(Fused, CqlLagrangeUpdateMatchesAutograd) { cql_matches_autograd(true); }

// FamO2O with torch ops and autograd (the authors' family_conservative_sac.py: every loss from
// the parameters before the step): the balance model's k(s) and k(s') (reparameterised), the
// universal policy's training k uniform in [0.5, 1.5], the TD target and the pi(s') block at
// [s', code(k(s'))], the pi(s) block and the actor at [s, code(k)], the actor loss's Q term scaled
// by k; the balance model's loss -mean min Q(s, pi(s, code(k(s)))) through the fixed actor and
// critics; then CQL's steps. And acting: the universal policy at the balance model's deterministic
// k. The same draws in the same order.
TEST(Fused, Famo2oUpdateMatchesAutograd) {
  torch::manual_seed(23);
  auto algo = make("famo2o", {"hidden=16", "num_actions=3", "layer_norm=false"});
  const double max_a = SacCoreReference::kMaxAction, w = 1.0, lo = 0.5, hi = 1.5;
  const int64_t n = 3;
  {
    // Away from the small initial heads, so that the balance model's gradients (through the
    // actor's input) stand well above Adam's epsilon.
    torch::NoGradGuard no_grad;
    for (const char* name : {"actor", "q", "balance"}) {
      for (auto& p : module_of(*algo, name).parameters()) p.normal_(0.0, 0.5);
    }
  }
  SacCoreReference sac(*algo, 3e-4, 3e-4, /*log_std_affine=*/true, 2, -20.0, /*extra=*/6);
  nn::TanhGaussianPolicy balance(kObs, 1, nn::MlpOptions{.hidden = {kHidden, kHidden}}, 1.0, -20.0,
                                 2.0, true);
  nn::hard_update(*balance, module_of(*algo, "balance"));
  torch::optim::Adam balance_optim(balance->parameters(), torch::optim::AdamOptions(3e-4));
  auto& gen = sac.gen;
  auto with_code = [](const torch::Tensor& s, const torch::Tensor& k) {  // k [B, 1]
    std::vector<torch::Tensor> parts = {s};
    for (const double scale : {1.0, std::pow(10000.0, 1.0 / 3), std::pow(10000.0, 2.0 / 3)}) {
      parts.push_back((k / scale).sin());
      parts.push_back((k / scale).cos());
    }
    return torch::cat(parts, 1);
  };
  auto coefficient = [&](const torch::Tensor& a) { return lo + (a + 1.0) / 2.0 * (hi - lo); };
  for (int step = 0; step < 3; ++step) {
    const auto b = random_batch();
    const auto& s = b.observations;
    const Metrics m = algo->update(b);
    const auto alpha = sac.log_alpha.exp().detach();
    const auto k_s = coefficient(balance->sample(s, false, &gen).first);  // [B, 1], with graph
    torch::Tensor k_next;
    {
      torch::NoGradGuard no_grad;
      k_next = coefficient(balance->sample(b.next_observations, false, &gen).first);
    }
    const auto k_train = lo + (hi - lo) * torch::rand({kRows}, gen).unsqueeze(1);
    const auto x_train = with_code(s, k_train), x_next = with_code(b.next_observations, k_next);
    torch::Tensor target;
    {
      torch::NoGradGuard no_grad;
      auto [next_action, next_log_pi] = sac.actor->sample(x_next, false, &gen);
      const auto v = std::get<0>(
          SacCoreReference::both(sac.q_target, b.next_observations, next_action).min(0));
      target = reference::td_target(b.rewards, b.discounts, b.terminals, v);
    }
    const auto obs_rep = s.repeat_interleave(n, 0);
    const auto random_actions = torch::rand({kRows * n, kAct}, gen) * (2.0 * max_a) - max_a;
    torch::Tensor pi_s, logp_s, pi_next, logp_next;
    {
      torch::NoGradGuard no_grad;
      std::tie(pi_s, logp_s) = sac.actor->sample(x_train.repeat_interleave(n, 0), false, &gen);
      std::tie(pi_next, logp_next) = sac.actor->sample(x_next.repeat_interleave(n, 0), false, &gen);
    }
    torch::Tensor balance_q;
    {
      const nn::FrozenParameters fa(*sac.actor), fq(*sac.q);
      const auto a = sac.actor->sample(with_code(s, k_s), false, &gen).first;
      balance_q = std::get<0>(SacCoreReference::both(sac.q, s, a).min(0)).mean();
      balance_optim.zero_grad();
      (-balance_q).backward();
      balance_optim.step();
    }
    torch::Tensor actor_loss, alpha_loss;
    {
      auto [pi, log_pi] = sac.actor->sample(x_train, false, &gen);
      const nn::FrozenParameters frozen(*sac.q);
      const auto min_q = std::get<0>(SacCoreReference::both(sac.q, s, pi).min(0));
      actor_loss = (alpha * log_pi - k_train.squeeze(1) * min_q).mean();
      alpha_loss = -(sac.log_alpha * (log_pi.detach() + static_cast<double>(-kAct))).mean();
    }
    const auto q_data = SacCoreReference::both(sac.q, s, b.actions);
    const auto td_loss = SacCoreReference::td_loss(q_data, target);
    const auto gap =
        cql_gaps(sac, obs_rep, random_actions, pi_s, logp_s, pi_next, logp_next, q_data, n);
    sac.policy_steps(actor_loss, alpha_loss);
    sac.critic_step(td_loss + w * (gap[0] + gap[1]));

    EXPECT_NEAR(m.at("td_loss"), td_loss.item<double>(), 1e-5 * (1 + td_loss.item<double>()));
    EXPECT_NEAR(m.at("actor_loss"), actor_loss.item<double>(),
                1e-5 * (1 + std::abs(actor_loss.item<double>())));
    EXPECT_NEAR(m.at("balance_q"), balance_q.item<double>(),
                1e-5 * (1 + std::abs(balance_q.item<double>())));
    EXPECT_NEAR(m.at("coefficient"), k_s.mean().item<double>(), 1e-5);
    sac.expect_matches(*algo);
    expect_same_parameters(module_of(*algo, "balance"), *balance, 1e-5, "balance");
  }
  // Acting: k the balance model's deterministic choice, then the universal policy.
  const auto obs = random_batch().observations;
  torch::NoGradGuard no_grad;
  const auto k = coefficient(balance->sample(obs, true).first);
  expect_close(algo->act(obs, true), sac.actor->sample(with_code(obs, k), true).first, 1e-5, "act");
  // Two networks do not fit the deployed-policy format: one line, not a wrong policy.
  try {
    algo->policy_layers();
    ADD_FAILURE() << "famo2o exported one MLP";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("famo2o: its policy is two networks"), std::string::npos);
  }
}

// SAC with torch ops and autograd, the update the fused one replaced.
TEST(Fused, SacUpdateMatchesAutograd) {
  torch::manual_seed(14);
  auto algo = make("sac");
  SacCoreReference sac(*algo, 3e-4);
  for (int step = 0; step < 3; ++step) {
    const auto b = random_batch();
    const Metrics m = algo->update(b);
    const auto alpha = sac.log_alpha.exp().detach();
    const auto target = sac.td_target(b, alpha);
    const auto q_loss =
        SacCoreReference::td_loss(SacCoreReference::both(sac.q, b.observations, b.actions), target);
    sac.critic_step(q_loss);
    const auto actor_loss = sac.policy_step(b.observations, alpha);

    EXPECT_NEAR(m.at("q_loss"), q_loss.item<double>(), 1e-5 * (1 + q_loss.item<double>()));
    EXPECT_NEAR(m.at("actor_loss"), actor_loss.item<double>(),
                1e-5 * (1 + std::abs(actor_loss.item<double>())));
    sac.expect_matches(*algo);
  }
}

// SAC-N with torch ops and autograd in CORL's order (sac_n.py, update()): the temperature on its
// own sample, the actor with the new temperature, the critics from the updated actor, Polyak.
// EDAC adds eta L_div to the critics' loss, L_div differentiated through dQ/da (create_graph).
void sac_n_matches_autograd(bool edac) {
  torch::manual_seed(16);
  const auto& entry = AlgoRegistry::global().entry(edac ? "edac" : "sac_n");
  auto config = entry.make_config();
  ConfigFields f;
  config->describe(f);
  for (const char* o : {"hidden=16", "layers=2", "critics=5"}) f.apply_override(o);
  const double eta = 2.5;
  if (edac) f.apply_override("eta=2.5");
  auto algo = entry.make(
      *config, {.obs_dim = kObs, .act_dim = kAct, .max_action = 0.9, .total_steps = 100}, 11);
  SacCoreReference sac(*algo, 3e-4, 3e-4, false, /*members=*/5, /*log_std_min=*/-5.0);
  for (int step = 0; step < 3; ++step) {
    const auto b = random_batch();
    const Metrics m = algo->update(b);
    torch::Tensor log_pi;
    {
      torch::NoGradGuard no_grad;
      log_pi = sac.actor->sample(b.observations, false, &sac.gen).second;
    }
    const auto alpha_loss = -(sac.log_alpha * (log_pi + static_cast<double>(-kAct))).mean();
    sac.alpha_optim.zero_grad();
    alpha_loss.backward();
    sac.alpha_optim.step();
    const auto alpha = sac.log_alpha.exp().detach();
    torch::Tensor actor_loss;
    {
      auto [pi, lp] = sac.actor->sample(b.observations, false, &sac.gen);
      const nn::FrozenParameters frozen(*sac.q);
      actor_loss =
          (alpha * lp - std::get<0>(SacCoreReference::both(sac.q, b.observations, pi).min(0)))
              .mean();
      sac.actor_optim.zero_grad();
      actor_loss.backward();
      sac.actor_optim.step();
    }
    const auto target = sac.td_target(b, alpha);
    const auto q_loss =
        SacCoreReference::td_loss(SacCoreReference::both(sac.q, b.observations, b.actions), target);
    torch::Tensor diversity = torch::zeros({});
    if (edac) {  // CORL's edac.py _critic_diversity_loss, in libtorch
      const int64_t n = 5;
      const auto a = b.actions.unsqueeze(0).repeat({n, 1, 1}).requires_grad_(true);
      const auto s = b.observations.unsqueeze(0).repeat({n, 1, 1});
      const auto q = sac.q->forward(torch::cat({s, a}, 2)).squeeze(-1);
      auto g = torch::autograd::grad({q.sum()}, {a}, {}, true, true)[0];
      g = g / (g.norm(2, 2, true) + 1e-10);
      const auto gb = g.transpose(0, 1);                                      // [B, N, A]
      const auto gram = gb.matmul(gb.transpose(1, 2)) * (1 - torch::eye(n));  // i != j
      diversity = gram.sum({1, 2}).mean() / static_cast<double>(n - 1);
    }
    sac.critic_step(q_loss + eta * diversity);

    EXPECT_NEAR(m.at("q_loss"), q_loss.item<double>(), 1e-5 * (1 + q_loss.item<double>()));
    EXPECT_NEAR(m.at("actor_loss"), actor_loss.item<double>(),
                1e-5 * (1 + std::abs(actor_loss.item<double>())));
    EXPECT_NEAR(m.at("alpha"), alpha.item<double>(), 1e-6);
    if (edac) {
      EXPECT_NEAR(m.at("diversity"), diversity.item<double>(), 1e-5);
    }
    sac.expect_matches(*algo);
  }
}

TEST(Fused, SacNUpdateMatchesAutograd) { sac_n_matches_autograd(false); }
TEST(Fused, EdacUpdateMatchesAutograd) { sac_n_matches_autograd(true); }

// The critics' and the actor's parameters of a small `name` (hidden 16, 2 layers, 3 critics, then
// `overrides`) after 3 updates on the same batches.
std::vector<torch::Tensor> after_three_updates(const std::string& name,
                                               const std::vector<std::string>& overrides) {
  torch::manual_seed(18);
  std::vector<std::string> o = {"hidden=16", "layers=2", "critics=3"};
  o.insert(o.end(), overrides.begin(), overrides.end());
  auto algo = make(name, o);
  torch::manual_seed(19);
  for (int step = 0; step < 3; ++step) algo->update(random_batch());
  std::vector<torch::Tensor> params = module_of(*algo, "q").parameters();
  for (const auto& p : module_of(*algo, "actor").parameters()) params.push_back(p);
  return params;
}

void expect_equal_tensors(const std::vector<torch::Tensor>& a,
                          const std::vector<torch::Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << i;
}

// The diversity term's gradient alone moves EDAC off SAC-N: with eta 0 they are the same update.
TEST(Fused, EdacWithEtaZeroIsSacN) {
  expect_equal_tensors(after_three_updates("sac_n", {}), after_three_updates("edac", {"eta=0"}));
}

// RO2O with torch ops and autograd in the authors' order (ro2o_mujoco.py, update()): SAC-N's,
// with the policy smoothness term (symmetric KL of the pre-tanh Gaussians, the worst of n
// perturbations per row, neither side detached) in the actor's loss and Q smoothness (the worst
// member-averaged asymmetric difference) and the OOD penalty (towards Q - alpha std, the unbiased
// std over the current members, detached) in the critics'; the same draws in the same order.
TEST(Fused, Ro2oUpdateMatchesAutograd) {
  torch::manual_seed(21);
  const int64_t n = 3;
  auto algo = make("ro2o", {"hidden=16", "layers=2", "critics=4", "samples=3", "q_smooth_eps=0.3",
                            "policy_smooth_eps=0.4", "ood_eps=0.5", "q_smooth_weight=0.5",
                            "policy_smooth_weight=2", "ood_weight=0.7", "ood_alpha=1.5",
                            "ood_alpha_min=0.9", "ood_alpha_decay=0.2"});
  {
    // Away from the EDAC initialisation's near-constant heads, so that the terms count.
    torch::NoGradGuard no_grad;
    for (const char* name : {"actor", "q"}) {
      for (auto& p : module_of(*algo, name).parameters()) p.normal_(0.0, 0.5);
    }
  }
  SacCoreReference sac(*algo, 3e-4, 3e-4, false, /*members=*/4, /*log_std_min=*/-5.0);
  // [B n, obs]: row i n + j is s_i + d_j, d_j uniform in [-eps, eps]^obs, the same for all rows.
  auto perturbed = [&](const torch::Tensor& s, double eps) {
    const auto d = static_cast<float>(2 * eps) * (torch::rand({n, kObs}, sac.gen) - 0.5);
    return (s.unsqueeze(1) + d.unsqueeze(0)).reshape({-1, kObs});
  };
  for (int step = 0; step < 3; ++step) {
    const auto b = random_batch();
    const auto& s = b.observations;
    const Metrics m = algo->update(b);
    torch::Tensor log_pi;
    {
      torch::NoGradGuard no_grad;
      log_pi = sac.actor->sample(s, false, &sac.gen).second;
    }
    const auto alpha_loss = -(sac.log_alpha * (log_pi + static_cast<double>(-kAct))).mean();
    sac.alpha_optim.zero_grad();
    alpha_loss.backward();
    sac.alpha_optim.step();
    const auto alpha = sac.log_alpha.exp().detach();

    const auto policy_states = perturbed(s, 0.4);
    torch::Tensor actor_loss, kl;
    {
      auto [pi, lp] = sac.actor->sample(s, false, &sac.gen);
      {
        const nn::FrozenParameters frozen(*sac.q);
        actor_loss = (alpha * lp - std::get<0>(SacCoreReference::both(sac.q, s, pi).min(0))).mean();
      }
      auto [m1, l1] = sac.actor->mean_log_std(s);
      auto [m2, l2] = sac.actor->mean_log_std(policy_states);
      m1 = m1.repeat_interleave(n, 0);
      l1 = l1.repeat_interleave(n, 0);
      const auto d2 = (m1 - m2).pow(2);
      kl = (0.5 * ((2 * (l1 - l2)).exp() + (2 * (l2 - l1)).exp()) +
            0.5 * d2 * ((-2 * l1).exp() + (-2 * l2).exp()) - 1)
               .sum(1)
               .reshape({kRows, n})
               .amax(1)
               .mean();
      sac.actor_optim.zero_grad();
      (actor_loss + 2.0 * kl).backward();
      sac.actor_optim.step();
    }

    const auto target = sac.td_target(b, alpha);
    const auto q_data = SacCoreReference::both(sac.q, s, b.actions);
    const auto q_loss = SacCoreReference::td_loss(q_data, target);
    const auto smooth_states = perturbed(s, 0.3);
    const auto diff =
        SacCoreReference::both(sac.q, smooth_states, b.actions.repeat_interleave(n, 0)) -
        q_data.repeat_interleave(n, 1);
    const auto smooth =
        (torch::where(diff > 0, 0.8, 0.2) * diff.pow(2)).mean(0).reshape({kRows, n}).amax(1).mean();
    const auto ood_states = perturbed(s, 0.5);
    torch::Tensor ood_actions;
    {
      torch::NoGradGuard no_grad;
      ood_actions = sac.actor->sample(ood_states, false, &sac.gen).first;
    }
    const double ood_alpha = std::max(1.5 - 0.2 * step, 0.9);
    const auto q_ood = SacCoreReference::both(sac.q, ood_states, ood_actions);
    const auto ood_target = (q_ood - ood_alpha * q_ood.std(0, /*unbiased=*/true)).detach();
    const auto ood = (q_ood - ood_target).pow(2).mean();
    sac.critic_step(q_loss + 0.5 * smooth + 0.7 * ood);

    EXPECT_NEAR(m.at("q_loss"), q_loss.item<double>(), 1e-5 * (1 + q_loss.item<double>()));
    EXPECT_NEAR(m.at("actor_loss"), actor_loss.item<double>(),
                1e-5 * (1 + std::abs(actor_loss.item<double>())));
    EXPECT_NEAR(m.at("policy_smooth_kl"), kl.item<double>(), 1e-5 * (1 + kl.item<double>()));
    EXPECT_NEAR(m.at("q_smooth_loss"), smooth.item<double>(), 1e-5 * (1 + smooth.item<double>()));
    EXPECT_NEAR(m.at("ood_loss"), ood.item<double>(), 1e-5 * (1 + ood.item<double>()));
    EXPECT_NEAR(m.at("ood_alpha"), ood_alpha, 1e-12);
    EXPECT_GT(kl.item<double>(), 0.01);
    EXPECT_GT(smooth.item<double>(), 0.01);
    EXPECT_GT(ood.item<double>(), 0.01);
    sac.expect_matches(*algo);
  }
}

// With its three weights 0, RO2O is SAC-N (the same update, the same draws).
TEST(Fused, Ro2oWithoutItsTermsIsSacN) {
  expect_equal_tensors(
      after_three_updates("sac_n", {}),
      after_three_updates("ro2o", {"q_smooth_weight=0", "policy_smooth_weight=0", "ood_weight=0"}));
}

// The EDAC paper's initialisation (SAC-N): hidden biases 0.1, the critics' last layer and the
// actor's heads small and uniform.
TEST(Fused, SacNStartsFromTheEdacInitialisation) {
  torch::manual_seed(17);
  auto algo = make("sac_n");
  const auto q = module_of(*algo, "q").named_parameters();
  EXPECT_EQ(q["linear0.bias"].min().item<float>(), 0.1f);
  EXPECT_EQ(q["linear2.bias"].max().item<float>(), 0.1f);
  EXPECT_LE(q["linear3.weight"].abs().max().item<float>(), 3e-3f);
  EXPECT_LE(q["linear3.bias"].abs().max().item<float>(), 3e-3f);
  const auto actor = module_of(*algo, "actor").named_parameters();
  EXPECT_LE(actor["mean.weight"].abs().max().item<float>(), 1e-3f);
  EXPECT_LE(actor["log_std.bias"].abs().max().item<float>(), 1e-3f);
  EXPECT_EQ(q["linear0.weight"].size(0), 10);  // N = 10 members by default
}

// The fused updates split work into tasks, never a sum: 1 and 2 threads give the same bits.
TEST(Fused, OneAndTwoThreadsGiveIdenticalParameters) {
  for (const std::string name : {"iql", "td3_bc", "cql", "sac", "td3", "sac_n", "edac", "rebrac",
                                 "riql", "ro2o", "famo2o"}) {
    std::vector<std::vector<torch::Tensor>> results;
    for (int threads : {1, 2}) {
      set_compute_threads({.threads = threads});
      torch::manual_seed(9);
      auto algo = make(name);
      for (int i = 0; i < 5; ++i) algo->update(random_batch());
      std::vector<torch::Tensor> params;
      for (auto& [n, m] : algo->modules()) {
        for (const auto& p : m->parameters()) params.push_back(p.detach().clone());
      }
      results.push_back(params);
    }
    set_compute_threads({.threads = 1});
    ASSERT_EQ(results[0].size(), results[1].size());
    for (size_t i = 0; i < results[0].size(); ++i)
      EXPECT_TRUE(torch::equal(results[0][i], results[1][i])) << name;
  }
}

}  // namespace
}  // namespace stitch

namespace stitch {
namespace {

// A checkpoint from another layout (say, before the fused path kept Adam's state in modules)
// is a clear error naming the missing part, not a libtorch message.
TEST(Fused, CheckpointWithoutAPartIsAClearError) {
  auto algo = make("iql");
  torch::serialize::OutputArchive out;
  out.write("algorithm", c10::IValue(std::string("iql")));
  for (auto& [name, module] : algo->modules()) {
    if (name == "actor_adam") continue;
    torch::serialize::OutputArchive sub;
    module->save(sub);
    out.write("module/" + name, sub);
  }
  std::ostringstream bytes;
  out.save_to(bytes);
  std::istringstream read(bytes.str());
  torch::serialize::InputArchive in;
  in.load_from(read);
  try {
    algo->load(in);
    FAIL() << "loaded a checkpoint without module/actor_adam";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no 'module/actor_adam'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace stitch

namespace stitch {
namespace {

// The halves of a batch of 1 or 3 rows are uneven or empty: still finite, and a batch of one
// row moves the parameters.
TEST(Fused, TinyAndOddBatchesWork) {
  for (const std::string name :
       {"iql", "td3_bc", "cql", "sac", "sac_n", "edac", "rebrac", "riql", "ro2o", "famo2o"}) {
    for (int64_t rows : {1, 3}) {
      torch::manual_seed(15);
      auto algo = make(name);
      const auto before = module_of(*algo, "actor").parameters()[0].detach().clone();
      for (int i = 0; i < 2; ++i) {
        for (const auto& [key, value] : algo->update(random_batch(rows))) {
          EXPECT_TRUE(std::isfinite(value)) << name << " rows " << rows << " " << key;
        }
      }
      for (auto& [n, m] : algo->modules()) EXPECT_TRUE(nn::all_finite(*m)) << name << " " << n;
      EXPECT_FALSE(torch::equal(before, module_of(*algo, "actor").parameters()[0]))
          << name << " rows " << rows;
    }
  }
}

}  // namespace
}  // namespace stitch
