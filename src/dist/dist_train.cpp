#include "dist/dist_train.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "algo/online_run.h"
#include "algo/run_shell.h"
#include "algo/sac_core.h"
#include "algo/training_loop.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/runtime.h"
#include "core/stop.h"
#include "core/timer.h"
#include "data/sampler.h"
#include "deploy/gaussian_from_torch.h"
#include "dist/mpi_util.h"
#include "env/registry.h"
#include "env/vector_env.h"
#include "nn/matmul.h"
#include "nn/nn.h"
#include "track/durable.h"
#include "track/run_files.h"
#include "track/run_log.h"

namespace stitch::build_info {
const char* git_commit();
}  // namespace stitch::build_info

namespace stitch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kTagStart = 10;      // learner -> actor: the start message (text)
constexpr int kTagHello = 11;      // actor -> learner: the hello (text)
constexpr int kTagToActor = 12;    // learner -> actor: replies and stop (floats)
constexpr int kTagToLearner = 13;  // actor -> learner: chunks and bye (floats)

constexpr int64_t kChunkSteps = 32;  // env steps of each env per chunk
constexpr int64_t kParamEvery = 32;  // updates between two parameter versions
constexpr int kWindow = 2;           // chunks an actor may have unacknowledged
constexpr int64_t kHeader = 5;       // a chunk's: kind, rows, episodes, version (2 floats)

// The first float of every message says what it is.
enum Kind : int { kChunk = 1, kBye = 2, kAck = 3, kParams = 4, kStop = 5 };

// Integers in float messages: v + 1 (so -1, "none", is 0) as two parts below 2^24, each exact in a
// float, so gradient steps up to 2^48 survive.
void put_int(std::vector<float>& m, int64_t v) {
  const auto u = static_cast<uint64_t>(v + 1);
  m.push_back(static_cast<float>(u >> 24));
  m.push_back(static_cast<float>(u & 0xFFFFFF));
}
int64_t get_int(const float* p) {
  return static_cast<int64_t>((static_cast<uint64_t>(p[0]) << 24) + static_cast<uint64_t>(p[1])) -
         1;
}

// What `train --dist` runs: checked on rank 0 before anything is written, so that a refusal
// stops the actors cleanly (dist::EveryoneStopped) with one error line.
void check_distributable(const ResolvedTrainConfig& cfg) {
  const TrainConfig& c = cfg.train;
  if (cfg.entry->name != "sac") fail("train --dist: trains sac, not {}", cfg.entry->name);
  if (!c.from.empty() || c.offline_ratio > 0)
    fail("train --dist: online from scratch only (no fine-tuning, no offline data)");
  if (c.snapshot_every > 0) fail("train --dist: snapshot_every is not supported (set it to 0)");
}

// The SAC actor (its tanh-Gaussian policy module).
nn::TanhGaussianPolicyImpl& sac_actor(Algorithm& algo) {
  for (auto& [name, module] : algo.modules()) {
    if (name != "actor") continue;
    if (auto* actor = dynamic_cast<nn::TanhGaussianPolicyImpl*>(module)) return *actor;
  }
  fail("train --dist: {} has no tanh-Gaussian actor", algo.name());
}

// ---- the learners (ranks 0..L-1) ------------------------------------------------------------

// The learners' own communicator and this learner's place in it. Learner 0 (rank 0) owns the run
// directory; actor rank r (r >= L) sends to learner (r - L) mod L.
struct Learners {
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0, size = 1;
  bool lead() const { return rank == 0; }
  bool owns(int actor_rank) const { return (actor_rank - size) % size == rank; }
};

