#include "lm/rl.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <span>

#include "core/error.h"
#include "core/timer.h"
#include "lm/policy_io.h"
#include "lm/rl_losses.h"
#include "track/run_files.h"
#include "track/run_log.h"

namespace stitch::lm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Group {
  torch::Tensor tokens, old_lp, mask, adv;  // [G, p + n], [G, n], [G, n], [G] ([G, n]: ppo)
  int64_t p = 0;
  std::vector<bool> correct;          // dpo: which completions solved the problem
  torch::Tensor ref_lp;               // [G, n] the reference's log-probabilities
  torch::Tensor old_values, returns;  // ppo: [G, n]
};

// Whitens the advantages of every group's masked-in tokens together (mean 0, variance 1 with
// Bessel's correction, as TRL's masked_whiten).
void whiten_advantages(std::vector<Group>& groups) {
  double sum = 0.0, count = 0.0;
  for (const Group& g : groups) {
    sum += (g.adv * g.mask).sum().item<double>();
    count += g.mask.sum().item<double>();
  }
  const double mean = sum / count;
  double square = 0.0;
  for (const Group& g : groups) square += ((g.adv - mean).square() * g.mask).sum().item<double>();
  const double scale = 1.0 / std::sqrt(square / std::max(count - 1.0, 1.0) + 1e-8);
  for (Group& g : groups) g.adv = (g.adv - mean) * scale * g.mask;
}

// DPO's pair of a group: the first correct completion and the first incorrect one, or (-1, -1)
// when the group has no such pair.
std::pair<int64_t, int64_t> dpo_pair(const std::vector<bool>& correct) {
  int64_t w = -1, l = -1;
  for (size_t i = 0; i < correct.size(); ++i) {
    if (correct[i] && w < 0) w = static_cast<int64_t>(i);
    if (!correct[i] && l < 0) l = static_cast<int64_t>(i);
  }
  return w >= 0 && l >= 0 ? std::pair{w, l} : std::pair<int64_t, int64_t>{-1, -1};
}

}  // namespace

void RlConfig::describe(ConfigFields& f) {
  f.add("method", method, "grpo, dr_grpo, rloo, ppo or dpo");
  f.add("from", from, "the `lm sft` run to start from (also the KL reference)");
  f.add("steps", steps, "updates", {.min = 1, .max = int64_t{1} << 40});
  f.add("prompts", prompts, "prompts per step", {.min = 1, .max = 4096});
  f.add("group", group, "completions per prompt", {.min = 2, .max = 1024});
  f.add("lr", lr, "AdamW learning rate", {.min = 0, .max = 1, .min_open = true});
  f.add("beta", beta, "KL coefficient", {.min = 0, .max = 100});
  f.add("clip", clip, "ratio clip (grpo, dr_grpo, ppo)", {.min = 0, .max = 10, .min_open = true});
  f.add("gamma", gamma, "ppo: discount over a completion's tokens", {.min = 0, .max = 1});
  f.add("gae_lambda", gae_lambda, "ppo: GAE's lambda", {.min = 0, .max = 1});
  f.add("vf_coef", vf_coef, "ppo: the value loss's weight", {.min = 0, .max = 100});
  f.add("value_clip", value_clip, "ppo: how far a value may move from the sampled one",
        {.min = 0, .max = 100, .min_open = true});
  f.add("temperature", temperature, "sampling temperature",
        {.min = 0, .max = 10, .min_open = true});
  f.add("epochs", epochs, "updates per sampled batch", {.min = 1, .max = 64});
  f.add("train_prompts", train_prompts,
        "a fixed pool of this many training problems (1: one-example RLVR); 0: fresh problems",
        {.min = 0, .max = 1000000});
  f.add("shuffle_rewards", shuffle_rewards,
        "ablation: permute each group's rewards before the advantages");
  f.add("log_every", log_every, "steps between metrics lines", {.min = 1, .max = int64_t{1} << 40});
  f.add("eval_every", eval_every, "steps between held-out evaluations (0: at the end)",
        {.min = 0, .max = int64_t{1} << 40});
  f.add("checkpoint_every", checkpoint_every, "steps between checkpoints",
        {.min = 1, .max = int64_t{1} << 40});
  f.add("eval_problems", eval_problems, "held-out problems", {.min = 1, .max = 100000});
  f.add("seed", seed, "seed of the problems and the samples",
        {.min = 0, .max = std::numeric_limits<uint64_t>::max()});
  f.add("run_dir", run_dir, "run directory");
}

void RlConfig::validate() const {
  if (method != "grpo" && method != "dr_grpo" && method != "rloo" && method != "ppo" &&
      method != "dpo")
    fail("config key 'method': expected grpo, dr_grpo, rloo, ppo or dpo, got '{}'", method);
  if (from.empty()) fail("config key 'from': RL starts from an `lm sft` run (--from DIR)");
  if (run_dir.empty()) fail("config key 'run_dir': an RL run needs --run-dir DIR");
}

