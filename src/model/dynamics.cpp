#include "model/dynamics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "algo/fused_steps.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/runtime.h"
#include "data/dataset.h"
#include "nn/nn.h"

namespace stitch {

namespace {

// Rows per forward pass when predicting (sample, predict): the activations of 256 rows of
// 4x200 fit in L2, where those of a 50,000-row rollout batch would stream through memory.
constexpr int64_t kChunk = 256;

struct DynamicsNetImpl : torch::nn::Module {
  DynamicsNetImpl(int64_t members, int64_t in, int64_t out, const std::vector<int64_t>& hidden)
      : net(register_module("net", nn::EnsembleMlp(members, in, 2 * out, hidden, false, 1e-5,
                                                   nn::Activation::kSilu))) {
    max_logvar = register_parameter("max_logvar", torch::full({out}, 0.5));
    min_logvar = register_parameter("min_logvar", torch::full({out}, -10.0));
    input_mean = register_buffer("input_mean", torch::zeros({in}));
    input_std = register_buffer("input_std", torch::ones({in}));
    // OfflineRL-Kit's initialisation: weights N(0, 1 / (2 sqrt(in))) (its truncation at +-2
    // never binds at these widths), biases 0.
    torch::NoGradGuard no_grad;
    for (const auto& [w, b] : net->linear_layers()) {
      w.normal_(0.0, 1.0 / (2.0 * std::sqrt(static_cast<double>(w.size(1)))));
      b.zero_();
    }
  }
  nn::EnsembleMlp net;
  torch::Tensor max_logvar, min_logvar;
  torch::Tensor input_mean, input_std;  // the fit's standardisation of [obs, action]
};
TORCH_MODULE(DynamicsNet);

double softplus(double x) { return x > 20.0 ? x : std::log1p(std::exp(x)); }
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

struct DynamicsEnsemble::Impl {
  Impl(int64_t obs, int64_t act, const DynamicsOptions& o)
      : in(obs + act),
        out(obs + 1),
        options(o),
        module(o.members, in, out, o.hidden),
        flat(*module),
        adam(fused_steps::flat_adam(flat, o.lr)) {
    STITCH_CHECK(o.members >= 1, "dynamics: members must be >= 1, got {}", o.members);
    STITCH_CHECK(o.weight_decay.size() == o.hidden.size() + 1,
                 "dynamics: {} weight-decay values for {} linear layers", o.weight_decay.size(),
                 o.hidden.size() + 1);
    max_slot = flat.slot_of(module->max_logvar, flat.data());
    min_slot = flat.slot_of(module->min_logvar, flat.data());
    max_grad = flat.slot_of(module->max_logvar, flat.grad());
    min_grad = flat.slot_of(module->min_logvar, flat.grad());
    for (int k = 0; k < o.members; ++k) {
      nets.push_back(nn::fused_member(*module->net, k, flat, flat.grad()));
    }
    tapes.resize(o.members);
    dout.resize(o.members);
    d_max.resize(o.members);
    d_min.resize(o.members);
    losses.resize(o.members);
  }

  // The bounded log-variance of a raw output r: lv1 = max - softplus(max - r), then
  // lv = min + softplus(lv1 - min); and d lv / d r, d lv / d max, d lv / d min.
  struct Bounded {
    double lv, d_raw, d_max, d_min;
  };
  Bounded bound(double raw, int64_t j) const {
    const double mx = max_slot[j], mn = min_slot[j];
    const double lv1 = mx - softplus(mx - raw);
    const double s1 = sigmoid(mx - raw), s2 = sigmoid(lv1 - mn);
    return {mn + softplus(lv1 - mn), s2 * s1, s2 * (1.0 - s1), 1.0 - s2};
  }

