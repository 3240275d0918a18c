// `stitch lm rl --method grpo|dr_grpo|rloo|ppo|dpo --from SFT_RUN`: reinforcement learning with
// verifiable rewards on a token policy trained by `stitch lm sft` (lm/sft.h), on the task and
// difficulty of that run. Each step draws `prompts` training problems, samples a group of
// `group` completions per prompt (temperature, the KV cache), scores them with the task's
// checker (1 correct, 0.1 in the answer's form, 0 otherwise) and takes one AdamW step:
//
//   grpo     (Shao et al. 2024, DeepSeekMath, Sec. 4.1): A_i = (r_i - mean r) / (std r + 1e-4)
//            per group (std with Bessel's correction), the clipped ratio objective per token
//            with clip `clip`, minus beta times the k3 KL to the reference (the SFT policy):
//            exp(ref - new) - (ref - new) - 1; each completion's tokens averaged (1/|o_i|), then
//            the completions.
//   dr_grpo  (Liu et al. 2025, "Understanding R1-Zero-Like Training"): A_i = r_i - mean r, and
//            the token terms summed and divided by the constant max_new_tokens x group.
//   rloo     (Ahmadian et al. 2024; Kool et al. 2019): sequence-level REINFORCE, the reward less
//            beta times the sequence's log(pi / pi_ref) (no gradient through it), baseline the
//            mean of the other group - 1 rewards: loss = -(1/G) sum_i A_i log pi(o_i).
//   ppo      (Schulman et al. 2017; for language models as Ziegler et al. 2019 and TRL's
//            PPOTrainer): a linear value head on the policy's last hidden state (shared trunk,
//            starting at V = 0); per-token rewards -beta (log pi - log pi_ref) and the checker's
//            reward on the last token; GAE (gamma, gae_lambda) per completion, the advantages
//            whitened over the batch's tokens; the clipped ratio loss plus vf_coef times the
//            clipped value loss, means over the batch's tokens (lm/rl_losses.h). TRL's defaults
//            (gamma 1, lambda 0.95, clip 0.2, value clip 0.2, vf_coef 0.1) but two: TRL's KL
//            coefficient (adaptive from 0.2 in its first PPOTrainer, 0.05 fixed in the later
//            one, which also keeps the value model apart) is beta here, fixed; and TRL runs 4
//            epochs of minibatches per batch (here `epochs`, 1 as for the other methods).
//   dpo      (Rafailov et al. 2023) on the policy's own samples, online and iterated (as Pang et
//            al. 2024's Iterative RPO builds its pairs, without its NLL term): in each group the
//            first correct completion against the first incorrect one, loss -log sigmoid(beta
//            ((log pi - log pi_ref)(winner) - (log pi - log pi_ref)(loser))), the sums over each
//            completion's tokens, the reference the SFT start; groups without such a pair are
//            skipped. beta 0.1 is DPO's default (--set beta=0.1).
//
// Defaults are for ~0.1M-parameter policies trained here (lr 1e-4 rather than the papers' 1e-6
// for 7B models; G 8 as TRL; beta 0.04 as DeepSeekMath; clip 0.2; one update per batch, so the
// ratio is 1 at the update and the clip only matters with epochs > 1). The log-probabilities of
// the sampled tokens are the policy's at temperature 1 (lm/transformer.h), as the ratio needs.
#pragma once

#include <cstdint>
#include <string>

#include "core/config.h"
#include "lm/sft.h"

namespace stitch::lm {

struct RlConfig {
  std::string method = "grpo";
  std::string from;  // an `lm sft` run directory: the start and the KL reference
  int64_t steps = 200;
  int64_t prompts = 16;  // per step
  int64_t group = 8;     // completions per prompt
  double lr = 1e-4;
  double beta = 0.04;
  double clip = 0.2;
  double temperature = 1.0;
  // An ablation: each group's rewards permuted at random before the advantages, so a reward says
  // nothing about its own completion (what a learning gain owes to the reward signal).
  bool shuffle_rewards = false;
  // Updates per sampled batch (PPO-style reuse; the ratio departs from 1 after the first).
  int64_t epochs = 1;
  double gamma = 1.0, gae_lambda = 0.95, vf_coef = 0.1, value_clip = 0.2;  // ppo
  // Few-example RLVR: > 0 trains on a fixed pool of this many training problems (drawn from the
  // seed), each step's prompts drawn from it; 1 is one-example RLVR (Wang et al. 2025,
  // "Reinforcement Learning for Reasoning in Large Language Models with One Training Example"). 0:
  // a new training problem for every prompt.
  int64_t train_prompts = 0;
  int64_t log_every = 10, eval_every = 50, checkpoint_every = 50;
  int eval_problems = 200;
  uint64_t seed = 0;
  std::string run_dir;
  void describe(ConfigFields& f);
  void validate() const;
};

struct RlResult {
  int64_t steps = 0;
  TaskEval last;  // held-out greedy accuracy at the end
  std::string run_dir, checkpoint;
};

// Trains (resume: continues config.run_dir from its checkpoint with its stored config). The run
// directory as `lm sft`'s; eval.jsonl starts with the start policy's evaluation at step 0.
RlResult train_rl(const RlConfig& config, bool resume);
RlResult resume_rl(const std::string& run_dir);

}  // namespace stitch::lm
