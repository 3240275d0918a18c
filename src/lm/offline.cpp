#include "lm/offline.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/timer.h"
#include "lm/policy_io.h"
#include "track/durable.h"
#include "track/run_files.h"
#include "track/run_log.h"

namespace stitch::lm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A logged row as the policy reads it: bos, the prompt, the completion (and eos when it ended).
struct Row {
  std::vector<int64_t> tokens;
  int64_t p = 0, n = 0;  // prompt tokens (with bos), completion tokens (with eos)
  double advantage = 0.0, ref_log_prob = 0.0;
};

// Rows `picked` of `rows` padded into one batch: tokens [B, T] and the completion mask [B, T - 1]
// over token_log_probs' positions.
std::pair<torch::Tensor, torch::Tensor> batch_of(const std::vector<Row>& rows,
                                                 const std::vector<int64_t>& picked) {
  int64_t t = 0;
  for (int64_t i : picked) t = std::max<int64_t>(t, rows[i].tokens.size());
  auto tokens =
      torch::full({static_cast<int64_t>(picked.size()), t}, CharTokenizer::kPad, torch::kLong);
  auto mask = torch::zeros({static_cast<int64_t>(picked.size()), t - 1});
  auto tok = tokens.accessor<int64_t, 2>();
  auto m = mask.accessor<float, 2>();
  for (size_t b = 0; b < picked.size(); ++b) {
    const Row& r = rows[picked[b]];
    for (size_t j = 0; j < r.tokens.size(); ++j) tok[b][j] = r.tokens[j];
    for (int64_t j = r.p; j < r.p + r.n; ++j) m[b][j - 1] = 1.0f;
  }
  return {tokens, mask};
}

// Each row's completion log-probability under `net` (no gradient), in batches.
std::vector<double> sequence_log_probs(TokenPolicy& net, const std::vector<Row>& rows) {
  torch::NoGradGuard no_grad;
  std::vector<double> out(rows.size());
  std::vector<int64_t> picked;
  for (size_t start = 0; start < rows.size(); start += 256) {
    picked.clear();
    for (size_t i = start; i < std::min(rows.size(), start + 256); ++i) picked.push_back(i);
    const auto [tokens, mask] = batch_of(rows, picked);
    const auto seq = (net->token_log_probs(tokens) * mask).sum(1);
    for (size_t b = 0; b < picked.size(); ++b) out[picked[b]] = seq[b].item<double>();
  }
  return out;
}

}  // namespace

LogSummary write_sequence_log(const LogConfig& c) {
  if (c.out.empty()) fail("lm log: --out FILE is required");
  if (c.prompts < 1 || c.samples < 1) fail("lm log: --prompts and --samples must be 1 or more");
  if (!(c.temperature > 0.0)) fail("lm log: --temperature must be above 0");
  SftConfig task_config;
  TokenPolicy net = load_run_policy(c.run_dir, &task_config);
  net->eval();
  const auto task = make_task(task_config.task);
  const CharTokenizer tok;
  torch::NoGradGuard no_grad;
  Rng rng(c.seed);
  auto gen = at::detail::createCPUGenerator(rng.next_u64());
  std::string text;
  LogSummary s;
  for (int64_t k = 0; k < c.prompts; ++k) {
    const Problem prob = training_problem(*task, rng, task_config.difficulty);
    const torch::Tensor prompt = prompt_tokens(prob.prompt, tok, net->config().context);
    const int64_t p = prompt.size(1);
    const Samples smp = net->sample(prompt.expand({c.samples, p}).contiguous(),
                                    {.max_new_tokens = net->config().context - p,
                                     .temperature = c.temperature,
                                     .eos = CharTokenizer::kEos,
                                     .pad = CharTokenizer::kPad},
                                    gen);
    for (int64_t i = 0; i < c.samples; ++i) {
      const auto out = smp.tokens[i].slice(0, p).to(torch::kInt32).contiguous();
      const std::span<const int32_t> ids(out.data_ptr<int32_t>(), static_cast<size_t>(out.numel()));
      const bool ended = std::find(ids.begin(), ids.end(), CharTokenizer::kEos) != ids.end();
      const Score score = score_sample(*task, prob.prompt, smp.tokens, i, p, tok);
      text += json{{"prompt", prob.prompt},
                   {"completion", tok.decode(ids)},
                   {"ended", ended},
                   {"reward", score.reward},
                   {"correct", score.correct}}
                  .dump();
      text += '\n';
      ++s.rows;
      s.mean_reward += score.reward;
      s.accuracy += score.correct ? 1.0 : 0.0;
    }
  }
  write_file_atomic(c.out, text);
  s.mean_reward /= static_cast<double>(s.rows);
  s.accuracy /= static_cast<double>(s.rows);
  return s;
}