  int64_t in, out;
  DynamicsOptions options;
  DynamicsNet module;
  nn::FlatParameters flat;
  nn::FlatAdam adam;
  const float *max_slot, *min_slot;
  float *max_grad, *min_grad;
  std::vector<nn::fused::Mlp> nets;
  // Reused by sample() and predict(), so that a rollout allocates (and page-faults) nothing.
  std::vector<float> x_buf, pred_buf, norm_buf, xs_buf, part_buf;
  std::vector<nn::fused::Tape> tapes;
  std::vector<std::vector<float>> dout;
  std::vector<std::vector<double>> d_max, d_min;
  std::vector<double> losses;
  std::unique_ptr<ThreadPool> pool;
};

DynamicsEnsemble::DynamicsEnsemble(int64_t obs_dim, int64_t act_dim, const DynamicsOptions& options,
                                   uint64_t seed) {
  // The initialisation draws from torch's default generator, seeded here and restored after, so
  // that building a model does not move other users' draws.
  auto generator = at::detail::getDefaultCPUGenerator();
  const auto state = generator.get_state();
  torch::manual_seed(seed);
  try {
    impl_ = std::make_unique<Impl>(obs_dim, act_dim, options);
  } catch (...) {
    generator.set_state(state);
    throw;
  }
  generator.set_state(state);
}

DynamicsEnsemble::~DynamicsEnsemble() = default;

int64_t DynamicsEnsemble::input_dim() const { return impl_->in; }
int64_t DynamicsEnsemble::output_dim() const { return impl_->out; }
torch::nn::Module& DynamicsEnsemble::module() { return *impl_->module; }
void DynamicsEnsemble::rebind() { impl_->flat.rebind(); }

double DynamicsEnsemble::train_step(const std::vector<const float*>& x,
                                    const std::vector<const float*>& y, int64_t rows) {
  Impl& m = *impl_;
  const int members = m.options.members;
  STITCH_CHECK(static_cast<int>(x.size()) == members && static_cast<int>(y.size()) == members,
               "dynamics: one minibatch per member");
  const int64_t d = m.out;
  const SingleThreadedBlas single_blas;
  // Member k: L_k = mean_{i,j} (mu - y)^2 exp(-lv) + mean_{i,j} lv, on its own rows.
  fused_steps::task_pool(m.pool).parallel_for(members, [&](int64_t k) {
    nn::fused::forward(m.nets[k], x[k], rows, m.tapes[k]);
    const float* o = m.tapes[k].output();
    auto& g = m.dout[k];
    g.assign(static_cast<size_t>(rows * 2 * d), 0.0f);
    m.d_max[k].assign(static_cast<size_t>(d), 0.0);
    m.d_min[k].assign(static_cast<size_t>(d), 0.0);
    const double scale = 1.0 / static_cast<double>(rows * d);
    double loss = 0;
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < d; ++j) {
        const double mu = o[i * 2 * d + j], target = y[k][i * d + j];
        const Impl::Bounded b = m.bound(o[i * 2 * d + d + j], j);
        const double inv_var = std::exp(-b.lv), err = mu - target;
        loss += (err * err * inv_var + b.lv) * scale;
        g[i * 2 * d + j] = static_cast<float>(2.0 * err * inv_var * scale);
        const double dlv = (1.0 - err * err * inv_var) * scale;
        g[i * 2 * d + d + j] = static_cast<float>(dlv * b.d_raw);
        m.d_max[k][j] += dlv * b.d_max;
        m.d_min[k][j] += dlv * b.d_min;
      }
    }
    m.losses[k] = loss;
    nn::fused::backward(m.nets[k], m.tapes[k], g.data(), nullptr);
  });
  double total = 0;
  for (int k = 0; k < members; ++k) total += m.losses[k];  // member order: any thread count
  // The bounds: the members' gradients summed in member order, plus coef (sum max - sum min).
  const double coef = m.options.logvar_loss_coef;
  for (int64_t j = 0; j < d; ++j) {
    double gmax = coef, gmin = -coef;
    for (int k = 0; k < members; ++k) gmax += m.d_max[k][j], gmin += m.d_min[k][j];
    m.max_grad[j] = static_cast<float>(gmax);
    m.min_grad[j] = static_cast<float>(gmin);
    total += coef * (static_cast<double>(m.max_slot[j]) - m.min_slot[j]);
  }
  // Weight decay on the weights (not the biases): 0.5 wd |W|^2 per layer, every member.
  const auto layers = m.module->net->linear_layers();
  for (size_t l = 0; l < layers.size(); ++l) {
    const torch::Tensor& w = layers[l].first;
    const float* p = m.flat.slot_of(w, m.flat.data());
    float* gw = m.flat.slot_of(w, m.flat.grad());
    const auto wd = static_cast<float>(m.options.weight_decay[l]);
    double sq = 0;
    for (int64_t i = 0; i < w.numel(); ++i) {
      sq += static_cast<double>(p[i]) * p[i];
      gw[i] += wd * p[i];
    }
    total += 0.5 * wd * sq;
  }
  m.adam->step(m.flat);
  return total;
}