// FNV-1a over every parameter and buffer of the algorithm's modules (networks, targets, the
// fused path's Adam state, the temperature; not the temperature's own torch Adam, whose drift
// would show in the temperature a step later): equal on two learners only if those are
// bit-identical.
uint64_t state_hash(Algorithm& algo) {
  uint64_t h = 0xcbf29ce484222325ULL;
  auto add = [&](const torch::Tensor& t) {
    const torch::Tensor c = t.contiguous();
    const auto* p = static_cast<const unsigned char*>(c.data_ptr());
    for (size_t i = 0, n = c.nbytes(); i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  };
  for (auto& [name, module] : algo.modules()) {
    for (const auto& t : module->parameters()) add(t);
    for (const auto& t : module->buffers()) add(t);
  }
  return h;
}

// Every learner's state hash against learner 0's; Error on every learner when one differs.
void check_identical(Algorithm& algo, const Learners& group) {
  if (group.size == 1) return;
  const uint64_t mine = state_hash(algo);
  std::vector<uint64_t> all(static_cast<size_t>(group.size));
  MPI_Allgather(&mine, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, group.comm);
  for (int k = 1; k < group.size; ++k) {
    if (all[static_cast<size_t>(k)] != all[0]) {
      fail("train --dist: learner {}'s parameters differ from learner 0's at gradient step {}", k,
           algo.steps());
    }
  }
}

// Data parallel (L > 1): each gradient becomes the mean over the learners, summed on learner 0
// and broadcast from it, so that every learner receives the same bytes (an all-reduce need not
// give every rank the same rounding).
SacCore::GradientHook mean_over(const Learners& group, double& seconds) {
  const float scale = 1.0f / static_cast<float>(group.size);
  return {.flat =
              [&group, &seconds, scale](float* g, int64_t n) {
                Stopwatch clock;
                const int count = static_cast<int>(n);
                MPI_Reduce(group.lead() ? MPI_IN_PLACE : g, g, count, MPI_FLOAT, MPI_SUM, 0,
                           group.comm);
                if (group.lead()) {
                  for (int64_t i = 0; i < n; ++i) g[i] *= scale;
                }
                MPI_Bcast(g, count, MPI_FLOAT, 0, group.comm);
                seconds += clock.seconds();
              },
          .scalar =
              [&group](double g) {
                double sum = 0;
                MPI_Reduce(&g, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, group.comm);
                sum /= static_cast<double>(group.size);
                MPI_Bcast(&sum, 1, MPI_DOUBLE, 0, group.comm);
                return sum;
              }};
}

struct ActorStats {
  int64_t sent_version = -1;  // the newest parameters sent to it
  std::unique_ptr<dist::SendSlot> reply = std::make_unique<dist::SendSlot>();
};

// One learner's loop; learner 0 also writes the run directory (logs, evaluations,
// checkpoints). The learners go in rounds: each takes in one chunk from one of its actors, they
// share their row and episode counts (and any stop request), every learner adds the total to
// the env step and the update credit, and all make the same number of updates, their gradients
// averaged. Ranks 0..L-1 therefore hold the same parameters throughout (checked at every metrics
// line).
TrainResult learn(const ResolvedTrainConfig& cfg, bool resume, const dist::World& world,
                  const Learners& group) {
  const TrainConfig& c = cfg.train;
  check_distributable(cfg);
  if (group.lead()) {  // the other learners build theirs from the same config
    for (int k = 1; k < group.size; ++k) {
      dist::send_text(json{{"config", cfg.json_text},
                           {"resume", resume},
                           {"run_dir", c.run_dir},
                           {"bf16", nn::fused::matmul_precision() == nn::fused::Precision::kBf16}}
                          .dump(),
                      k, kTagStart);
    }
  }
  std::unique_ptr<OnlineRun> owned;
  try {
    owned = std::make_unique<OnlineRun>(cfg, resume, group.lead());
  } catch (const std::exception& e) {
    if (group.lead()) throw;
    fail(
        "learner {}: {} (a resume with several learners reads the run directory on every "
        "learner's host)",
        group.rank, e.what());
  }
  OnlineRun& run = *owned;
  const AlgoDims& dims = run.dims;
  Algorithm* algo = run.algo.get();
  OnlineLoopState& state = run.state;
  int64_t& step = state.env_step;
  nn::TanhGaussianPolicyImpl& actor = sac_actor(*algo);
  double reduce_seconds = 0.0;
  if (group.size > 1) {
    auto* core = dynamic_cast<SacCore*>(algo);
    if (core == nullptr) fail("train --dist --learners: {} is not on the SAC core", algo->name());
    core->set_gradient_hook(mean_over(group, reduce_seconds));
    if (!group.lead()) {  // its own draws: minibatches and the update's noise
      const uint64_t stream =
          Rng(c.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(group.rank) * 7919 +
              static_cast<uint64_t>(step))
              .next_u64();
      run.rng = Rng(stream);
      core->reseed(Rng(stream).next_u64() ^ 0x5DEECE66DULL);
    }
  }
  check_identical(*algo, group);  // the same seed or checkpoint: the same start

  // Start this learner's actors, then check what each says it runs.
  std::vector<int> mine;  // this learner's actor ranks
  for (int r = group.size; r < world.size; ++r) {
    if (group.owns(r)) mine.push_back(r);
  }
  const GaussianPolicy::Shape shape = gaussian_shape(actor, dims.obs_dim, dims.act_dim);
  const bool push = step >= c.learning_starts;  // a resume: the policy goes out first
  for (int r : mine) {
    const json start{
        {"config", cfg.json_text},
        {"params_follow", push},
        {"policy",
         {{"obs_dim", shape.obs_dim},
          {"act_dim", shape.act_dim},
          {"hidden", shape.hidden},
          {"max_action", shape.max_action},
          {"log_std_min", shape.log_std_min},
          {"log_std_max", shape.log_std_max}}},
        {"seed", Rng(Rng(c.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(r)).next_u64() +
                     static_cast<uint64_t>(step))
                     .next_u64()}};
    dist::send_text(start.dump(), r, kTagStart);
  }
  const json expected{{"env", c.env},
                      {"obs_dim", dims.obs_dim},
                      {"act_dim", dims.act_dim},
                      {"commit", build_info::git_commit()}};
  for (int r : mine) {
    const json hello = json::parse(dist::recv_text(r, kTagHello), nullptr, false);
    for (const char* key : {"env", "obs_dim", "act_dim", "commit"}) {
      if (!hello.is_object() || !hello.contains(key) || hello.at(key) != expected.at(key)) {
        fail("train --dist: actor rank {} has {} {}, the learner {}", r, key,
             hello.is_object() && hello.contains(key) ? hello.at(key).dump() : "nothing",
             expected.at(key).dump());
      }
    }
  }
  if (group.lead()) {
    spdlog::info("train --dist: {} learner{}, {} actors x {} envs; chunks of {} env steps per env",
                 group.size, group.size > 1 ? "s" : "", world.size - group.size, c.num_envs,
                 kChunkSteps);
  }

  TrainResult result{
      .steps = step, .run_dir = run.files.dir.string(), .checkpoint = run.checkpoint.string()};
  AlgorithmPolicy policy(*algo, run.norm);
  std::vector<float> params;  // the newest parameter version's message
  int64_t version = -1;       // its gradient step (-1: none yet: actors act at random)
  auto refresh_params = [&] {
    version = algo->steps();
    params.assign({static_cast<float>(kParams)});
    put_int(params, version);
    append_gaussian_parameters(actor, params);
  };
  std::vector<ActorStats> stats(static_cast<size_t>(world.size));
  if (push) {
    refresh_params();
    for (int r : mine) {
      ActorStats& a = stats[static_cast<size_t>(r)];
      a.reply->buffer() = params;
      a.reply->send(r, kTagToActor);
      a.sent_version = version;
    }
  }
  Metrics last;
  int64_t window_updates = 0;
  // Summed over the learners at each metrics line: bytes in, bytes out, parameter lag, chunks
  // that acted with parameters, then each rank's env steps.
  enum { kBytesIn, kBytesOut, kLag, kChunks, kRankRows };
  std::vector<double> window(kRankRows + static_cast<size_t>(world.size), 0.0);
  EpisodeWindow episodes_window;
  Stopwatch total, since_log;
  std::optional<RunLog> log;
  if (group.lead()) log.emplace(run.files.dir, step, c.steps, "env steps");
  auto crossed = [](int64_t before, int64_t after, int64_t every) {
    return every > 0 && after / every != before / every;
  };
  const int64_t od = dims.obs_dim, ad = dims.act_dim, width = 2 * od + ad + 3;
  std::vector<float> msg, ended, all_ended;
  std::vector<int64_t> shared(3 * static_cast<size_t>(group.size));
  std::vector<int> ended_counts(static_cast<size_t>(group.size)),
      ended_at(static_cast<size_t>(group.size));
  bool stopping = false;
  while (step < c.steps && !stopping) {
    const int from = dist::recv_floats(MPI_ANY_SOURCE, kTagToLearner, msg);
    window[kBytesIn] += static_cast<double>(msg.size() * sizeof(float));
    if (static_cast<int64_t>(msg.size()) < kHeader || static_cast<int>(msg[0]) != kChunk)
      fail("train --dist: rank {} sent a message that is not a chunk", from);
    const auto rows = static_cast<int64_t>(msg[1]);
    const auto episodes = static_cast<int64_t>(msg[2]);
    const int64_t acted_with = get_int(msg.data() + 3);
    if (rows <= 0 || episodes < 0 ||
        static_cast<int64_t>(msg.size()) != kHeader + rows * width + 2 * episodes)
      fail("train --dist: rank {} sent a chunk of the wrong size", from);
    const float* row = msg.data() + kHeader;
    for (int64_t i = 0; i < rows; ++i, row += width) {
      run.buffer.add(row, row + od, row[od + ad], row + od + ad + 1, row[2 * od + ad + 1] != 0.0f,
                     row[2 * od + ad + 2] != 0.0f);
    }
    ended.assign(row, row + 2 * episodes);
    window[kRankRows + static_cast<size_t>(from)] += static_cast<double>(rows);
    if (acted_with >= 0) {  // not a chunk of random actions
      window[kChunks] += 1.0;
      window[kLag] += static_cast<double>(algo->steps() - acted_with);
    }
    // The round's totals, the same on every learner.
    const int64_t round[3] = {rows, episodes, stop_requested() ? 1 : 0};
    MPI_Allgather(round, 3, MPI_INT64_T, shared.data(), 3, MPI_INT64_T, group.comm);
    const int64_t before = step;
    int64_t all_episodes = 0;
    for (int k = 0; k < group.size; ++k) {
      step += shared[3 * static_cast<size_t>(k)];
      all_episodes += shared[3 * static_cast<size_t>(k) + 1];
      stopping |= shared[3 * static_cast<size_t>(k) + 2] != 0;
      ended_counts[static_cast<size_t>(k)] =
          static_cast<int>(2 * shared[3 * static_cast<size_t>(k) + 1]);
      ended_at[static_cast<size_t>(k)] =
          k == 0 ? 0
                 : ended_at[static_cast<size_t>(k) - 1] + ended_counts[static_cast<size_t>(k) - 1];
    }
    if (all_episodes > 0) {  // every learner's ended episodes, to learner 0's log
      all_ended.resize(static_cast<size_t>(2 * all_episodes));
      MPI_Gatherv(ended.data(), static_cast<int>(ended.size()), MPI_FLOAT, all_ended.data(),
                  ended_counts.data(), ended_at.data(), MPI_FLOAT, 0, group.comm);
      if (group.lead()) {
        for (int64_t e = 0; e < all_episodes; ++e) {
          const float* ep = all_ended.data() + 2 * e;
          append_json_line(
              run.files.dir / "episodes.jsonl",
              json{{"step", step}, {"return", ep[0]}, {"length", static_cast<int64_t>(ep[1])}});
          episodes_window.add(ep[0]);
        }
      }
    }
    if (log) log->progress(step);
    if (step >= c.learning_starts) {
      // utd_ratio gradient steps per env step per learner: each step averages L minibatches, so
      // the samples drawn per env step (the replay ratio) are one learner's at any L.
      state.credit += c.utd_ratio * static_cast<double>(step - before) / group.size;
      while (state.credit >= 1.0) {
        run.mixed->sample(run.rng);
        last = algo->update(run.tensors);
        ++window_updates;
        state.credit -= 1.0;
        check_finite_metrics(last, step, "env step", c);
        if (window_updates % 8 == 0) {  // let pending replies move while updating
          for (ActorStats& s : stats) s.reply->progress();
        }
      }
      if (version < 0 || algo->steps() - version >= kParamEvery) refresh_params();
    }
    // The reply: the newest parameters if this actor has older ones, else an acknowledgement.
    ActorStats& a = stats[static_cast<size_t>(from)];
    std::vector<float>& reply = a.reply->buffer();
    if (version > a.sent_version) {
      reply = params;
      a.sent_version = version;
    } else {
      reply.assign({static_cast<float>(kAck)});
    }
    window[kBytesOut] += static_cast<double>(reply.size() * sizeof(float));
    a.reply->send(from, kTagToActor);

    if (crossed(before, step, c.log_every) || step >= c.steps) {
      check_finite_parameters(*algo, step, "env step");
      check_identical(*algo, group);
      MPI_Reduce(group.lead() ? MPI_IN_PLACE : window.data(), window.data(),
                 static_cast<int>(window.size()), MPI_DOUBLE, MPI_SUM, 0, group.comm);
      if (group.lead()) {
        const double secs = std::max(1e-9, since_log.seconds());
        json line{{"step", step},
                  {"wall_s", total.seconds()},
                  {"updates_per_s", static_cast<double>(window_updates) / secs},
                  {"gradient_steps", algo->steps()},
                  {"param_lag_updates", window[kChunks] > 0 ? window[kLag] / window[kChunks] : 0.0},
                  {"bytes_in_per_s", window[kBytesIn] / secs},
                  {"bytes_out_per_s", window[kBytesOut] / secs}};
        if (group.size > 1) {
          line["learners"] = group.size;
          line["learners_identical"] = true;  // check_identical passed
          line["gradient_mean_ms_per_update"] =
              window_updates > 0 ? 1e3 * reduce_seconds / static_cast<double>(window_updates) : 0.0;
        }
        double all_rows = 0.0;
        for (int r = group.size; r < world.size; ++r) {
          const double rank_rows = window[kRankRows + static_cast<size_t>(r)];
          line[fmt::format("actor{}_env_steps_per_s", r)] = rank_rows / secs;
          all_rows += rank_rows;
        }
        line["env_steps_per_s"] = all_rows / secs;
        for (const auto& [name, value] : last) line[name] = value;
        const std::string recent = episodes_window.close(line);
        log->metrics(step, line);
        spdlog::info("env step {}/{}  {}  {:.0f} env steps/s  {:.0f} updates/s  lag {:.0f} updates",
                     step, c.steps, recent, all_rows / secs, window_updates / secs,
                     line["param_lag_updates"].get<double>());
      }
      window_updates = 0;
      reduce_seconds = 0.0;
      std::fill(window.begin(), window.end(), 0.0);
      since_log.restart();
    }
    if (group.lead() && (crossed(before, step, c.eval_every) || step >= c.steps)) {
      result.evaluations.emplace_back(step, evaluate_and_log(c, policy, step, *log));
    }
    if (group.lead() && (crossed(before, step, c.checkpoint_every) || step >= c.steps)) {
      run.save(state);
    }
  }
  // Stop this learner's actors, and take in (and drop) what each sent until its bye.
  for (int r : mine) {
    std::vector<float>& stop = stats[static_cast<size_t>(r)].reply->buffer();
    stop.assign({static_cast<float>(kStop)});
    stats[static_cast<size_t>(r)].reply->send(r, kTagToActor);
  }
  for (size_t byes = 0; byes < mine.size();) {
    dist::recv_floats(MPI_ANY_SOURCE, kTagToLearner, msg);
    if (!msg.empty() && static_cast<int>(msg[0]) == kBye) ++byes;
  }
  for (ActorStats& a : stats) a.reply->wait();
  result.steps = step;
  return result;
}

// A learner other than rank 0: its config (or a stop) comes from rank 0, which resolved it.
void learn_beside(const dist::World& world, const Learners& group) {
  const json start = json::parse(dist::recv_text(0, kTagStart), nullptr, false);
  if (!start.is_object()) fail("train --dist: learner 0's start message is not JSON");
  if (start.value("stop", false)) {  // learner 0 refused the run: this learner's actors stop too
    for (int r = group.size; r < world.size; ++r) {
      if (group.owns(r)) dist::send_text(json{{"stop", true}}.dump(), r, kTagStart);
    }
    return;
  }
  ResolvedTrainConfig cfg = resolve_train_config_text(start.at("config").get<std::string>());
  cfg.train.run_dir = start.at("run_dir").get<std::string>();  // where a resume reads
  nn::fused::set_matmul_precision(start.value("bf16", false) ? nn::fused::Precision::kBf16
                                                             : nn::fused::Precision::kFp32);
  learn(cfg, start.value("resume", false), world, group);
}

// ---- an actor (ranks L..N-1) -----------------------------------------------------------------

void act(int home) {
  const json start = json::parse(dist::recv_text(home, kTagStart), nullptr, false);
  if (!start.is_object()) fail("train --dist: the learner's start message is not JSON");
  if (start.value("stop", false)) return;  // the learner refused the run and says why
  const ResolvedTrainConfig cfg = resolve_train_config_text(start.at("config").get<std::string>());
  const TrainConfig& c = cfg.train;
  const int64_t n = c.num_envs;
  VectorEnv venv = VectorEnv::make(c.env, static_cast<int>(n), 1, {.clip_actions = true});
  const int64_t od = venv.obs_dim(), ad = venv.act_dim();
  dist::send_text(
      json{{"env", c.env}, {"obs_dim", od}, {"act_dim", ad}, {"commit", build_info::git_commit()}}
          .dump(),
      home, kTagHello);
  const json& shape = start.at("policy");
  GaussianPolicy policy({.obs_dim = shape.at("obs_dim").get<int64_t>(),
                         .act_dim = shape.at("act_dim").get<int64_t>(),
                         .hidden = shape.at("hidden").get<std::vector<int64_t>>(),
                         .max_action = shape.at("max_action").get<float>(),
                         .log_std_min = shape.at("log_std_min").get<float>(),
                         .log_std_max = shape.at("log_std_max").get<float>()});
  const float max_action = policy.shape().max_action;
  Rng rng(start.at("seed").get<uint64_t>());
  venv.reset(rng.next_u64());
  int64_t version = -1;  // no parameters yet: uniform random actions
  std::vector<float> msg;
  auto take_reply = [&](const std::vector<float>& m) {
    const int kind = m.empty() ? 0 : static_cast<int>(m[0]);
    if (kind == kParams && m.size() >= 3) {
      policy.set_parameters(m.data() + 3, static_cast<int64_t>(m.size()) - 3);
      version = get_int(m.data() + 1);
    } else if (kind != kAck) {
      fail("train --dist: the learner sent a message of kind {}", kind);
    }
  };
  // A resumed run past learning_starts: the policy comes before the first step.
  if (start.value("params_follow", false)) {
    dist::recv_floats(home, kTagToActor, msg);
    take_reply(msg);
  }
  std::vector<float> obs(venv.observations().begin(), venv.observations().end());
  std::vector<float> actions(static_cast<size_t>(n * ad));
  std::vector<double> returns(static_cast<size_t>(n), 0.0);
  std::vector<int64_t> lengths(static_cast<size_t>(n), 0);
  std::vector<float> ended;  // (return, length) of the episodes that ended in this chunk
  dist::SendSlot slots[kWindow];
  int64_t sent = 0, acked = 0;
  bool stopping = false;
  while (!stopping) {
    // Replies, newest parameters and stop, in the order the learner sent them.
    while (true) {
      MPI_Status status;
      int ready = 0;
      MPI_Iprobe(home, kTagToActor, MPI_COMM_WORLD, &ready, &status);
      if (!ready) break;
      dist::recv_floats(status, msg);
      const int kind = msg.empty() ? 0 : static_cast<int>(msg[0]);
      if (kind == kStop) {
        stopping = true;
        break;
      }
      take_reply(msg);
      ++acked;
    }
    if (stopping) break;
    if (sent - acked >= kWindow) {
      std::this_thread::sleep_for(dist::kPoll);
      continue;
    }
    std::vector<float>& chunk = slots[sent % kWindow].buffer();
    chunk.assign({static_cast<float>(kChunk), 0.0f, 0.0f});
    put_int(chunk, version);
    ended.clear();
    for (int64_t k = 0; k < kChunkSteps; ++k) {
      if (version < 0) {
        for (float& a : actions) a = static_cast<float>(rng.uniform(-max_action, max_action));
      } else {
        policy.act(obs, n, rng, actions);
      }
      venv.step(actions);
      for (dist::SendSlot& s : slots) s.progress();  // a large send in flight moves on
      for (int64_t i = 0; i < n; ++i) {
        const bool terminated = venv.terminated()[i] != 0, truncated = venv.truncated()[i] != 0;
        const float* next =
            (terminated || truncated ? venv.final_observations() : venv.observations()).data() +
            i * od;
        chunk.insert(chunk.end(), obs.begin() + i * od, obs.begin() + (i + 1) * od);
        chunk.insert(chunk.end(), actions.begin() + i * ad, actions.begin() + (i + 1) * ad);
        chunk.push_back(static_cast<float>(venv.rewards()[i]));
        chunk.insert(chunk.end(), next, next + od);
        chunk.push_back(terminated ? 1.0f : 0.0f);
        chunk.push_back(truncated ? 1.0f : 0.0f);
        returns[i] += venv.rewards()[i];
        ++lengths[i];
        if (terminated || truncated) {
          ended.push_back(static_cast<float>(returns[i]));
          ended.push_back(static_cast<float>(lengths[i]));
          returns[i] = 0.0;
          lengths[i] = 0;
        }
      }
      obs.assign(venv.observations().begin(), venv.observations().end());
    }
    chunk[1] = static_cast<float>(kChunkSteps * n);
    chunk[2] = static_cast<float>(ended.size() / 2);
    chunk.insert(chunk.end(), ended.begin(), ended.end());
    slots[sent % kWindow].send(home, kTagToLearner);
    ++sent;
  }
  for (dist::SendSlot& s : slots) s.wait();
  const float bye = static_cast<float>(kBye);
  MPI_Send(&bye, 1, MPI_FLOAT, home, kTagToLearner, MPI_COMM_WORLD);
}

}  // namespace