std::vector<LoggedSequence> read_sequence_log(const std::string& path, int64_t max_rows) {
  std::ifstream in(path);
  if (!in) fail("{}: cannot open the sequence log", path);
  std::vector<LoggedSequence> rows;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    if (static_cast<int64_t>(rows.size()) >= max_rows)
      fail("{}: more than {} rows", path, max_rows);
    const json j = json::parse(line, nullptr, false);
    auto bad = [&](const char* what) { fail("{}:{}: {}", path, number, what); };
    if (!j.is_object()) bad("not a JSON object");
    LoggedSequence r;
    if (!j.contains("prompt") || !j["prompt"].is_string() || j["prompt"].get<std::string>().empty())
      bad("'prompt' must be a non-empty string");
    if (!j.contains("completion") || !j["completion"].is_string())
      bad("'completion' must be a string");
    if (!j.contains("ended") || !j["ended"].is_boolean()) bad("'ended' must be true or false");
    if (!j.contains("correct") || !j["correct"].is_boolean())
      bad("'correct' must be true or false");
    if (!j.contains("reward") || !j["reward"].is_number() ||
        !(std::abs(j["reward"].get<double>()) <= 1e6))
      bad("'reward' must be a number in [-1e6, 1e6]");
    r.prompt = j["prompt"].get<std::string>();
    r.completion = j["completion"].get<std::string>();
    r.ended = j["ended"].get<bool>();
    r.correct = j["correct"].get<bool>();
    r.reward = j["reward"].get<double>();
    rows.push_back(std::move(r));
  }
  if (rows.empty()) fail("{}: no rows", path);
  return rows;
}

void OfflineConfig::describe(ConfigFields& f) {
  f.add("method", method, "alol, nll or dpo");
  f.add("from", from, "the `lm sft` run to start from (also the reference)");
  f.add("data", data, "the sequence log (`stitch lm log`)");
  f.add("steps", steps, "updates", {.min = 1, .max = int64_t{1} << 40});
  f.add("batch_size", batch_size, "rows (dpo: pairs) per update", {.min = 1, .max = 65536});
  f.add("lr", lr, "AdamW learning rate", {.min = 0, .max = 1, .min_open = true});
  f.add("clip", clip, "alol: the importance weight's clip", {.min = 0, .max = 1});
  f.add("beta", beta, "dpo: the preference temperature", {.min = 0, .max = 100, .min_open = true});
  f.add("log_every", log_every, "steps between metrics lines", {.min = 1, .max = int64_t{1} << 40});
  f.add("eval_every", eval_every, "steps between held-out evaluations (0: only at the end)",
        {.min = 0, .max = int64_t{1} << 40});
  f.add("checkpoint_every", checkpoint_every, "steps between checkpoints",
        {.min = 1, .max = int64_t{1} << 40});
  f.add("eval_problems", eval_problems, "held-out problems per evaluation",
        {.min = 1, .max = 100000});
  f.add("seed", seed, "seed");
  f.add("run_dir", run_dir, "run directory");
}

void OfflineConfig::validate() const {
  if (method != "alol" && method != "nll" && method != "dpo")
    fail("config key 'method': expected alol, nll or dpo, got '{}'", method);
  if (from.empty()) fail("config key 'from': offline training starts from an `lm sft` run");
  if (data.empty()) fail("config key 'data': a sequence log (`stitch lm log --out FILE`)");
  if (run_dir.empty()) fail("config key 'run_dir': an offline run needs --run-dir DIR");
}