void DynamicsEnsemble::standardise(const float* obs, const float* actions, int64_t rows,
                                   float* x) const {
  const Impl& m = *impl_;
  const int64_t act = m.in - (m.out - 1), obs_dim = m.out - 1;
  const float* mean = m.module->input_mean.data_ptr<float>();
  const float* std = m.module->input_std.data_ptr<float>();
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < m.in; ++j) {
      const float v = j < obs_dim ? obs[i * obs_dim + j] : actions[i * act + j - obs_dim];
      x[i * m.in + j] = (v - mean[j]) / std[j];
    }
  }
}

DynamicsFit DynamicsEnsemble::fit(const Dataset& data, const DynamicsFitOptions& o, uint64_t seed) {
  Impl& m = *impl_;
  const int64_t obs = m.out - 1, act = m.in - obs, d = m.out;
  if (data.obs_dim != obs || data.act_dim != act) {
    fail("dynamics: the dataset has observation/action dimensions {}/{}, the model {}/{}",
         data.obs_dim, data.act_dim, obs, act);
  }
  STITCH_CHECK(o.batch >= 1 && o.patience >= 1, "dynamics: batch and patience must be >= 1");
  STITCH_CHECK(o.holdout_ratio > 0 && o.holdout_ratio < 1 && o.max_holdout >= 1,
               "dynamics: holdout_ratio must be in (0, 1) and max_holdout >= 1");
  const int members = m.options.members;
  STITCH_CHECK(o.elites >= 1 && o.elites <= members, "dynamics: {} elites of {} members", o.elites,
               members);
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < data.size(); ++i) {
    if (data.has_next[static_cast<size_t>(i)] != 0) rows.push_back(i);
  }
  const auto n = static_cast<int64_t>(rows.size());
  if (n < 2) fail("dynamics: {} transitions with a successor; at least 2 are needed", n);
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  const auto perm = torch::randperm(n, gen);
  const int64_t holdout =
      std::clamp<int64_t>(static_cast<int64_t>(o.holdout_ratio * static_cast<double>(n)), 1,
                          std::min<int64_t>(o.max_holdout, n - 1));
  const int64_t train = n - holdout;
  // Inputs and targets of the permuted rows: the holdout first, then the training split.
  std::vector<float> raw(static_cast<size_t>(n * m.in)), y(static_cast<size_t>(n * d));
  const int64_t* order_of = perm.data_ptr<int64_t>();
  for (int64_t r = 0; r < n; ++r) {
    const int64_t i = rows[static_cast<size_t>(order_of[r])];
    const float* s = data.observations.data() + i * obs;
    const float* s2 = data.next_observations.data() + i * obs;
    std::copy_n(s, obs, raw.data() + r * m.in);
    std::copy_n(data.actions.data() + i * act, act, raw.data() + r * m.in + obs);
    for (int64_t j = 0; j < obs; ++j) y[r * d + j] = s2[j] - s[j];
    y[r * d + obs] = data.rewards[static_cast<size_t>(i)];
  }
  // The standardisation from the training split (std below 1e-12 counts as 1).
  float* mean = m.module->input_mean.data_ptr<float>();
  float* stdev = m.module->input_std.data_ptr<float>();
  for (int64_t j = 0; j < m.in; ++j) {
    double sum = 0, sq = 0;
    for (int64_t r = holdout; r < n; ++r) sum += raw[r * m.in + j];
    const double mu = sum / static_cast<double>(train);
    for (int64_t r = holdout; r < n; ++r) sq += std::pow(raw[r * m.in + j] - mu, 2);
    const double sd = std::sqrt(sq / static_cast<double>(train));
    mean[j] = static_cast<float>(mu);
    stdev[j] = sd < 1e-12 ? 1.0f : static_cast<float>(sd);
  }
  std::vector<float> x(raw.size());
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t j = 0; j < m.in; ++j) x[r * m.in + j] = (raw[r * m.in + j] - mean[j]) / stdev[j];
  }
  // Each member's bootstrap resample of the training split.
  const auto boot = torch::randint(train, {members, train}, gen);
  std::vector<std::vector<int64_t>> index(static_cast<size_t>(members));
  for (int k = 0; k < members; ++k) {
    const int64_t* b = boot[k].data_ptr<int64_t>();
    index[static_cast<size_t>(k)].assign(b, b + train);
  }
  // Member k's weights and biases: contiguous slices of the flat buffer, one per layer.
  const auto layers = m.module->net->linear_layers();
  auto slices = [&](int k) {
    std::vector<std::pair<float*, int64_t>> out;
    for (const auto& [w, b] : layers) {
      out.emplace_back(m.flat.slot_of(w[k], m.flat.data()), w[k].numel());
      out.emplace_back(m.flat.slot_of(b[k], m.flat.data()), b[k].numel());
    }
    return out;
  };
  std::vector<std::vector<float>> snapshot(static_cast<size_t>(members));
  auto save = [&](int k) {
    auto& snap = snapshot[static_cast<size_t>(k)];
    snap.clear();
    for (const auto& [p, size] : slices(k)) snap.insert(snap.end(), p, p + size);
  };
  // Every member's first epoch improves on this, as OfflineRL-Kit's 1e10: each keeps a trained
  // snapshot.
  DynamicsFit result;
  result.holdout_mse.assign(static_cast<size_t>(members), std::numeric_limits<double>::infinity());
  std::vector<float> bx(static_cast<size_t>(members * o.batch * m.in));
  std::vector<float> by(static_cast<size_t>(members * o.batch * d));
  std::vector<const float*> xp(static_cast<size_t>(members)), yp(static_cast<size_t>(members));
  int since_improvement = 0;
  while (since_improvement < o.patience && (o.max_epochs == 0 || result.epochs < o.max_epochs)) {
    for (int k = 0; k < members; ++k) {  // reshuffle each member's resample
      auto& idx = index[static_cast<size_t>(k)];
      const auto p = torch::randperm(train, gen);
      const int64_t* to = p.data_ptr<int64_t>();
      std::vector<int64_t> shuffled(idx.size());
      for (int64_t i = 0; i < train; ++i) shuffled[i] = idx[static_cast<size_t>(to[i])];
      idx.swap(shuffled);
    }
    for (int64_t start = 0; start < train; start += o.batch) {
      const int64_t count = std::min(o.batch, train - start);
      for (int k = 0; k < members; ++k) {
        float* xk = bx.data() + k * o.batch * m.in;
        float* yk = by.data() + k * o.batch * d;
        for (int64_t i = 0; i < count; ++i) {
          const int64_t r = holdout + index[static_cast<size_t>(k)][start + i];
          std::copy_n(x.data() + r * m.in, m.in, xk + i * m.in);
          std::copy_n(y.data() + r * d, d, yk + i * d);
        }
        xp[static_cast<size_t>(k)] = xk;
        yp[static_cast<size_t>(k)] = yk;
      }
      train_step(xp, yp, count);
    }
    ++result.epochs;
    const std::vector<double> now = mse(x.data(), y.data(), holdout);
    bool improved = false;
    for (int k = 0; k < members; ++k) {
      double& best = result.holdout_mse[static_cast<size_t>(k)];
      if (std::isinf(best) || (best - now[static_cast<size_t>(k)]) / best > o.improvement) {
        best = now[static_cast<size_t>(k)];
        save(k);
        improved = true;
      }
    }
    since_improvement = improved ? 0 : since_improvement + 1;
    if (o.on_epoch) o.on_epoch(result.epochs, now);
  }
  for (int k = 0; k < members; ++k) {  // every member back to its snapshot
    const auto& snap = snapshot[static_cast<size_t>(k)];
    size_t at = 0;
    for (const auto& [p, size] : slices(k)) {
      std::copy_n(snap.data() + at, size, p);
      at += static_cast<size_t>(size);
    }
  }
  std::vector<int> order(static_cast<size_t>(members));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return result.holdout_mse[static_cast<size_t>(a)] < result.holdout_mse[static_cast<size_t>(b)];
  });
  result.elites.assign(order.begin(), order.begin() + o.elites);
  return result;
}

