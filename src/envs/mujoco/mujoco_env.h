// Base class of the MuJoCo locomotion envs (libmujoco 2.2, Gymnasium v4 semantics).
//
// Ownership: the compiled model (mjModel) is loaded once per process per asset and shared
// read-only by every env of that task (safe: mj_step only reads the model); each env owns its
// mjData. Both are released through RAII deleters.
//
// Errors: MuJoCo's error callback is routed to stitch (a MuJoCo error becomes stitch::Error and
// never unwinds C++ exceptions through MuJoCo's C frames: the callback longjmps back to the
// guarded call site, which then throws). Warnings are logged at debug level. A simulation that
// blows up (MuJoCo's bad qpos/qvel/qacc warnings, after which MuJoCo resets the state) ends the
// episode as truncated, with the reason in StepResult::message.
//
// Models: the MJCF files in src/envs/mujoco/assets/ are compiled into the library, so the envs
// work without the source tree; set STITCH_MUJOCO_ASSETS to a directory to load the .xml files
// from there instead (e.g. an installed share/stitch/mujoco, or edited copies).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "env/env.h"

struct mjModel_;
struct mjData_;

namespace stitch {

// Reward terms of the last step, each as Gymnasium v4 defines it; reward = forward + healthy -
// ctrl_cost - contact_cost.
struct RewardTerms {
  double forward = 0.0;       // forward_reward_weight * x_velocity
  double healthy = 0.0;       // healthy/survive reward (0 for HalfCheetah)
  double ctrl_cost = 0.0;     // ctrl_cost_weight * sum(action^2)
  double contact_cost = 0.0;  // 0 in the v4 defaults (contact forces off)
  double x_velocity = 0.0;    // (x_after - x_before) / dt
  double total() const { return forward + healthy - ctrl_cost - contact_cost; }
};

class MujocoEnv : public Env {
 public:
  ~MujocoEnv() override;
  const Space& observation_space() const override { return observation_space_; }
  const Space& action_space() const override { return action_space_; }
  // qpos [nq] and qvel [nv] of the current state.
  EnvInfo info() const override;

  int nq() const;
  int nv() const;
  int nu() const;
  std::span<const double> qpos() const;
  std::span<const double> qvel() const;
  // Sets the state and recomputes derived quantities (mj_forward): for tests and for restoring
  // a state recorded in a dataset. Sizes must be nq and nv.
  void set_state(std::span<const double> qpos, std::span<const double> qvel);
  const RewardTerms& reward_terms() const { return terms_; }
  int frame_skip() const { return frame_skip_; }
  double dt() const;  // model timestep * frame_skip
  const mjModel_* model() const { return model_.get(); }
  mjData_* data() const { return data_.get(); }
  // Count of MuJoCo instability warnings (bad qpos/qvel/qacc) in this env's data so far.
  int instability_warnings() const;

 protected:
  MujocoEnv(const std::string& asset, int frame_skip, int64_t obs_dim);

  // Applies `action` as ctrl and advances frame_skip physics steps. Returns false when the
  // simulation became unstable during the step (MuJoCo then reset the state).
  bool simulate(std::span<const float> action);
  // mj_resetData, then qpos = qpos0 + U(-scale, scale) and qvel = U(-scale, scale) (or
  // scale * N(0, 1) when normal_qvel), drawn in that order, then mj_forward.
  void reset_with_noise(Rng& rng, double scale, bool normal_qvel);
  // mj_resetData, then the recorded qpos and qvel (state "qpos" [nq], "qvel" [nv]), then
  // mj_forward: Gymnasium's set_state on fresh data.
  std::vector<float> do_restore(const EnvInfo& state) override;
  // Reward weights of a locomotion task (Gymnasium v4 defaults per env).
  struct RewardWeights {
    double forward = 1.0;    // forward_reward_weight
    double healthy = 0.0;    // healthy_reward, paid every step
    double ctrl_cost = 0.0;  // ctrl_cost_weight
  };
  // One locomotion step: simulate, x_velocity from x_position() before and after, the reward
  // terms, terminated = terminates_when_unhealthy && !is_healthy(). An unstable simulation
  // gives the truncated result with its reason instead.
  StepResult locomotion_step(std::span<const float> action, const RewardWeights& weights,
                             bool terminates_when_unhealthy);
  // qpos[skip_qpos:] then qvel clipped to [-clip_qvel, clip_qvel], as float32.
  std::vector<float> qpos_qvel_observation(int skip_qpos, double clip_qvel) const;
  // [qpos[skip_qpos:], qvel], unclipped: what the health rules read (the observation is this with
  // qvel clipped, where the env clips it).
  std::vector<double> qpos_qvel_state(int skip_qpos) const;
  virtual std::vector<float> observe() const = 0;
  // The forward position whose change over dt is x_velocity (default qpos[0]).
  virtual double x_position() const;
  virtual bool is_healthy_state() const { return true; }

  RewardTerms terms_;

 private:
  std::shared_ptr<const mjModel_> model_;
  std::unique_ptr<mjData_, void (*)(mjData_*)> data_;
  int frame_skip_;
  Space observation_space_, action_space_;
};

// Loads (once per process) and returns the compiled model of an asset such as "hopper.xml".
std::shared_ptr<const mjModel_> load_mujoco_model(const std::string& asset);

// Runs `fn`, which may call MuJoCo functions, so that a MuJoCo error (mju_error) inside it
// becomes a stitch::Error naming `what` instead of ending the process. `fn` must not hold
// objects with destructors across the MuJoCo calls (the error path longjmps over them).
void run_mujoco_guarded(const char* what, const std::function<void()>& fn);

// The MJCF text compiled into the library for `asset`; throws Error when unknown.
std::string embedded_mujoco_asset(const std::string& asset);

}  // namespace stitch
