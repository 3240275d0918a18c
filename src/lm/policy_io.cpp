#include "lm/policy_io.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <span>

#include "core/config.h"
#include "core/error.h"
#include "core/log.h"
#include "track/checkpoint.h"
#include "track/meta.h"
#include "track/run_files.h"

namespace stitch::lm {

namespace fs = std::filesystem;

TransformerConfig net_config(const SftConfig& c, const CharTokenizer& tok) {
  return {.vocab = tok.vocab_size(),
          .context = c.context,
          .width = c.width,
          .layers = c.layers,
          .heads = c.heads};
}

TaskEval evaluate_policy(TokenPolicy& net, const Task& task, int difficulty, int count,
                         const CharTokenizer& tok) {
  torch::NoGradGuard no_grad;
  const std::vector<Problem> test = test_set(task, difficulty, count, /*seed=*/0);
  std::map<size_t, std::vector<const Problem*>> by_length;  // the sampler takes one length
  for (const Problem& p : test) by_length[p.prompt.size()].push_back(&p);
  TaskEval e{.problems = static_cast<int>(test.size())};
  auto gen = at::detail::createCPUGenerator(0);
  for (const auto& [length, group] : by_length) {
    const auto b = static_cast<int64_t>(group.size()), p = static_cast<int64_t>(length) + 1;
    auto prompts = torch::empty({b, p}, torch::kLong);
    for (int64_t i = 0; i < b; ++i) {
      prompts[i] =
          prompt_tokens(group[static_cast<size_t>(i)]->prompt, tok, net->config().context)[0];
    }
    const Samples s = net->sample(prompts,
                                  {.max_new_tokens = net->config().context - p,
                                   .temperature = 0.0,
                                   .eos = CharTokenizer::kEos,
                                   .pad = CharTokenizer::kPad},
                                  gen);
    for (int64_t i = 0; i < b; ++i) {
      const Score score =
          score_sample(task, group[static_cast<size_t>(i)]->prompt, s.tokens, i, p, tok);
      e.accuracy += score.correct ? 1.0 : 0.0;
      e.format_rate += score.formatted ? 1.0 : 0.0;
    }
  }
  if (e.problems > 0) {
    e.accuracy /= e.problems;
    e.format_rate /= e.problems;
  }
  return e;
}

TaskEval evaluate_and_log(const fs::path& dir, int64_t step, TokenPolicy& net, const Task& task,
                          int difficulty, int count, const CharTokenizer& tok) {
  net->eval();
  const TaskEval e = evaluate_policy(net, task, difficulty, count, tok);
  append_json_line(dir / "eval.jsonl", nlohmann::json{{"step", step},
                                                      {"accuracy", e.accuracy},
                                                      {"format_rate", e.format_rate},
                                                      {"problems", e.problems}});
  spdlog::info("step {}: held-out accuracy {:.3f}, in format {:.3f} ({} problems)", step,
               e.accuracy, e.format_rate, e.problems);
  return e;
}

torch::Tensor prompt_tokens(const std::string& prompt, const CharTokenizer& tok, int64_t context) {
  const auto p = static_cast<int64_t>(prompt.size()) + 1;
  if (p >= context) {
    fail("lm: a prompt of {} tokens leaves no room in the context of {} (raise context)", p,
         context);
  }
  auto out = torch::empty({1, p}, torch::kLong);
  out[0][0] = CharTokenizer::kBos;
  const auto ids = tok.encode(prompt);
  for (int64_t j = 0; j < p - 1; ++j) out[0][j + 1] = ids[static_cast<size_t>(j)];
  return out;
}

Score score_sample(const Task& task, const std::string& prompt, const torch::Tensor& tokens,
                   int64_t row, int64_t p, const CharTokenizer& tok) {
  const auto ids_t = tokens[row].slice(0, p).to(torch::kInt32).contiguous();
  const std::span<const int32_t> ids(ids_t.data_ptr<int32_t>(), static_cast<size_t>(ids_t.numel()));
  const auto eos = std::find(ids.begin(), ids.end(), CharTokenizer::kEos);
  const bool clean = eos != ids.end() && std::none_of(ids.begin(), eos, [](int32_t id) {
                       return id == CharTokenizer::kBos || id == CharTokenizer::kPad;
                     });
  if (!clean) return {};
  return task.score(prompt, tok.decode(ids));
}

void finish_step(PolicyState& s, double loss, const char* what, const StepSchedule& when,
                 RunLog& log, Stopwatch& since_log,
                 const std::function<void(nlohmann::json&)>& extra,
                 const std::function<void()>& evaluate, const std::function<void()>& save) {
  if (!std::isfinite(loss)) fail("{}: the loss is {} at step {}", what, loss, s.step + 1);
  ++s.step;
  s.loss_sum += loss;
  ++s.losses;
  log.progress(s.step);
  const bool last = s.step == when.steps;
  if (s.step % when.log_every == 0 || last) {
    const double secs = std::max(1e-9, since_log.seconds());
    nlohmann::json line{{"step", s.step},
                        {"loss", s.loss_sum / static_cast<double>(s.losses)},
                        {"steps_per_s", static_cast<double>(s.losses) / secs},
                        {"wall_s", s.wall_s()}};
    if (extra) extra(line);
    log.metrics(s.step, line);
    s.loss_sum = 0.0;
    s.losses = 0;
    since_log.restart();
  }
  if ((when.eval_every > 0 && s.step % when.eval_every == 0) || last) evaluate();
  if (s.step % when.checkpoint_every == 0 || last) save();
}

void save_policy(const fs::path& path, const std::string& config_json, int64_t context,
                 PolicyState& t, const Rng& rng) {
  save_checkpoint(
      path,
      {.config_json = config_json,
       .obs_dim = context,
       .act_dim = t.tok.vocab_size(),
       .sampler_rng = rng.state()},
      [&](torch::serialize::OutputArchive& a) {
        torch::serialize::OutputArchive policy, optim;
        t.net->save(policy);
        t.optim->save(optim);
        a.write("policy", policy);
        if (t.value_head) {
          torch::serialize::OutputArchive value;
          t.value_head->save(value);
          a.write("value_head", value);
        }
        a.write("optimizer", optim);
        a.write("steps", torch::tensor(t.step));
        a.write("loss_window",
                torch::tensor({t.loss_sum, static_cast<double>(t.losses)}, torch::kFloat64));
        a.write("wall_s", torch::tensor(t.wall_s(), torch::kFloat64));
      });
}

void load_policy(const fs::path& path, PolicyState& t, Rng* rng) {
  Checkpoint saved(path.string());
  if (saved.contents().act_dim != t.tok.vocab_size())
    fail("{}: not a token policy of this tokenizer", path.string());
  saved.read_algorithm([&](torch::serialize::InputArchive& a) {
    torch::serialize::InputArchive policy, optim;
    a.read("policy", policy);
    t.net->load(policy);
    if (t.value_head) {
      torch::serialize::InputArchive value;
      if (!a.try_read("value_head", value))
        fail("{}: holds no value head (not a checkpoint of an lm rl PPO run)", path.string());
      t.value_head->load(value);
    }
    if (t.optim) {
      a.read("optimizer", optim);
      t.optim->load(optim);
    }
    torch::Tensor steps, window;
    a.read("steps", steps);
    t.step = steps.item<int64_t>();
    a.read("loss_window", window);
    if (window.numel() != 2) fail("{}: a damaged loss window", path.string());
    t.loss_sum = window[0].item<double>();
    t.losses = static_cast<int64_t>(window[1].item<double>());
    torch::Tensor wall;  // absent from checkpoints written before it was kept
    t.wall_before = 0.0;
    if (a.try_read("wall_s", wall) && wall.numel() == 1) {
      const double w = wall.to(torch::kFloat64).item<double>();
      if (!std::isfinite(w) || w < 0) fail("{}: a damaged wall time ({})", path.string(), w);
      t.wall_before = w;
    }
    t.clock.restart();
  });
  if (rng != nullptr) rng->set_state(saved.contents().sampler_rng);
}

TokenPolicy load_sft_policy(const std::string& run_dir, SftConfig* config) {
  const fs::path dir = run_dir;
  if (!fs::exists(dir / "config.json")) fail("{}: not an lm sft run (no config.json)", run_dir);
  SftConfig c;
  resolve_config(c, (dir / "config.json").string(), {});
  PolicyState s;
  s.net = TokenPolicy(net_config(c, s.tok));
  load_policy(dir / "checkpoints" / "latest.pt", s, nullptr);
  if (config != nullptr) *config = c;
  return s.net;
}

TokenPolicy load_run_policy(const std::string& run_dir, SftConfig* config) {
  const fs::path dir = run_dir;
  if (!fs::exists(dir / "config.json")) fail("{}: not an lm run (no config.json)", run_dir);
  const auto stored = nlohmann::json::parse(read_file_text(dir / "config.json"), nullptr, false);
  if (!stored.is_object()) fail("{}: config.json is not a JSON object", run_dir);
  if (!stored.contains("method")) return load_sft_policy(run_dir, config);
  // An `lm rl` or `lm offline` run: its start's task and shape, its own weights.
  if (!stored.contains("from") || !stored["from"].is_string())
    fail("{}: config.json has a method but no 'from' run", run_dir);
  SftConfig c;
  PolicyState s;
  load_sft_policy(stored["from"].get<std::string>(), &c);
  s.net = TokenPolicy(net_config(c, s.tok));
  load_policy(dir / "checkpoints" / "latest.pt", s, nullptr);
  if (config != nullptr) *config = c;
  return s.net;
}

void in_policy_run(const fs::path& dir, bool resume, const nlohmann::json& fields,
                   const std::function<void()>& body) {
  const RunLock lock(dir);
  const fs::path checkpoint = dir / "checkpoints" / "latest.pt";
  if (resume && !fs::exists(checkpoint)) fail("{}: no checkpoint to resume from", dir.string());
  if (!resume && fs::exists(checkpoint)) {
    fail("{}: already holds a run (checkpoints/latest.pt); resume it or choose another --run-dir",
         dir.string());
  }
  fs::create_directories(dir);
  const LogFileTee tee(dir / "stdout.log");
  RunMeta meta(dir, fields, resume);
  try {
    body();
    meta.finish("finished");
  } catch (const std::exception& e) {
    meta.fail(e.what());
    throw;
  }
}

}  // namespace stitch::lm