// Every member on every row, members as tasks, kChunk rows at a time (the activations stay in
// cache): u[i] the largest std norm over all members (MOPO's uncertainty) and, where `pick` is
// given, row i's prediction (means, then bounded log-variances) from member pick[i] into pred.
void DynamicsEnsemble::all_members(const float* x, int64_t rows, const int* pick, float* pred,
                                   float* u) {
  Impl& m = *impl_;
  const int64_t d = m.out;
  const SingleThreadedBlas single_blas;
  std::vector<float>& norms = m.norm_buf;
  norms.resize(static_cast<size_t>(m.options.members * rows));
  fused_steps::task_pool(m.pool).parallel_for(m.options.members, [&](int64_t k) {
    float* norm = norms.data() + k * rows;
    for (int64_t from = 0; from < rows; from += kChunk) {
      const int64_t count = std::min(kChunk, rows - from);
      nn::fused::forward(m.nets[k], x + from * m.in, count, m.tapes[k]);
      const float* o = m.tapes[k].output();
      for (int64_t r = 0; r < count; ++r) {
        const int64_t i = from + r;
        const bool drawn = pick != nullptr && pick[i] == k;
        double sq = 0;  // |std|^2 = the sum of the variances
        for (int64_t j = 0; j < d; ++j) {
          const double lv = m.bound(o[r * 2 * d + d + j], j).lv;
          sq += std::exp(lv);
          if (drawn) {
            pred[i * 2 * d + j] = o[r * 2 * d + j];
            pred[i * 2 * d + d + j] = static_cast<float>(lv);
          }
        }
        norm[i] = static_cast<float>(std::sqrt(sq));
      }
    }
  });
  for (int64_t i = 0; i < rows; ++i) {
    float best = 0.0f;
    for (int k = 0; k < m.options.members; ++k) best = std::max(best, norms[k * rows + i]);
    u[i] = best;
  }
}