TrainResult train_distributed(const std::string& config_json, bool resume,
                              const std::string& run_dir, int learners) {
  const dist::World world = dist::join("train --dist");
  if (learners < 1 || world.size < 2 * learners) {
    MPI_Finalize();
    fail(
        "train --dist: the job has {} rank{}; with {} learner{} it needs {} or more (ranks "
        "0..L-1 learn, the others act, at least one actor per learner)",
        world.size, world.size == 1 ? "" : "s", learners, learners == 1 ? "" : "s",
        2 * std::max(learners, 1));
  }
  Learners group;
  MPI_Comm_split(MPI_COMM_WORLD, world.rank < learners ? 0 : MPI_UNDEFINED, world.rank,
                 &group.comm);
  group.size = learners;
  group.rank = world.rank < learners ? world.rank : -1;
  TrainResult result;
  dist::run_rank(world, [&] {
    if (world.rank == 0) {
      std::string config;
      try {
        config = resume ? stored_run_config(run_dir) : config_json;
        check_distributable(resolve_train_config_text(config));
      } catch (const std::exception& e) {
        // The other learners, and learner 0's actors (each learner stops its own).
        for (int r = 1; r < world.size; ++r) {
          if (r < learners || group.owns(r))
            dist::send_text(json{{"stop", true}}.dump(), r, kTagStart);
        }
        throw dist::EveryoneStopped(e.what());
      }
      result = train_with_loop(config, resume, [&](const ResolvedTrainConfig& cfg, bool resumed) {
        return learn(cfg, resumed, world, group);
      });
    } else if (world.rank < learners) {
      learn_beside(world, group);
    } else {
      act(static_cast<int>((world.rank - learners) % learners));
    }
  });
  return result;
}

}  // namespace stitch
