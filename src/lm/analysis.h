// Analyses of token policies from the papers the LM-RL issue names (docs/lm.md):
//
//   pass@k           Chen et al. 2021, "Evaluating Large Language Models Trained on Code"
//                    (Sec. 2.1): n samples per problem, c of them correct, the unbiased estimator
//                    1 - C(n - c, k) / C(n, k), averaged over the problems. Yue et al. 2025 ("Does
//                    Reinforcement Learning Really Incentivize Reasoning Capacity in LLMs Beyond
//                    the Base Model?") compare base and RL-trained policies with it over k.
//   update sparsity  Mukherjee et al. 2025, "Reinforcement Learning Finetunes Small Subnetworks in
//                    Large Language Models": the fraction of parameters whose value moved by more
//                    than a tolerance between two checkpoints.
//
// Both read the runs of `stitch lm sft` and `stitch lm rl` (an RL run: its own checkpoint, with
// the task and network shape of the SFT run it started from).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace stitch::lm {

// 1 - C(n - c, k) / C(n, k), as a product (no overflowing binomials); Error unless
// 0 <= c <= n and 1 <= k <= n.
double pass_at_k(int64_t n, int64_t c, int64_t k);

struct PassAtKOptions {
  std::vector<int64_t> ks{1};
  int64_t samples = 0;  // n per problem; 0: the largest k
  int problems = 200;   // held-out problems (test_set with seed 0, as greedy evaluation)
  double temperature = 1.0;
  uint64_t seed = 0;  // the samples' generator
};

struct PassAtKResult {
  std::string task;
  int difficulty = 0;
  int problems = 0;
  int64_t samples = 0;
  std::vector<std::pair<int64_t, double>> pass;  // (k, pass@k)
  double mean_correct = 0.0;                     // of all samples: pass@1's plain estimate
};

// pass@k of a run's policy (checkpoints/latest.pt) on held-out problems of its task.
PassAtKResult pass_at_k_of_run(const std::string& run_dir, const PassAtKOptions& options);

struct ParameterChange {
  int64_t parameters = 0;
  int64_t changed = 0;  // |after - before| > tolerance
  double fraction() const {
    return parameters > 0 ? static_cast<double>(changed) / static_cast<double>(parameters) : 0.0;
  }
};

// How many of the policy's parameters differ between two runs' checkpoints (the same network
// shape; Error naming both otherwise) by more than `tolerance`.
ParameterChange changed_parameters(const std::string& run_dir, const std::string& base_run_dir,
                                   double tolerance);

}  // namespace stitch::lm