void DynamicsEnsemble::sample(const float* obs, const float* actions, int64_t rows,
                              const std::vector<int>& members, Rng& rng, float* next_obs,
                              float* rewards, float* u) {
  Impl& m = *impl_;
  STITCH_CHECK(!members.empty(), "dynamics: sample needs at least one member");
  for (const int k : members) {
    STITCH_CHECK(k >= 0 && k < m.options.members, "dynamics: member {} of {}", k,
                 m.options.members);
  }
  const int64_t d = m.out, obs_dim = d - 1;
  std::vector<float>& x = m.x_buf;
  x.resize(static_cast<size_t>(rows * m.in));
  standardise(obs, actions, rows, x.data());
  std::vector<int> pick(static_cast<size_t>(rows));
  for (auto& k : pick) k = members[rng.below(members.size())];
  // Each drawn member's prediction over the rows it serves: [rows, 2 d], means then bounded
  // log-variances.
  std::vector<float>& pred = m.pred_buf;
  pred.resize(static_cast<size_t>(rows * 2 * d));
  if (u != nullptr) {
    all_members(x.data(), rows, pick.data(), pred.data(), u);
  } else {
    std::vector<float>&xs = m.xs_buf, &part = m.part_buf;
    std::vector<int64_t> at;
    for (int k = 0; k < m.options.members; ++k) {
      at.clear();
      for (int64_t i = 0; i < rows; ++i) {
        if (pick[static_cast<size_t>(i)] == k) at.push_back(i);
      }
      if (at.empty()) continue;
      const auto count = static_cast<int64_t>(at.size());
      xs.resize(static_cast<size_t>(count * m.in));
      for (int64_t r = 0; r < count; ++r)
        std::copy_n(x.data() + at[r] * m.in, m.in, xs.data() + r * m.in);
      part.resize(static_cast<size_t>(count * 2 * d));
      predict(k, xs.data(), count, part.data());
      for (int64_t r = 0; r < count; ++r) {
        std::copy_n(part.data() + r * 2 * d, 2 * d, pred.data() + at[r] * 2 * d);
      }
    }
  }
  for (int64_t i = 0; i < rows; ++i) {
    const float* p = pred.data() + i * 2 * d;
    for (int64_t j = 0; j < d; ++j) {
      const double v = p[j] + std::exp(0.5 * p[d + j]) * rng.normal();
      if (j < obs_dim) {
        next_obs[i * obs_dim + j] = obs[i * obs_dim + j] + static_cast<float>(v);
      } else {
        rewards[i] = static_cast<float>(v);
      }
    }
  }
}

