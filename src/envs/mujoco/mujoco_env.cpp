#include "envs/mujoco/mujoco_env.h"

#include <fmt/format.h>
#include <mujoco/mujoco.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "core/error.h"

namespace stitch {
namespace {

// ---- MuJoCo error routing ---------------------------------------------------------------------
// mju_error must not return into MuJoCo, and a C++ exception must not unwind through its C
// frames. The handler copies the message and longjmps to the innermost guarded call on this
// thread, which throws from C++ code. Only trivially destructible locals live between the
// setjmp and MuJoCo's frames.
thread_local std::jmp_buf* t_error_jump = nullptr;
thread_local char t_error_message[1024];

extern "C" void on_mujoco_error(const char* message) {
  std::snprintf(t_error_message, sizeof(t_error_message), "%s", message);
  if (t_error_jump != nullptr) std::longjmp(*t_error_jump, 1);
  // Not inside a guarded call: MuJoCo would exit; say why first.
  std::fprintf(stderr, "error: MuJoCo: %s\n", message);
  std::abort();
}

extern "C" void on_mujoco_warning(const char* message) {
  try {
    spdlog::debug("MuJoCo warning: {}", message);
  } catch (...) {
    // Never let anything escape into MuJoCo.
  }
}

void install_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    mju_user_error = on_mujoco_error;
    mju_user_warning = on_mujoco_warning;
  });
}

// Runs `fn` (which calls MuJoCo C functions only) so that a MuJoCo error becomes an Error.
template <typename Fn>
void guarded(const char* what, Fn&& fn) {
  std::jmp_buf buffer;
  std::jmp_buf* const previous = t_error_jump;
  if (setjmp(buffer) == 0) {
    t_error_jump = &buffer;
    fn();
    t_error_jump = previous;
  } else {
    t_error_jump = previous;
    fail("MuJoCo error in {}: {}", what, t_error_message);
  }
}

struct ModelDeleter {
  void operator()(const mjModel* m) const { mj_deleteModel(const_cast<mjModel*>(m)); }
};

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) fail("{}: cannot open", path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Compiles MJCF text through MuJoCo's in-memory virtual file system.
std::shared_ptr<const mjModel> compile(const std::string& name, const std::string& xml,
                                       const std::string& origin) {
  auto vfs = std::make_unique<mjVFS>();  // ~2 MB: keep it off the stack
  mj_defaultVFS(vfs.get());
  if (mj_makeEmptyFileVFS(vfs.get(), name.c_str(), static_cast<int>(xml.size())) != 0) {
    fail("{}: cannot create the in-memory model file", origin);
  }
  std::memcpy(vfs->filedata[vfs->nfile - 1], xml.data(), xml.size());
  char error[1024] = "";
  mjModel* model = nullptr;
  guarded("mj_loadXML", [&] { model = mj_loadXML(name.c_str(), vfs.get(), error, sizeof(error)); });
  mj_deleteVFS(vfs.get());
  if (model == nullptr) fail("{}: MuJoCo cannot load the model: {}", origin, error);
  return std::shared_ptr<const mjModel>(model, ModelDeleter{});
}

}  // namespace

void run_mujoco_guarded(const char* what, const std::function<void()>& fn) {
  install_handlers();
  guarded(what, fn);
}

std::shared_ptr<const mjModel_> load_mujoco_model(const std::string& asset) {
  install_handlers();
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<const mjModel>> cache;  // by origin
  std::lock_guard lock(mutex);
  const char* dir = std::getenv("STITCH_MUJOCO_ASSETS");
  const bool from_dir = dir != nullptr && *dir != '\0';
  const std::string origin =
      from_dir ? (std::filesystem::path(dir) / asset).string() : "embedded " + asset;
  if (auto cached = cache[origin].lock()) return cached;
  std::shared_ptr<const mjModel> model = from_dir
                                             ? compile(asset, read_text(origin), origin)
                                             : compile(asset, embedded_mujoco_asset(asset), origin);
  cache[origin] = model;
  return model;
}

MujocoEnv::MujocoEnv(const std::string& asset, int frame_skip, int64_t obs_dim)
    : model_(load_mujoco_model(asset)),
      data_(nullptr, [](mjData* d) { mj_deleteData(d); }),
      frame_skip_(frame_skip),
      observation_space_(Space::box(obs_dim, -kInf, kInf)),
      action_space_(Space::box(1, 0.0f, 0.0f)) {
  mjData* d = nullptr;
  guarded("mj_makeData", [&] { d = mj_makeData(model_.get()); });
  if (d == nullptr) fail("{}: MuJoCo cannot allocate data", asset);
  data_.reset(d);
  // The action space is the actuators' control range, as Gymnasium's MujocoEnv defines it.
  std::vector<float> low(model_->nu), high(model_->nu);
  for (int i = 0; i < model_->nu; ++i) {
    low[i] = static_cast<float>(model_->actuator_ctrlrange[2 * i]);
    high[i] = static_cast<float>(model_->actuator_ctrlrange[2 * i + 1]);
  }
  action_space_ = Space::box(low, high);
}

MujocoEnv::~MujocoEnv() = default;

