#include "dist/dist_train.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "algo/online_run.h"
#include "algo/run_shell.h"
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

// ---- the learner (rank 0) ------------------------------------------------------------------

struct ActorStats {
  int64_t rows = 0;           // transitions this log window
  int64_t sent_version = -1;  // the newest parameters sent to it
  std::unique_ptr<dist::SendSlot> reply = std::make_unique<dist::SendSlot>();
  bool bye = false;
};

TrainResult learn(const ResolvedTrainConfig& cfg, bool resume, const dist::World& world) {
  const TrainConfig& c = cfg.train;
  check_distributable(cfg);
  OnlineRun run(cfg, resume);
  const AlgoDims& dims = run.dims;
  Algorithm* algo = run.algo.get();
  OnlineLoopState& state = run.state;
  int64_t& step = state.env_step;
  nn::TanhGaussianPolicyImpl& actor = sac_actor(*algo);

  // Start every actor, then check what each says it runs.
  const int actors = world.size - 1;
  const GaussianPolicy::Shape shape = gaussian_shape(actor, dims.obs_dim, dims.act_dim);
  const bool push = step >= c.learning_starts;  // a resume: the policy goes out first
  for (int r = 1; r <= actors; ++r) {
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
  const json mine{{"env", c.env},
                  {"obs_dim", dims.obs_dim},
                  {"act_dim", dims.act_dim},
                  {"commit", build_info::git_commit()}};
  for (int r = 1; r <= actors; ++r) {
    const json hello = json::parse(dist::recv_text(r, kTagHello), nullptr, false);
    for (const char* key : {"env", "obs_dim", "act_dim", "commit"}) {
      if (!hello.is_object() || !hello.contains(key) || hello.at(key) != mine.at(key)) {
        fail("train --dist: actor rank {} has {} {}, the learner {}", r, key,
             hello.is_object() && hello.contains(key) ? hello.at(key).dump() : "nothing",
             mine.at(key).dump());
      }
    }
  }
  spdlog::info("train --dist: 1 learner, {} actors x {} envs; chunks of {} env steps per env",
               actors, c.num_envs, kChunkSteps);

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
    for (int r = 1; r <= actors; ++r) {
      ActorStats& a = stats[static_cast<size_t>(r)];
      a.reply->buffer() = params;
      a.reply->send(r, kTagToActor);
      a.sent_version = version;
    }
  }
  Metrics last;
  int64_t window_updates = 0, window_chunks = 0;
  double window_lag = 0.0, bytes_in = 0.0, bytes_out = 0.0;
  EpisodeWindow window;
  Stopwatch total, since_log;
  RunLog log(run.files.dir, step, c.steps, "env steps");
  auto crossed = [](int64_t before, int64_t after, int64_t every) {
    return every > 0 && after / every != before / every;
  };
  const int64_t od = dims.obs_dim, ad = dims.act_dim, width = 2 * od + ad + 3;
  std::vector<float> msg;
  while (step < c.steps && !stop_requested()) {
    const int from = dist::recv_floats(MPI_ANY_SOURCE, kTagToLearner, msg);
    bytes_in += static_cast<double>(msg.size() * sizeof(float));
    if (static_cast<int64_t>(msg.size()) < kHeader || static_cast<int>(msg[0]) != kChunk)
      fail("train --dist: rank {} sent a message that is not a chunk", from);
    const auto rows = static_cast<int64_t>(msg[1]);
    const auto episodes = static_cast<int64_t>(msg[2]);
    const int64_t acted_with = get_int(msg.data() + 3);
    if (rows < 0 || episodes < 0 ||
        static_cast<int64_t>(msg.size()) != kHeader + rows * width + 2 * episodes)
      fail("train --dist: rank {} sent a chunk of the wrong size", from);
    const float* row = msg.data() + kHeader;
    for (int64_t i = 0; i < rows; ++i, row += width) {
      run.buffer.add(row, row + od, row[od + ad], row + od + ad + 1, row[2 * od + ad + 1] != 0.0f,
                     row[2 * od + ad + 2] != 0.0f);
    }
    const int64_t before = step;
    step += rows;
    stats[static_cast<size_t>(from)].rows += rows;
    if (acted_with >= 0) {  // not a chunk of random actions
      ++window_chunks;
      window_lag += static_cast<double>(algo->steps() - acted_with);
    }
    for (int64_t e = 0; e < episodes; ++e, row += 2) {
      append_json_line(
          run.files.dir / "episodes.jsonl",
          json{{"step", step}, {"return", row[0]}, {"length", static_cast<int64_t>(row[1])}});
      window.add(row[0]);
    }
    log.progress(step);
    if (step >= c.learning_starts) {
      state.credit += c.utd_ratio * static_cast<double>(rows);
      while (state.credit >= 1.0 && run.buffer.size() > 0) {
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
    bytes_out += static_cast<double>(reply.size() * sizeof(float));
    a.reply->send(from, kTagToActor);

    if (crossed(before, step, c.log_every) || step >= c.steps) {
      check_finite_parameters(*algo, step, "env step");
      const double secs = std::max(1e-9, since_log.seconds());
      json line{{"step", step},
                {"wall_s", total.seconds()},
                {"updates_per_s", static_cast<double>(window_updates) / secs},
                {"gradient_steps", algo->steps()},
                {"param_lag_updates", window_chunks > 0 ? window_lag / window_chunks : 0.0},
                {"bytes_in_per_s", bytes_in / secs},
                {"bytes_out_per_s", bytes_out / secs}};
      double all_rows = 0.0;
      for (int r = 1; r <= actors; ++r) {
        line[fmt::format("actor{}_env_steps_per_s", r)] =
            static_cast<double>(stats[static_cast<size_t>(r)].rows) / secs;
        all_rows += static_cast<double>(stats[static_cast<size_t>(r)].rows);
        stats[static_cast<size_t>(r)].rows = 0;
      }
      line["env_steps_per_s"] = all_rows / secs;
      for (const auto& [name, value] : last) line[name] = value;
      const std::string recent = window.close(line);
      log.metrics(step, line);
      spdlog::info("env step {}/{}  {}  {:.0f} env steps/s  {:.0f} updates/s  lag {:.0f} updates",
                   step, c.steps, recent, all_rows / secs, window_updates / secs,
                   line["param_lag_updates"].get<double>());
      window_updates = window_chunks = 0;
      window_lag = bytes_in = bytes_out = 0.0;
      since_log.restart();
    }
    if (crossed(before, step, c.eval_every) || step >= c.steps) {
      result.evaluations.emplace_back(step, evaluate_and_log(c, policy, step, log));
    }
    if (crossed(before, step, c.checkpoint_every) || step >= c.steps) run.save(state);
  }
  // Stop every actor, and take in (and drop) what each sent until its bye.
  for (int r = 1; r <= actors; ++r) {
    std::vector<float>& stop = stats[static_cast<size_t>(r)].reply->buffer();
    stop.assign({static_cast<float>(kStop)});
    stats[static_cast<size_t>(r)].reply->send(r, kTagToActor);
  }
  for (int byes = 0; byes < actors;) {
    dist::recv_floats(MPI_ANY_SOURCE, kTagToLearner, msg);
    if (!msg.empty() && static_cast<int>(msg[0]) == kBye) ++byes;
  }
  for (ActorStats& a : stats) a.reply->wait();
  result.steps = step;
  return result;
}

// ---- an actor (ranks 1..N-1) -----------------------------------------------------------------

void act() {
  const json start = json::parse(dist::recv_text(0, kTagStart), nullptr, false);
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
      0, kTagHello);
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
    dist::recv_floats(0, kTagToActor, msg);
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
      MPI_Iprobe(0, kTagToActor, MPI_COMM_WORLD, &ready, &status);
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
    slots[sent % kWindow].send(0, kTagToLearner);
    ++sent;
  }
  for (dist::SendSlot& s : slots) s.wait();
  const float bye = static_cast<float>(kBye);
  MPI_Send(&bye, 1, MPI_FLOAT, 0, kTagToLearner, MPI_COMM_WORLD);
}

}  // namespace

TrainResult train_distributed(const std::string& config_json, bool resume,
                              const std::string& run_dir) {
  const dist::World world = dist::join("train --dist");
  if (world.size < 2) {
    MPI_Finalize();
    fail("train --dist: the job has 1 rank; it needs 2 or more (rank 0 learns, the others act)");
  }
  TrainResult result;
  dist::run_rank(world, [&] {
    if (world.rank == 0) {
      std::string config;
      try {
        config = resume ? stored_run_config(run_dir) : config_json;
        check_distributable(resolve_train_config_text(config));
      } catch (const std::exception& e) {
        for (int r = 1; r < world.size; ++r)
          dist::send_text(json{{"stop", true}}.dump(), r, kTagStart);
        throw dist::EveryoneStopped(e.what());
      }
      result = train_with_loop(config, resume, [&](const ResolvedTrainConfig& cfg, bool resumed) {
        return learn(cfg, resumed, world);
      });
    } else {
      act();
    }
  });
  return result;
}

}  // namespace stitch
