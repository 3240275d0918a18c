#include "data/sampler.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/hdf5.h"
#include "track/durable.h"

namespace stitch {

namespace {

struct GatherColumns {
  const float* obs;
  const float* next;
  const float* act;
  const float* rew;
  const uint8_t* term;
};

// The sampled rows are scattered over memory far larger than the cache: prefetching a few rows
// ahead lets their cache and TLB misses overlap instead of queueing one by one.
constexpr int64_t kPrefetchAhead = 16;

inline void prefetch_row(const GatherColumns& c, int64_t row, int64_t od, int64_t ad) {
  // First and last element: a row may span two cache lines.
  __builtin_prefetch(c.obs + row * od);
  __builtin_prefetch(c.obs + row * od + od - 1);
  __builtin_prefetch(c.next + row * od);
  __builtin_prefetch(c.next + row * od + od - 1);
  __builtin_prefetch(c.act + row * ad);
  __builtin_prefetch(c.act + row * ad + ad - 1);
  __builtin_prefetch(c.rew + row);
  __builtin_prefetch(c.term + row);
}

// Copies rows idx[0..B) into the batch (1-step targets). OD/AD > 0 fix the row widths at
// compile time, so the copies are inlined; 0 means "use od_runtime/ad_runtime".
template <int64_t OD, int64_t AD>
void gather_rows(const GatherColumns& c, const int64_t* idx, Batch& batch, float discount,
                 int64_t od_runtime = OD, int64_t ad_runtime = AD) {
  const int64_t od = OD > 0 ? OD : od_runtime, ad = AD > 0 ? AD : ad_runtime;
  const int64_t n = batch.size;
  constexpr int64_t kAhead = kPrefetchAhead;
  auto prefetch = [&](int64_t row) { prefetch_row(c, row, od, ad); };
  for (int64_t b = 0; b < std::min(kAhead, n); ++b) prefetch(idx[b]);
  float* bo = batch.observations.data();
  float* bn = batch.next_observations.data();
  float* ba = batch.actions.data();
  for (int64_t b = 0; b < n; ++b) {
    if (b + kAhead < n) prefetch(idx[b + kAhead]);
    const int64_t r = idx[b];
    std::memcpy(bo + b * od, c.obs + r * od, od * sizeof(float));
    std::memcpy(bn + b * od, c.next + r * od, od * sizeof(float));
    std::memcpy(ba + b * ad, c.act + r * ad, ad * sizeof(float));
    batch.rewards[b] = c.rew[r];
    batch.terminals[b] = c.term[r];
    batch.discounts[b] = discount;
  }
}

}  // namespace

Sampler::Sampler(const Dataset& dataset, const SamplerOptions& options)
    : data_(dataset), options_(options), rng_(options.seed) {
  if (options.batch_size < 1) fail("sampler: batch_size must be >= 1, got {}", options.batch_size);
  if (options.n_step < 1) fail("sampler: n_step must be >= 1, got {}", options.n_step);
  if (options.discount < 0 || options.discount > 1) {
    fail("sampler: discount must be in [0, 1], got {}", options.discount);
  }
  const int64_t n = dataset.size();
  episode_end_.resize(n);
  for (const Episode& ep : dataset.episodes) {
    std::fill(episode_end_.begin() + ep.start, episode_end_.begin() + ep.end(), ep.end());
  }
  for (int64_t i = 0; i < n; ++i) {
    if (dataset.has_next[i]) rows_.push_back(i);
  }
  if (rows_.empty()) fail("sampler: the dataset has no row with a recorded next observation");
  all_rows_eligible_ = static_cast<int64_t>(rows_.size()) == n;
  if (options.return_to_go) {
    returns_to_go_.assign(n, 0.0f);
    for (const Episode& ep : dataset.episodes) {
      double g = 0.0;
      for (int64_t i = ep.end() - 1; i >= ep.start; --i) {
        g = dataset.rewards[i] + options.rtg_discount * g;
        returns_to_go_[i] = static_cast<float>(g);
      }
    }
  }
}

Batch Sampler::make_batch() const {
  Batch b;
  const int64_t n = options_.batch_size;
  b.size = n;
  b.obs_dim = data_.obs_dim;
  b.act_dim = data_.act_dim;
  b.observations.resize(n * data_.obs_dim);
  b.actions.resize(n * data_.act_dim);
  b.rewards.resize(n);
  b.next_observations.resize(n * data_.obs_dim);
  b.terminals.resize(n);
  b.discounts.resize(n);
  if (options_.return_to_go) b.returns_to_go.resize(n);
  if (!data_.costs.empty()) b.costs.resize(n);
  if (options_.next_actions) {
    b.next_actions.resize(n * data_.act_dim);
    b.next_action_valid.resize(n);
  }
  b.indices.resize(n);
  return b;
}

void Sampler::fill_row(int64_t b, int64_t row, Batch& batch) const {
  const int64_t od = data_.obs_dim, ad = data_.act_dim;
  std::memcpy(&batch.observations[b * od], &data_.observations[row * od], od * sizeof(float));
  std::memcpy(&batch.actions[b * ad], &data_.actions[row * ad], ad * sizeof(float));
  batch.indices[b] = row;
  if (!batch.costs.empty()) batch.costs[b] = data_.costs[row];
  if (!batch.returns_to_go.empty()) batch.returns_to_go[b] = returns_to_go_[row];
  if (options_.n_step == 1) {
    batch.rewards[b] = data_.rewards[row];
    std::memcpy(&batch.next_observations[b * od], &data_.next_observations[row * od],
                od * sizeof(float));
    batch.terminals[b] = data_.terminals[row];
    batch.discounts[b] = static_cast<float>(options_.discount);
    fill_next_action(b, row, batch);
    return;
  }
  // n-step: sum rewards until n steps, a terminal, or the episode's end; bootstrap from the last
  // row whose successor was recorded.
  double reward = 0.0, scale = 1.0;
  int64_t last = row;
  bool terminal = false;
  const int64_t end = std::min<int64_t>(row + options_.n_step, episode_end_[row]);
  for (int64_t j = row; j < end; ++j) {
    if (j > row && !data_.has_next[j]) break;  // no recorded successor: stop before it
    reward += scale * data_.rewards[j];
    scale *= options_.discount;
    last = j;
    if (data_.terminals[j]) {
      terminal = true;
      break;
    }
  }
  batch.rewards[b] = static_cast<float>(reward);
  std::memcpy(&batch.next_observations[b * od], &data_.next_observations[last * od],
              od * sizeof(float));
  batch.terminals[b] = terminal ? 1.0f : 0.0f;
  batch.discounts[b] = static_cast<float>(scale);
  fill_next_action(b, last, batch);
}

void Sampler::fill_next_action(int64_t b, int64_t last, Batch& batch) const {
  if (batch.next_actions.empty()) return;
  const int64_t ad = data_.act_dim;
  // Row last + 1 follows `last` in the same episode unless the episode ends at `last`.
  const bool valid = !data_.terminals[last] && last + 1 < episode_end_[last];
  batch.next_action_valid[b] = valid ? 1.0f : 0.0f;
  float* dst = &batch.next_actions[b * ad];
  if (valid) {
    std::memcpy(dst, &data_.actions[(last + 1) * ad], ad * sizeof(float));
  } else {
    std::fill_n(dst, ad, 0.0f);
  }
}

void Sampler::sample(Batch& batch) { sample(batch, rng_); }

void Sampler::sample(Batch& batch, Rng& rng) {
  STITCH_CHECK(batch.size == options_.batch_size && batch.obs_dim == data_.obs_dim,
               "batch not made by this sampler");
  const uint64_t n = rows_.size();
  if (all_rows_eligible_) {  // skip the lookup in rows_ (one more cache miss per row)
    for (int64_t b = 0; b < batch.size; ++b) batch.indices[b] = static_cast<int64_t>(rng.below(n));
  } else {
    for (int64_t b = 0; b < batch.size; ++b) batch.indices[b] = rows_[rng.below(n)];
  }
  const int64_t od = data_.obs_dim, ad = data_.act_dim;
  const GatherColumns cols{data_.observations.data(), data_.next_observations.data(),
                           data_.actions.data(), data_.rewards.data(), data_.terminals.data()};
  const int64_t* idx = batch.indices.data();
  if (options_.n_step > 1 || !batch.costs.empty() || !batch.returns_to_go.empty() ||
      !batch.next_actions.empty()) {
    for (int64_t b = 0; b < std::min(kPrefetchAhead, batch.size); ++b)
      prefetch_row(cols, idx[b], od, ad);
    for (int64_t b = 0; b < batch.size; ++b) {
      if (b + kPrefetchAhead < batch.size) prefetch_row(cols, idx[b + kPrefetchAhead], od, ad);
      fill_row(b, idx[b], batch);
    }
    return;
  }
  // The common case (1-step, no costs or returns-to-go), kept free of per-row branches, with
  // compile-time row widths for the standard locomotion tasks (inline copies instead of a libc
  // call per row).
  const float discount = static_cast<float>(options_.discount);
  if (od == 17 && ad == 6) {  // HalfCheetah, Walker2d
    gather_rows<17, 6>(cols, idx, batch, discount);
  } else if (od == 11 && ad == 3) {  // Hopper
    gather_rows<11, 3>(cols, idx, batch, discount);
  } else if (od == 27 && ad == 8) {  // Ant
    gather_rows<27, 8>(cols, idx, batch, discount);
  } else {
    gather_rows<0, 0>(cols, idx, batch, discount, od, ad);
  }
}

void Sampler::gather(const std::vector<int64_t>& rows, Batch& batch) const {
  STITCH_CHECK(static_cast<int64_t>(rows.size()) == batch.size, "gather: {} rows for a batch of {}",
               rows.size(), batch.size);
  for (int64_t b = 0; b < batch.size; ++b) {
    if (rows[b] < 0 || rows[b] >= data_.size()) fail("gather: row {} out of range", rows[b]);
    fill_row(b, rows[b], batch);
  }
}

void copy_batch_rows(const Batch& from, Batch& to, int64_t at) {
  STITCH_CHECK(from.obs_dim == to.obs_dim && from.act_dim == to.act_dim && at >= 0 &&
                   at + from.size <= to.size,
               "copy_batch_rows: {} rows at {} into a batch of {}", from.size, at, to.size);
  auto rows = [&](const std::vector<float>& src, std::vector<float>& dst, int64_t width) {
    if (src.empty() || dst.empty()) return;
    std::copy_n(src.begin(), from.size * width, dst.begin() + at * width);
  };
  rows(from.observations, to.observations, from.obs_dim);
  rows(from.actions, to.actions, from.act_dim);
  rows(from.rewards, to.rewards, 1);
  rows(from.next_observations, to.next_observations, from.obs_dim);
  rows(from.terminals, to.terminals, 1);
  rows(from.discounts, to.discounts, 1);
  rows(from.returns_to_go, to.returns_to_go, 1);
  rows(from.costs, to.costs, 1);
  rows(from.next_actions, to.next_actions, from.act_dim);
  rows(from.next_action_valid, to.next_action_valid, 1);
  if (!from.indices.empty() && !to.indices.empty()) {
    std::copy_n(from.indices.begin(), from.size, to.indices.begin() + at);
  }
}

ReplayBuffer::ReplayBuffer(int64_t capacity, int64_t obs_dim, int64_t act_dim)
    : capacity_(capacity), obs_dim_(obs_dim), act_dim_(act_dim) {
  if (capacity < 1) fail("replay buffer: capacity must be >= 1, got {}", capacity);
  obs_.resize(capacity * obs_dim);
  next_obs_.resize(capacity * obs_dim);
  actions_.resize(capacity * act_dim);
  rewards_.resize(capacity);
  costs_.resize(capacity);
  returns_to_go_.resize(capacity);
  terminated_.resize(capacity);
  truncated_.resize(capacity);
}

void ReplayBuffer::add(const float* obs, const float* action, float reward, const float* next_obs,
                       bool terminated, bool truncated, float cost, float return_to_go) {
  const int64_t i = next_;
  std::memcpy(&obs_[i * obs_dim_], obs, obs_dim_ * sizeof(float));
  std::memcpy(&next_obs_[i * obs_dim_], next_obs, obs_dim_ * sizeof(float));
  std::memcpy(&actions_[i * act_dim_], action, act_dim_ * sizeof(float));
  rewards_[i] = reward;
  costs_[i] = cost;
  returns_to_go_[i] = return_to_go;
  terminated_[i] = terminated;
  truncated_[i] = truncated;
  next_ = (next_ + 1) % capacity_;
  size_ = std::min(size_ + 1, capacity_);
}

Batch ReplayBuffer::make_batch(int64_t batch_size) const {
  Batch b;
  b.size = batch_size;
  b.obs_dim = obs_dim_;
  b.act_dim = act_dim_;
  b.observations.resize(batch_size * obs_dim_);
  b.next_observations.resize(batch_size * obs_dim_);
  b.actions.resize(batch_size * act_dim_);
  b.rewards.resize(batch_size);
  b.terminals.resize(batch_size);
  b.discounts.resize(batch_size, 1.0f);
  b.costs.resize(batch_size);
  b.indices.resize(batch_size);
  return b;
}

void ReplayBuffer::sample(Batch& batch, Rng& rng) const {
  if (size_ == 0) fail("replay buffer: cannot sample from an empty buffer");
  for (int64_t b = 0; b < batch.size; ++b) {
    const int64_t i = static_cast<int64_t>(rng.below(static_cast<uint64_t>(size_)));
    std::memcpy(&batch.observations[b * obs_dim_], &obs_[i * obs_dim_], obs_dim_ * sizeof(float));
    std::memcpy(&batch.next_observations[b * obs_dim_], &next_obs_[i * obs_dim_],
                obs_dim_ * sizeof(float));
    std::memcpy(&batch.actions[b * act_dim_], &actions_[i * act_dim_], act_dim_ * sizeof(float));
    batch.rewards[b] = rewards_[i];
    batch.costs[b] = costs_[i];
    if (!batch.returns_to_go.empty()) batch.returns_to_go[b] = returns_to_go_[i];
    batch.terminals[b] = terminated_[i];
    batch.indices[b] = i;
  }
}

Dataset ReplayBuffer::to_dataset() const {
  Dataset d;
  d.obs_dim = obs_dim_;
  d.act_dim = act_dim_;
  const int64_t start = size_ < capacity_ ? 0 : next_;
  for (int64_t k = 0; k < size_; ++k) {
    const int64_t i = (start + k) % capacity_;
    d.observations.insert(d.observations.end(), &obs_[i * obs_dim_], &obs_[(i + 1) * obs_dim_]);
    d.next_observations.insert(d.next_observations.end(), &next_obs_[i * obs_dim_],
                               &next_obs_[(i + 1) * obs_dim_]);
    d.actions.insert(d.actions.end(), &actions_[i * act_dim_], &actions_[(i + 1) * act_dim_]);
    d.rewards.push_back(rewards_[i]);
    d.costs.push_back(costs_[i]);
    d.terminals.push_back(terminated_[i]);
    d.timeouts.push_back(!terminated_[i] && truncated_[i]);
    d.has_next.push_back(1);
  }
  if (std::all_of(d.costs.begin(), d.costs.end(), [](float c) { return c == 0.0f; }))
    d.costs.clear();
  d.index_episodes();
  return d;
}

void ReplayBuffer::save(const std::string& path) const {
  write_atomic_with(path, [&](const std::filesystem::path& tmp) {
    h5::File f = h5::File::create(tmp.string());
    std::vector<float> terminated(terminated_.begin(), terminated_.begin() + size_);
    std::vector<float> truncated(truncated_.begin(), truncated_.begin() + size_);
    f.write_floats("observations", obs_.data(), {size_, obs_dim_}, 0);
    f.write_floats("next_observations", next_obs_.data(), {size_, obs_dim_}, 0);
    f.write_floats("actions", actions_.data(), {size_, act_dim_}, 0);
    f.write_floats("rewards", rewards_.data(), {size_}, 0);
    f.write_floats("costs", costs_.data(), {size_}, 0);
    f.write_floats("returns_to_go", returns_to_go_.data(), {size_}, 0);
    f.write_floats("terminated", terminated.data(), {size_}, 0);
    f.write_floats("truncated", truncated.data(), {size_}, 0);
    f.write_attribute("/", "capacity", capacity_);
    f.write_attribute("/", "size", size_);
    f.write_attribute("/", "next", next_);
    f.flush();
  });
}

void ReplayBuffer::load(const std::string& path) {
  h5::File f = h5::File::open_read(path);
  auto attribute = [&](const char* name) {
    const auto j = nlohmann::json::parse(f.attribute_json("/", name), nullptr, false);
    if (!j.is_number())
      fail("{}: replay buffer attribute '{}' is missing or not a number", path, name);
    return j.get<int64_t>();
  };
  const int64_t capacity = attribute("capacity"), size = attribute("size"),
                next = attribute("next");
  if (capacity != capacity_ || size < 0 || size > capacity || next < 0 || next >= capacity) {
    fail(
        "{}: replay buffer of capacity {} (size {}, next {}) does not fit this buffer of capacity "
        "{}",
        path, capacity, size, next, capacity_);
  }
  auto read = [&](const char* name, std::vector<float>& out, int64_t width) {
    const std::vector<float> v = f.read_floats(name);
    if (static_cast<int64_t>(v.size()) != size * width) {
      fail("{}: replay buffer field '{}' has {} values, expected {} x {}", path, name, v.size(),
           size, width);
    }
    std::copy(v.begin(), v.end(), out.begin());
  };
  read("observations", obs_, obs_dim_);
  read("next_observations", next_obs_, obs_dim_);
  read("actions", actions_, act_dim_);
  read("rewards", rewards_, 1);
  read("costs", costs_, 1);
  if (f.exists("returns_to_go")) {  // written since offline-to-online fine-tuning (Cal-QL)
    read("returns_to_go", returns_to_go_, 1);
  } else {
    std::fill(returns_to_go_.begin(), returns_to_go_.end(), 0.0f);
  }
  std::vector<float> flags(static_cast<size_t>(capacity_));
  read("terminated", flags, 1);
  for (int64_t i = 0; i < size; ++i) terminated_[i] = flags[i] != 0.0f;
  read("truncated", flags, 1);
  for (int64_t i = 0; i < size; ++i) truncated_[i] = flags[i] != 0.0f;
  size_ = size;
  next_ = next;
}

}  // namespace stitch