int MujocoEnv::nq() const { return model_->nq; }
int MujocoEnv::nv() const { return model_->nv; }
int MujocoEnv::nu() const { return model_->nu; }
double MujocoEnv::dt() const { return model_->opt.timestep * frame_skip_; }
std::span<const double> MujocoEnv::qpos() const {
  return {data_->qpos, static_cast<size_t>(model_->nq)};
}
std::span<const double> MujocoEnv::qvel() const {
  return {data_->qvel, static_cast<size_t>(model_->nv)};
}

int MujocoEnv::instability_warnings() const {
  return data_->warning[mjWARN_BADQPOS].number + data_->warning[mjWARN_BADQVEL].number +
         data_->warning[mjWARN_BADQACC].number;
}

EnvInfo MujocoEnv::info() const {
  return {{"qpos", std::vector<double>(qpos().begin(), qpos().end())},
          {"qvel", std::vector<double>(qvel().begin(), qvel().end())}};
}

void MujocoEnv::set_state(std::span<const double> qpos, std::span<const double> qvel) {
  if (static_cast<int>(qpos.size()) != model_->nq || static_cast<int>(qvel.size()) != model_->nv) {
    fail("{}: set_state needs qpos[{}] and qvel[{}], got {} and {}", id(), model_->nq, model_->nv,
         qpos.size(), qvel.size());
  }
  std::copy(qpos.begin(), qpos.end(), data_->qpos);
  std::copy(qvel.begin(), qvel.end(), data_->qvel);
  guarded("mj_forward", [&] { mj_forward(model_.get(), data_.get()); });
}

bool MujocoEnv::simulate(std::span<const float> action) {
  for (int i = 0; i < model_->nu; ++i) data_->ctrl[i] = action[i];
  const int before = instability_warnings();
  const mjModel* m = model_.get();
  mjData* d = data_.get();
  const int steps = frame_skip_;
  guarded("mj_step", [m, d, steps] {
    for (int i = 0; i < steps; ++i) mj_step(m, d);
  });
  return instability_warnings() == before;
}

void MujocoEnv::reset_with_noise(Rng& rng, double scale, bool normal_qvel) {
  mjData* d = data_.get();
  const mjModel* m = model_.get();
  guarded("mj_resetData", [m, d] { mj_resetData(m, d); });
  for (int i = 0; i < m->nq; ++i) d->qpos[i] = m->qpos0[i] + rng.uniform(-scale, scale);
  for (int i = 0; i < m->nv; ++i) {
    d->qvel[i] = normal_qvel ? scale * rng.normal() : rng.uniform(-scale, scale);
  }
  guarded("mj_forward", [m, d] { mj_forward(m, d); });
  terms_ = RewardTerms{};
}

std::vector<float> MujocoEnv::do_restore(const EnvInfo& state) {
  const auto qpos = state.find("qpos"), qvel = state.find("qvel");
  if (qpos == state.end() || qvel == state.end() || state.size() != 2) {
    std::vector<std::string> names;
    for (const auto& [name, values] : state) names.push_back(name);
    fail("{}: restore needs exactly 'qpos' and 'qvel', got [{}]", id(), fmt::join(names, ", "));
  }
  guarded("mj_resetData", [this] { mj_resetData(model_.get(), data_.get()); });
  set_state(qpos->second, qvel->second);
  terms_ = RewardTerms{};
  return observe();
}

double MujocoEnv::x_position() const { return data_->qpos[0]; }

std::vector<float> MujocoEnv::qpos_qvel_observation(int skip_qpos, double clip_qvel) const {
  std::vector<float> obs;
  obs.reserve(model_->nq - skip_qpos + model_->nv);
  for (int i = skip_qpos; i < model_->nq; ++i) obs.push_back(static_cast<float>(data_->qpos[i]));
  for (int i = 0; i < model_->nv; ++i) {
    obs.push_back(static_cast<float>(std::clamp(data_->qvel[i], -clip_qvel, clip_qvel)));
  }
  return obs;
}

std::vector<double> MujocoEnv::qpos_qvel_state(int skip_qpos) const {
  std::vector<double> s(data_->qpos + skip_qpos, data_->qpos + model_->nq);
  s.insert(s.end(), data_->qvel, data_->qvel + model_->nv);
  return s;
}

StepResult MujocoEnv::locomotion_step(std::span<const float> action, const RewardWeights& weights,
                                      bool terminates_when_unhealthy) {
  StepResult r;
  const double x_before = x_position();
  if (!simulate(action)) {
    r.obs = observe();
    r.truncated = true;
    r.message = fmt::format(
        "{}: simulation unstable at t = {:.3f} s (MuJoCo bad qpos/qvel/qacc); "
        "MuJoCo reset the state, episode truncated",
        id(), data_->time);
    terms_ = RewardTerms{};
    spdlog::warn("{}", r.message);
    return r;
  }
  double squares = 0.0;
  for (float a : action) squares += static_cast<double>(a) * a;
  terms_.x_velocity = (x_position() - x_before) / dt();
  terms_.forward = weights.forward * terms_.x_velocity;
  terms_.healthy = weights.healthy;  // paid every step: the episode ends when unhealthy
  terms_.ctrl_cost = weights.ctrl_cost * squares;
  terms_.contact_cost = 0.0;
  r.obs = observe();
  r.reward = terms_.total();
  r.terminated = terminates_when_unhealthy && !is_healthy_state();
  return r;
}

}  // namespace stitch