void DynamicsEnsemble::uncertainty(const float* obs, const float* actions, int64_t rows, float* u) {
  std::vector<float>& x = impl_->x_buf;
  x.resize(static_cast<size_t>(rows * impl_->in));
  standardise(obs, actions, rows, x.data());
  all_members(x.data(), rows, nullptr, nullptr, u);
}

std::vector<double> DynamicsEnsemble::mse(const float* x, const float* y, int64_t rows) {
  Impl& m = *impl_;
  const int64_t d = m.out;
  std::vector<double> out(static_cast<size_t>(m.options.members), 0.0);
  const SingleThreadedBlas single_blas;
  fused_steps::task_pool(m.pool).parallel_for(m.options.members, [&](int64_t k) {
    nn::fused::forward(m.nets[k], x, rows, m.tapes[k]);
    const float* o = m.tapes[k].output();
    double sum = 0;
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < d; ++j) {
        const double e = static_cast<double>(o[i * 2 * d + j]) - y[i * d + j];
        sum += e * e;
      }
    }
    out[static_cast<size_t>(k)] = sum / static_cast<double>(rows * d);
  });
  return out;
}

void DynamicsEnsemble::predict(int k, const float* x, int64_t rows, float* out) {
  Impl& m = *impl_;
  STITCH_CHECK(k >= 0 && k < m.options.members, "dynamics: member {} of {}", k, m.options.members);
  const int64_t d = m.out;
  for (int64_t from = 0; from < rows; from += kChunk) {  // kChunk rows at a time: in cache
    const int64_t count = std::min(kChunk, rows - from);
    nn::fused::forward(m.nets[k], x + from * m.in, count, m.tapes[k]);
    const float* o = m.tapes[k].output();
    float* dst = out + from * 2 * d;
    for (int64_t i = 0; i < count; ++i) {
      for (int64_t j = 0; j < d; ++j) {
        dst[i * 2 * d + j] = o[i * 2 * d + j];
        dst[i * 2 * d + d + j] = static_cast<float>(m.bound(o[i * 2 * d + d + j], j).lv);
      }
    }
  }
}

void DynamicsEnsemble::sample_next_states(const float* obs, const float* actions, int64_t rows,
                                          const std::vector<int>& members, int64_t samples,
                                          const float* eps, float* out) {
  const Impl& m = *impl_;
  const int64_t d = m.out, obs_dim = d - 1;
  const auto n = static_cast<int64_t>(members.size());
  std::vector<float> x(static_cast<size_t>(rows * m.in)), pred(static_cast<size_t>(rows * 2 * d));
  standardise(obs, actions, rows, x.data());
  for (int64_t k = 0; k < n; ++k) {
    predict(members[static_cast<size_t>(k)], x.data(), rows, pred.data());
    for (int64_t j = 0; j < samples; ++j) {
      const int64_t block = (j * n + k) * rows;
      for (int64_t i = 0; i < rows; ++i) {
        const float* p = pred.data() + i * 2 * d;
        const float* e = eps + (block + i) * obs_dim;
        float* dst = out + (block + i) * obs_dim;
        for (int64_t c = 0; c < obs_dim; ++c) {
          dst[c] = obs[i * obs_dim + c] + p[c] + std::exp(0.5f * p[d + c]) * e[c];
        }
      }
    }
  }
}

}  // namespace stitch