RlResult train_rl(const RlConfig& config_in, bool resume) {
  RlConfig c = config_in;
  const fs::path dir = c.run_dir;
  if (resume) {
    if (!fs::exists(dir / "config.json")) fail("{}: not an lm rl run (no config.json)", c.run_dir);
    RlConfig stored;
    resolve_config(stored, (dir / "config.json").string(), {});
    stored.run_dir = c.run_dir;
    c = stored;
  }
  const std::string config_json = config_to_string(c, -1);
  const RunFiles files{.dir = dir, .logs = {"metrics.jsonl", "eval.jsonl"}};
  const fs::path checkpoint = dir / "checkpoints" / "latest.pt";
  RlResult result{.run_dir = dir.string(), .checkpoint = checkpoint.string()};
  in_policy_run(dir, resume, json{{"kind", "lm-rl"}, {"method", c.method}, {"seed", c.seed}}, [&] {
    SftConfig sft;  // the start's task, difficulty and architecture
    PolicyState s;
    s.net = load_sft_policy(c.from, &sft);
    TokenPolicy ref = load_sft_policy(c.from, nullptr);  // the KL reference, fixed
    ref->eval();
    for (auto& p : ref->parameters()) p.requires_grad_(false);
    const bool ppo = c.method == "ppo";
    std::vector<torch::Tensor> trained = s.net->parameters();
    if (ppo) {  // a linear value head on the policy's last hidden state, starting at V = 0
      s.value_head = torch::nn::Linear(s.net->config().width, 1);
      torch::NoGradGuard no_grad;
      s.value_head->weight.zero_();
      s.value_head->bias.zero_();
      for (const auto& p : s.value_head->parameters()) trained.push_back(p);
    }
    s.optim = std::make_unique<torch::optim::AdamW>(
        trained, torch::optim::AdamWOptions(c.lr).weight_decay(0.0));
    const auto task = make_task(sft.task);
    Rng rng(c.seed);
    if (resume) {
      load_policy(checkpoint, s, &rng);
      files.rewind(s.step);
    } else {
      files.start(config_json);
    }
    // The samples' generator continues from the problems' stream, so a resume draws the same.
    auto eval_and_log = [&](int64_t step) {
      result.last =
          evaluate_and_log(dir, step, s.net, *task, sft.difficulty, c.eval_problems, s.tok);
    };
    spdlog::info("lm rl: {} from {} ({} difficulty {})", c.method, c.from, sft.task,
                 sft.difficulty);
    if (!resume) eval_and_log(0);
    RunLog log(dir, s.step, c.steps, "steps");
    Stopwatch since_log;
    double reward_sum = 0.0, correct_sum = 0.0, kl_sum = 0.0, length_sum = 0.0, value_sum = 0.0;
    int64_t samples = 0, value_steps = 0;
    const int64_t context = s.net->config().context;
    std::vector<Problem> pool;  // few-example RLVR: the fixed training problems
    Rng pool_rng(c.seed ^ 0x9e3779b97f4a7c15ULL);
    for (int64_t k = 0; k < c.train_prompts; ++k)
      pool.push_back(training_problem(*task, pool_rng, sft.difficulty));
    while (s.step < c.steps) {
      auto gen = at::detail::createCPUGenerator(rng.next_u64());
      std::vector<Group> groups;
      s.net->eval();
      for (int64_t k = 0; k < c.prompts; ++k) {
        const Problem prob = pool.empty() ? training_problem(*task, rng, sft.difficulty)
                                          : pool[static_cast<size_t>(rng.below(pool.size()))];
        std::vector<int64_t> ids{CharTokenizer::kBos};
        for (const int32_t id : s.tok.encode(prob.prompt)) ids.push_back(id);
        const auto p = static_cast<int64_t>(ids.size());
        if (p >= context)
          fail("lm rl: a prompt of {} tokens leaves no room in the context of {}", p, context);
        const Samples smp = s.net->sample(torch::tensor(ids).repeat({c.group, 1}),
                                          {.max_new_tokens = context - p,
                                           .temperature = c.temperature,
                                           .eos = CharTokenizer::kEos,
                                           .pad = CharTokenizer::kPad},
                                          gen);
        auto r = torch::empty({c.group});
        std::vector<bool> solved(static_cast<size_t>(c.group));
        for (int64_t i = 0; i < c.group; ++i) {
          const auto row = smp.tokens[i].slice(0, p).to(torch::kInt32).contiguous();
          const std::span<const int32_t> out(row.data_ptr<int32_t>(),
                                             static_cast<size_t>(row.numel()));
          const Score score = task->score(prob.prompt, s.tok.decode(out));
          r[i] = score.reward;
          reward_sum += score.reward;
          correct_sum += score.correct ? 1.0 : 0.0;
          solved[static_cast<size_t>(i)] = score.correct;
        }
        if (c.shuffle_rewards) {  // Fisher-Yates from the problems' generator
          for (int64_t i = c.group - 1; i > 0; --i) {
            const auto j = static_cast<int64_t>(rng.below(static_cast<uint64_t>(i + 1)));
            const float t = r[i].item<float>();
            r[i] = r[j].item<float>();
            r[j] = t;
          }
        }
        const int64_t n = smp.log_probs.size(1);
        const auto ref_lp = ref->token_log_probs(smp.tokens).slice(1, p - 1, p - 1 + n);
        const auto seq_kl = ((smp.log_probs - ref_lp) * smp.mask).sum(1);  // log(pi / pi_ref)
        kl_sum += seq_kl.sum().item<double>();
        length_sum += smp.mask.sum().item<double>();
        samples += c.group;
        if (c.method == "rloo") r = r - c.beta * seq_kl;  // the KL in the reward
        if (ppo) {
          torch::Tensor values;
          {
            torch::NoGradGuard no_grad;
            const auto h = s.net->token_log_probs_and_hidden(smp.tokens).second;
            values = s.value_head->forward(h.slice(1, p - 1, p - 1 + n)).squeeze(-1) * smp.mask;
          }
          const auto adv = gae(ppo_rewards(smp.log_probs, ref_lp, smp.mask, r, c.beta), values,
                               smp.mask, c.gamma, c.gae_lambda);
          groups.push_back({smp.tokens, smp.log_probs, smp.mask, adv, p, std::move(solved), ref_lp,
                            values, adv + values});
          continue;
        }
        groups.push_back({smp.tokens, smp.log_probs, smp.mask, group_advantages(c.method, r), p,
                          std::move(solved), ref_lp});
      }
      double tokens = 0.0;  // ppo: its loss is a mean over the batch's tokens
      if (ppo) {
        whiten_advantages(groups);
        for (const Group& g : groups) tokens += g.mask.sum().item<double>();
      }
      s.net->train();
      double loss_value = 0.0, value_loss = 0.0;
      for (int64_t epoch = 0; epoch < c.epochs; ++epoch) {
        value_loss = 0.0;
        s.optim->zero_grad();
        torch::Tensor loss = torch::zeros({});
        for (const Group& g : groups) {
          const int64_t n = g.old_lp.size(1);
          auto [all_lp, hidden] = s.net->token_log_probs_and_hidden(g.tokens);
          const auto lp = all_lp.slice(1, g.p - 1, g.p - 1 + n);
          if (ppo) {
            const auto v = s.value_head->forward(hidden.slice(1, g.p - 1, g.p - 1 + n)).squeeze(-1);
            const PpoLoss l = ppo_loss(lp, g.old_lp, v, g.old_values, g.adv, g.returns, g.mask,
                                       c.clip, c.value_clip, c.vf_coef);
            const double share = g.mask.sum().item<double>() / tokens;
            loss = loss + share * l.total;
            value_loss = value_loss + share * l.value.item<double>();
            continue;
          }
          if (c.method == "rloo") {
            loss = loss + rloo_loss(lp, g.mask, g.adv);
            continue;
          }
          if (c.method == "dpo") {  // on the group's correct / incorrect pair, if it has one
            const auto [w, l] = dpo_pair(g.correct);
            if (w < 0) continue;
            const auto seq = ((lp - g.ref_lp) * g.mask).sum(1);  // log pi/pi_ref per completion
            loss = loss + dpo_loss(seq[w], seq[l], c.beta);
            continue;
          }
          loss = loss + grpo_loss(c.method, lp, g.old_lp, g.ref_lp, g.mask, g.adv, c.clip, c.beta,
                                  context - g.p);
        }
        if (!ppo) loss = loss / static_cast<double>(groups.size());
        // DPO: a batch where no group has both a correct and an incorrect completion leaves
        // nothing to learn from; the step is taken without an update (loss 0).
        if (loss.requires_grad()) {
          loss.backward();
          s.optim->step();
        }
        loss_value = loss.item<double>();
      }
      value_sum += value_loss;
      ++value_steps;
      finish_step(
          s, loss_value, "lm rl", {c.steps, c.log_every, c.eval_every, c.checkpoint_every}, log,
          since_log,
          [&](json& line) {
            const double m = static_cast<double>(std::max<int64_t>(samples, 1));
            line["reward"] = reward_sum / m;
            line["sample_accuracy"] = correct_sum / m;
            line["kl"] = kl_sum / m;
            line["completion_tokens"] = length_sum / m;
            if (ppo)
              line["value_loss"] =
                  value_sum / static_cast<double>(std::max<int64_t>(value_steps, 1));
            reward_sum = correct_sum = kl_sum = length_sum = value_sum = 0.0;
            value_steps = 0;
            samples = 0;
          },
          [&] { eval_and_log(s.step); },
          [&] { save_policy(checkpoint, config_json, context, s, rng); });
    }
    result.steps = s.step;
  });
  return result;
}

RlResult resume_rl(const std::string& run_dir) {
  RlConfig c;
  c.run_dir = run_dir;
  return train_rl(c, true);
}

}  // namespace stitch::lm