RlResult train_offline(const OfflineConfig& config_in, bool resume) {
  OfflineConfig c = config_in;
  const fs::path dir = c.run_dir;
  if (resume) {
    if (!fs::exists(dir / "config.json"))
      fail("{}: not an lm offline run (no config.json)", c.run_dir);
    OfflineConfig stored;
    resolve_config(stored, (dir / "config.json").string(), {});
    stored.run_dir = c.run_dir;
    c = stored;
  }
  const std::string config_json = config_to_string(c, -1);
  const RunFiles files{.dir = dir, .logs = {"metrics.jsonl", "eval.jsonl"}};
  const fs::path checkpoint = dir / "checkpoints" / "latest.pt";
  RlResult result{.run_dir = dir.string(), .checkpoint = checkpoint.string()};
  in_policy_run(
      dir, resume, json{{"kind", "lm-offline"}, {"method", c.method}, {"seed", c.seed}}, [&] {
        SftConfig sft;
        PolicyState s;
        s.net = load_sft_policy(c.from, &sft);
        TokenPolicy ref = load_sft_policy(c.from, nullptr);
        ref->eval();
        for (auto& p : ref->parameters()) p.requires_grad_(false);
        s.optim = std::make_unique<torch::optim::AdamW>(
            s.net->parameters(), torch::optim::AdamWOptions(c.lr).weight_decay(0.0));
        const auto task = make_task(sft.task);
        const int64_t context = s.net->config().context;

        // The log as token rows, each prompt's value and the rows' advantages.
        const std::vector<LoggedSequence> logged = read_sequence_log(c.data);
        std::vector<Row> rows;
        std::map<std::string, std::pair<double, int64_t>> value;  // prompt: reward sum, count
        for (size_t i = 0; i < logged.size(); ++i) {
          const LoggedSequence& l = logged[i];
          Row r;
          r.tokens.push_back(CharTokenizer::kBos);
          for (int32_t id : s.tok.encode(l.prompt)) r.tokens.push_back(id);
          r.p = static_cast<int64_t>(r.tokens.size());
          for (int32_t id : s.tok.encode(l.completion)) r.tokens.push_back(id);
          if (l.ended) r.tokens.push_back(CharTokenizer::kEos);
          r.n = static_cast<int64_t>(r.tokens.size()) - r.p;
          if (static_cast<int64_t>(r.tokens.size()) > context || r.n < 1) {
            fail("{}: row {} has {} tokens ({} of completion); the policy's context holds {}",
                 c.data, i + 1, r.tokens.size(), r.n, context);
          }
          auto& [sum, count] = value[l.prompt];
          sum += l.reward;
          ++count;
          rows.push_back(std::move(r));
        }
        // The reference's log-probabilities (A-LoL's weight, DPO's margin; NLL reads none).
        const std::vector<double> ref_lp = c.method == "nll" ? std::vector<double>(rows.size(), 0.0)
                                                             : sequence_log_probs(ref, rows);
        std::vector<int64_t> pool;  // the rows (alol, nll) or the pairs' winners (dpo) trained on
        std::vector<int64_t> losers;
        std::map<std::string, std::pair<int64_t, int64_t>> pair_of;  // dpo: prompt: winner, loser
        for (size_t i = 0; i < rows.size(); ++i) {
          rows[i].ref_log_prob = ref_lp[i];
          const auto& [sum, count] = value.at(logged[i].prompt);
          rows[i].advantage = logged[i].reward - sum / static_cast<double>(count);
          if (c.method == "alol" && rows[i].advantage > 0.0)
            pool.push_back(static_cast<int64_t>(i));
          if (c.method == "nll") pool.push_back(static_cast<int64_t>(i));
          if (c.method == "dpo") {
            auto [it, fresh] = pair_of.try_emplace(logged[i].prompt, -1, -1);
            auto& [w, l] = it->second;
            if (logged[i].correct && w < 0) w = static_cast<int64_t>(i);
            if (!logged[i].correct && l < 0) l = static_cast<int64_t>(i);
          }
        }
        if (c.method == "dpo") {
          for (const auto& [prompt, wl] : pair_of) {
            if (wl.first < 0 || wl.second < 0) continue;
            pool.push_back(wl.first);
            losers.push_back(wl.second);
          }
        }
        if (pool.empty()) {
          fail("lm offline: {} gives {} nothing to train on ({})", c.data, c.method,
               c.method == "alol" ? "no completion beats its prompt's mean reward"
                                  : "no prompt has both a correct and an incorrect completion");
        }
        spdlog::info("lm offline: {} from {} on {} ({} rows, {} {})", c.method, c.from, c.data,
                     rows.size(), pool.size(), c.method == "dpo" ? "pairs" : "rows trained on");

        Rng rng(c.seed);
        if (resume) {
          load_policy(checkpoint, s, &rng);
          files.rewind(s.step);
        } else {
          files.start(config_json);
        }
        auto eval_and_log = [&](int64_t step) {
          result.last =
              evaluate_and_log(dir, step, s.net, *task, sft.difficulty, c.eval_problems, s.tok);
        };
        if (!resume) eval_and_log(0);
        RunLog log(dir, s.step, c.steps, "steps");
        Stopwatch since_log;
        double weight = 0.0, advantage = 0.0;  // alol: the last batch's means
        std::vector<int64_t> picked, picked_losers;
        while (s.step < c.steps) {
          picked.clear();
          picked_losers.clear();
          for (int64_t b = 0; b < c.batch_size; ++b) {
            const auto k = static_cast<int64_t>(rng.below(pool.size()));
            picked.push_back(pool[static_cast<size_t>(k)]);
            if (c.method == "dpo") picked_losers.push_back(losers[static_cast<size_t>(k)]);
          }
          s.net->train();
          s.optim->zero_grad();
          torch::Tensor loss;
          const auto [tokens, mask] = batch_of(rows, picked);
          const auto seq = (s.net->token_log_probs(tokens) * mask).sum(1);  // log pi(y | x)
          auto ref_of = [&](const std::vector<int64_t>& which) {
            std::vector<double> v;
            for (int64_t i : which) v.push_back(rows[i].ref_log_prob);
            return torch::tensor(v, torch::kFloat32);
          };
          if (c.method == "nll") {
            loss = -seq.sum() / mask.sum();
          } else if (c.method == "alol") {
            std::vector<double> a;
            for (int64_t i : picked) a.push_back(rows[i].advantage);
            const auto adv = torch::tensor(a, torch::kFloat32);
            const auto w =
                torch::exp(seq.detach() - ref_of(picked)).clamp(1.0 - c.clip, 1.0 + c.clip);
            loss = -(adv * w * seq).mean();
            weight = w.mean().item<double>();
            advantage = adv.mean().item<double>();
          } else {  // dpo
            const auto [lt, lm] = batch_of(rows, picked_losers);
            const auto lose = (s.net->token_log_probs(lt) * lm).sum(1);
            loss = -torch::log_sigmoid(c.beta *
                                       ((seq - ref_of(picked)) - (lose - ref_of(picked_losers))))
                        .mean();
          }
          loss.backward();
          s.optim->step();
          finish_step(
              s, loss.item<double>(), "lm offline",
              {c.steps, c.log_every, c.eval_every, c.checkpoint_every}, log, since_log,
              [&](json& line) {
                if (c.method == "alol") {  // the last batch's
                  line["importance_weight"] = weight;
                  line["advantage"] = advantage;
                }
              },
              [&] { eval_and_log(s.step); },
              [&] { save_policy(checkpoint, config_json, context, s, rng); });
        }
        result.steps = s.step;
      });
  return result;
}

RlResult resume_offline(const std::string& run_dir) {
  OfflineConfig c;
  c.run_dir = run_dir;
  return train_offline(c, true);
}

}  // namespace stitch::lm
