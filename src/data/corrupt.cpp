#include "data/corrupt.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_read.h"
#include "core/rng.h"

namespace stitch {

CorruptTarget parse_corrupt_target(const std::string& name) {
  if (name == "obs" || name == "observations") return CorruptTarget::kObservations;
  if (name == "actions") return CorruptTarget::kActions;
  if (name == "rewards") return CorruptTarget::kRewards;
  if (name == "dynamics") return CorruptTarget::kDynamics;
  fail("--target '{}': expected obs, actions, rewards or dynamics", name);
}

CorruptKind parse_corrupt_kind(const std::string& name) {
  if (name == "random") return CorruptKind::kRandom;
  if (name == "adversarial") return CorruptKind::kAdversarial;
  fail("--kind '{}': expected random or adversarial", name);
}

const char* corrupt_target_name(CorruptTarget target) {
  switch (target) {
    case CorruptTarget::kObservations:
      return "observations";
    case CorruptTarget::kActions:
      return "actions";
    case CorruptTarget::kRewards:
      return "rewards";
    case CorruptTarget::kDynamics:
      return "dynamics";
  }
  return "?";
}

int corrupt_target_bit(CorruptTarget target) {
  switch (target) {
    case CorruptTarget::kObservations:
      return 1;
    case CorruptTarget::kActions:
      return 2;
    case CorruptTarget::kRewards:
      return 4;
    case CorruptTarget::kDynamics:
      return 8;
  }
  return 0;
}

namespace {

// Per-dimension population standard deviation of a [rows, width] column (numpy's std).
std::vector<double> column_std(const std::vector<float>& x, int64_t width) {
  const int64_t rows = width > 0 ? static_cast<int64_t>(x.size()) / width : 0;
  std::vector<double> mean(width, 0.0), m2(width, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < width; ++j) mean[j] += x[r * width + j];
  }
  for (double& m : mean) m /= static_cast<double>(std::max<int64_t>(rows, 1));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < width; ++j) {
      const double d = x[r * width + j] - mean[j];
      m2[j] += d * d;
    }
  }
  for (double& v : m2) v = std::sqrt(v / static_cast<double>(std::max<int64_t>(rows, 1)));
  return m2;
}

}  // namespace

int64_t corrupt_dataset(Dataset& d, const CorruptOptions& o, bool next_recorded,
                        const AdversarialAttack* attack) {
  const char* target = corrupt_target_name(o.target);
  if (!(o.rate >= 0.0 && o.rate <= 1.0)) fail("--rate {}: must be in [0, 1]", o.rate);
  if (!(o.scale >= 0.0 && std::isfinite(o.scale)))
    fail("--scale {}: must be a finite number >= 0", o.scale);
  if (o.target == CorruptTarget::kDynamics && !next_recorded) {
    fail(
        "dynamics corruption needs the next observations the file records; this dataset has none "
        "(they were derived from the following rows)");
  }
  const bool attacked = o.kind == CorruptKind::kAdversarial && o.target != CorruptTarget::kRewards;
  if (attacked && attack == nullptr) {
    fail(
        "adversarial corruption of {} attacks a trained agent's critics: name its checkpoint with "
        "--attack (e.g. a run of stitch train --algo edac on the clean data)",
        target);
  }

  Rng rng(o.seed);
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < d.size(); ++i) {
    if (rng.uniform() < o.rate) rows.push_back(i);
  }
  auto perturb = [&](std::vector<float>& column, int64_t width) {
    const std::vector<double> std = column_std(column, width);  // of the clean column
    if (attacked) {
      (*attack)(d, o.target, rows, std, o.scale, column, rng);
      return;
    }
    for (const int64_t i : rows) {
      for (int64_t j = 0; j < width; ++j) {
        column[i * width + j] += static_cast<float>(rng.uniform(-o.scale, o.scale) * std[j]);
      }
    }
  };
  switch (o.target) {
    case CorruptTarget::kObservations:
      perturb(d.observations, d.obs_dim);
      break;
    case CorruptTarget::kActions:
      perturb(d.actions, d.act_dim);
      break;
    case CorruptTarget::kDynamics:
      perturb(d.next_observations, d.obs_dim);
      break;
    case CorruptTarget::kRewards:
      for (const int64_t i : rows) {
        d.rewards[i] = o.kind == CorruptKind::kRandom
                           ? static_cast<float>(rng.uniform(-30.0 * o.scale, 30.0 * o.scale))
                           : static_cast<float>(-o.scale * d.rewards[i]);
      }
      break;
  }

  Column& marks = d.infos["corrupted"];
  if (marks.data.empty()) {
    marks.width = 1;
    marks.data.assign(static_cast<size_t>(d.size()), 0.0);
  }
  const int bit = corrupt_target_bit(o.target);
  for (const int64_t i : rows) {
    const auto v = static_cast<int>(marks.data[i]);
    marks.data[i] = static_cast<double>(v | bit);
  }
  auto record = nlohmann::json::array();
  if (const auto it = d.metadata.find("corruption"); it != d.metadata.end()) {
    // Through the depth check: the record is copied and dumped below, which recurses.
    auto j = parse_json(d.metadata_string("corruption"), "metadata 'corruption'");
    if (j.is_array()) record = j;
  }
  record.push_back({{"target", target},
                    {"kind", o.kind == CorruptKind::kRandom ? "random" : "adversarial"},
                    {"rate", o.rate},
                    {"scale", o.scale},
                    {"seed", o.seed},
                    {"rows", rows.size()}});
  d.set_metadata_string("corruption", record.dump());
  d.index_episodes();  // rewards may have changed the returns
  return static_cast<int64_t>(rows.size());
}

}  // namespace stitch
