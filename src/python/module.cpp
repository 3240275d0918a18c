// `import stitch`: stitch's envs, vector envs and datasets from Python (pybind11), with
// Gymnasium's API and semantics. Built by the same CMake as the CLI into build/python/; use it
// with PYTHONPATH=build/python and Debian's /usr/bin/python3 (README "Python").
//
// What crosses the boundary: observations, rewards and batches come back as new numpy arrays
// (copies: the C++ buffers are reused by the next step); actions go in as numpy arrays (or
// anything numpy converts) and are read in place when float32 and contiguous, converted
// otherwise. Stepping a vector env releases the GIL. stitch's errors raise stitch.Error (a
// ValueError) with the CLI's message.
#include <fmt/format.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <signal.h>

#include <cmath>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "algo/train_config.h"
#include "algo/trainer.h"
#include "core/error.h"
#include "core/json_read.h"
#include "core/rng.h"
#include "core/stop.h"
#include "data/io.h"
#include "deploy/policy.h"
#include "env/registry.h"
#include "env/vector_env.h"
#include "track/runs.h"

namespace py = pybind11;

namespace stitch::python {
namespace {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

py::array_t<float> to_numpy(const float* data, std::vector<py::ssize_t> shape) {
  py::array_t<float> out(shape);
  std::copy_n(data, out.size(), out.mutable_data());
  return out;
}

// Gymnasium's Box / Discrete: shape, dtype, low, high, n, sample(), contains(), seed().
class PySpace {
 public:
  explicit PySpace(Space space) : space_(std::move(space)) {}
  py::tuple shape() const {
    return space_.is_box() ? py::make_tuple(space_.flat_dim()) : py::make_tuple();
  }
  py::dtype dtype() const {
    return space_.is_box() ? py::dtype::of<float>() : py::dtype::of<int64_t>();
  }
  py::object low() const {
    if (!space_.is_box()) return py::none();
    return to_numpy(space_.low().data(), {space_.flat_dim()});
  }
  py::object high() const {
    if (!space_.is_box()) return py::none();
    return to_numpy(space_.high().data(), {space_.flat_dim()});
  }
  py::object n() const {
    if (space_.is_box()) return py::none();
    return py::int_(space_.n());
  }
  void seed(uint64_t s) { rng_.seed_with(s); }
  py::object sample() {
    const std::vector<float> v = space_.sample(rng_);
    if (space_.is_discrete()) return py::int_(static_cast<int64_t>(v[0]));
    return to_numpy(v.data(), {space_.flat_dim()});
  }
  bool contains(const py::object& x) const {
    try {
      if (space_.is_discrete()) {
        const std::vector<float> v{static_cast<float>(py::cast<int64_t>(x))};
        return space_.contains(v);
      }
      const FloatArray a = py::cast<FloatArray>(x);
      if (a.ndim() != 1 || a.shape(0) != space_.flat_dim()) return false;
      return space_.contains({a.data(), static_cast<size_t>(a.size())});
    } catch (const py::cast_error&) {
      return false;
    }
  }
  std::string repr() const { return space_.describe(); }
  const Space& space() const { return space_; }

 private:
  Space space_;
  Rng rng_{0};
};

// The action as float32 values, checked for its shape (the env checks bounds and NaN).
std::vector<float> action_values(const Space& space, const py::object& action) {
  if (space.is_discrete()) {
    try {
      return {static_cast<float>(py::cast<int64_t>(action))};
    } catch (const py::cast_error&) {
      fail("action: expected an integer for a Discrete({}) space", space.n());
    }
  }
  const FloatArray a = py::cast<FloatArray>(action);
  if (a.size() != space.flat_dim() || a.ndim() > 1) {
    fail("action: expected shape ({},), got {} values in {} dimensions", space.flat_dim(), a.size(),
         a.ndim());
  }
  return {a.data(), a.data() + a.size()};
}

struct PySpec {
  std::string id;
  int64_t max_episode_steps = 0;
};

class PyEnv {
 public:
  explicit PyEnv(const std::string& id)
      : env_(make_env(id)),
        observation_space_(env_->observation_space()),
        action_space_(env_->action_space()),
        spec_{id, EnvRegistry::global().spec(id).max_episode_steps} {}

  py::tuple reset(std::optional<uint64_t> seed, const py::object& options) {
    (void)options;  // accepted for Gymnasium's signature; stitch's envs take none
    if (seed) {
      observation_space_.seed(*seed);
      action_space_.seed(*seed + 1);
    }
    const std::vector<float> obs = env_->reset(seed);
    return py::make_tuple(to_numpy(obs.data(), {static_cast<py::ssize_t>(obs.size())}), py::dict());
  }
  py::tuple step(const py::object& action) {
    const std::vector<float> a = action_values(env_->action_space(), action);
    const StepResult r = env_->step(a);
    py::dict info;
    info["cost"] = r.cost;
    if (!r.message.empty()) info["message"] = r.message;
    return py::make_tuple(to_numpy(r.obs.data(), {static_cast<py::ssize_t>(r.obs.size())}),
                          r.reward, r.terminated, r.truncated, info);
  }
  PySpace& observation_space() { return observation_space_; }
  PySpace& action_space() { return action_space_; }
  const PySpec& spec() const { return spec_; }

 private:
  std::unique_ptr<Env> env_;
  PySpace observation_space_, action_space_;
  PySpec spec_;
};

// Gymnasium's vector API over VectorEnv, with its same-step autoreset (env/vector_env.h):
// infos["final_observation"] holds each env's last observation where it ended on this step.
class PyVectorEnv {
 public:
  PyVectorEnv(const std::string& id, int num_envs, int threads)
      : vec_(VectorEnv::make(id, num_envs, threads)),
        single_observation_space_(vec_.env(0).observation_space()),
        single_action_space_(vec_.env(0).action_space()) {}

  py::tuple reset(uint64_t seed) {
    {
      py::gil_scoped_release release;
      vec_.reset(seed);
    }
    return py::make_tuple(observations(), py::dict());
  }
  py::tuple step(const py::object& actions) {
    const int64_t n = vec_.num_envs(), act = vec_.act_dim();
    const FloatArray a = py::cast<FloatArray>(actions);
    const bool discrete = single_action_space_.space().is_discrete();
    const bool shape_ok = discrete ? (a.size() == n && a.ndim() <= 2)
                                   : (a.ndim() == 2 && a.shape(0) == n && a.shape(1) == act);
    if (!shape_ok) {
      fail("actions: expected shape ({}, {}), got {} values in {} dimensions", n, act, a.size(),
           a.ndim());
    }
    {
      py::gil_scoped_release release;
      vec_.step({a.data(), static_cast<size_t>(a.size())});
    }
    py::array_t<double> rewards(n), costs(n);
    py::array_t<bool> terminated(n), truncated(n);
    for (int64_t i = 0; i < n; ++i) {
      rewards.mutable_at(i) = vec_.rewards()[i];
      costs.mutable_at(i) = vec_.costs()[i];
      terminated.mutable_at(i) = vec_.terminated()[i] != 0;
      truncated.mutable_at(i) = vec_.truncated()[i] != 0;
    }
    py::dict infos;
    infos["final_observation"] =
        to_numpy(vec_.final_observations().data(), {n, static_cast<py::ssize_t>(vec_.obs_dim())});
    infos["cost"] = costs;
    return py::make_tuple(observations(), rewards, terminated, truncated, infos);
  }
  int64_t num_envs() const { return vec_.num_envs(); }
  PySpace& single_observation_space() { return single_observation_space_; }
  PySpace& single_action_space() { return single_action_space_; }

 private:
  py::array_t<float> observations() const {
    return to_numpy(vec_.observations().data(), {static_cast<py::ssize_t>(vec_.num_envs()),
                                                 static_cast<py::ssize_t>(vec_.obs_dim())});
  }
  VectorEnv vec_;
  PySpace single_observation_space_, single_action_space_;
};

py::object json_to_python(const nlohmann::json& j) {
  return py::module_::import("json").attr("loads")(j.dump());
}

// A dataset as a dict of numpy arrays (copies) and its metadata.
py::dict load_dataset_py(const std::string& path) {
  const Dataset d = load_dataset(path);
  const auto n = static_cast<py::ssize_t>(d.size());
  py::dict out;
  out["observations"] = to_numpy(d.observations.data(), {n, d.obs_dim});
  out["actions"] = to_numpy(d.actions.data(), {n, d.act_dim});
  out["rewards"] = to_numpy(d.rewards.data(), {n});
  out["next_observations"] = to_numpy(d.next_observations.data(), {n, d.obs_dim});
  py::array_t<bool> terminals(n), timeouts(n);
  for (py::ssize_t i = 0; i < n; ++i) {
    terminals.mutable_at(i) = d.terminals[i] != 0;
    timeouts.mutable_at(i) = d.timeouts[i] != 0;
  }
  out["terminals"] = terminals;
  out["timeouts"] = timeouts;
  py::array_t<bool> has_next(n);  // whether next_observations row i is a recorded successor
  for (py::ssize_t i = 0; i < n; ++i) has_next.mutable_at(i) = d.has_next[i] != 0;
  out["has_next"] = has_next;
  if (!d.costs.empty()) out["costs"] = to_numpy(d.costs.data(), {n});
  for (const auto& [name, col] : d.infos) {
    py::array_t<double> a = col.width == 1
                                ? py::array_t<double>(n)
                                : py::array_t<double>({n, static_cast<py::ssize_t>(col.width)});
    std::copy_n(col.data.data(), a.size(), a.mutable_data());
    out[py::str("infos/" + name)] = a;
  }
  py::dict metadata;
  for (const auto& [key, value] : d.metadata) {
    const nlohmann::json j = parse_json(value, path + ": metadata '" + key + "'");
    metadata[py::str(key)] = j.is_discarded() ? py::object(py::str(value)) : json_to_python(j);
  }
  out["metadata"] = metadata;
  return out;
}

// Column `key` of `data` as n x width float32 values.
std::vector<float> column(const py::dict& data, const char* key, int64_t n, int64_t width,
                          bool required) {
  if (!data.contains(key)) {
    if (required) fail("save_dataset: the dict has no '{}'", key);
    return {};
  }
  const FloatArray a = py::cast<FloatArray>(data[key]);
  const int64_t rows = a.ndim() == 0 ? 0 : a.shape(0);
  const int64_t cols = a.ndim() == 2 ? a.shape(1) : 1;
  if (rows != n || cols != width || a.ndim() > 2) {
    fail("save_dataset: '{}' must be [{}, {}], got {} values in {} dimensions", key, n, width,
         a.size(), a.ndim());
  }
  return {a.data(), a.data() + a.size()};
}

void save_dataset_py(const std::string& path, const py::dict& data, const std::string& layout,
                     bool force) {
  if (!data.contains("observations") || !data.contains("actions"))
    fail("save_dataset: the dict needs 'observations' and 'actions'");
  const FloatArray obs = py::cast<FloatArray>(data["observations"]);
  const FloatArray act = py::cast<FloatArray>(data["actions"]);
  if (obs.ndim() != 2 || act.ndim() != 2)
    fail("save_dataset: 'observations' and 'actions' must be 2-D [rows, dim]");
  Dataset d;
  const int64_t n = obs.shape(0);
  d.obs_dim = obs.shape(1);
  d.act_dim = act.shape(1);
  d.observations = column(data, "observations", n, d.obs_dim, true);
  d.actions = column(data, "actions", n, d.act_dim, true);
  d.rewards = column(data, "rewards", n, 1, true);
  auto flags = [&](const char* key, std::vector<uint8_t>& out) {
    const std::vector<float> v = column(data, key, n, 1, false);
    out.assign(static_cast<size_t>(n), 0);
    for (size_t i = 0; i < v.size(); ++i) out[i] = v[i] != 0.0f ? 1 : 0;
  };
  flags("terminals", d.terminals);
  flags("timeouts", d.timeouts);
  d.costs = column(data, "costs", n, 1, false);
  if (data.contains("next_observations")) {
    d.next_observations = column(data, "next_observations", n, d.obs_dim, true);
    d.has_next.assign(static_cast<size_t>(n), 1);
  } else {
    d.derive_next_observations();
  }
  if (data.contains("metadata")) {
    for (const auto& [key, value] : py::cast<py::dict>(data["metadata"])) {
      const std::string k = py::cast<std::string>(key);
      if (py::isinstance<py::str>(value)) {
        d.set_metadata_string(k, py::cast<std::string>(value));
      } else if (py::isinstance<py::int_>(value) || py::isinstance<py::float_>(value)) {
        d.set_metadata_number(k, py::cast<double>(value));
      } else {
        fail("save_dataset: metadata '{}' must be a string or a number", k);
      }
    }
  }
  d.index_episodes();
  LoadReport report;
  validate_dataset(d, "save_dataset", {}, report);
  save_dataset(d, path, {.layout = parse_layout(layout), .force = force});
}

// The text of a Python value as a --set value: bools as true/false, the rest as str().
std::string override_text(const py::handle& value) {
  if (py::isinstance<py::bool_>(value)) return py::cast<bool>(value) ? "true" : "false";
  return py::cast<std::string>(py::str(value));
}

// While alive, Ctrl-C (SIGINT) asks the training loop to stop (core/stop.h) instead of reaching
// Python's handler, which cannot run while C++ holds no GIL; the previous handler comes back at
// the end.
class CtrlCStops {
 public:
  CtrlCStops() {
    clear_stop_request();
    struct sigaction sa {};
    sa.sa_handler = [](int) { request_stop(); };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_);
  }
  ~CtrlCStops() { sigaction(SIGINT, &old_, nullptr); }
  CtrlCStops(const CtrlCStops&) = delete;
  CtrlCStops& operator=(const CtrlCStops&) = delete;

 private:
  struct sigaction old_ {};
};

// Runs `fn` (a training call) with the GIL released and Ctrl-C stopping it; a stopped run raises
// KeyboardInterrupt naming its step and how to continue it.
TrainResult run_training(const std::function<TrainResult()>& fn) {
  TrainResult r;
  bool stopped = false;
  {
    py::gil_scoped_release release;
    const CtrlCStops ctrl_c;
    r = fn();
    stopped = stop_requested();
    clear_stop_request();
  }
  if (stopped) {
    PyErr_SetString(PyExc_KeyboardInterrupt,
                    fmt::format("training stopped at step {}; stitch.resume('{}') continues it "
                                "from its last checkpoint",
                                r.steps, r.run_dir)
                        .c_str());
    throw py::error_already_set();
  }
  return r;
}

py::dict train_result(const TrainResult& r);

// stitch.train: the CLI's trainer. Keyword arguments are trainer keys (steps=, seed=, ...);
// `set` holds the rest as {"iql.expectile": 0.8}. Returns what the run reached.
// The kwargs of stitch.train/finetune as "key=value" overrides, after `first`.
std::vector<std::string> kwargs_overrides(std::vector<std::string> overrides,
                                          const py::kwargs& kwargs) {
  py::dict set;
  for (const auto& [key, value] : kwargs) {
    const std::string k = py::cast<std::string>(key);
    if (k == "set") {
      set = py::cast<py::dict>(value);
      continue;
    }
    if (value.is_none()) continue;
    overrides.push_back(k + "=" + override_text(value));
  }
  for (const auto& [key, value] : set)
    overrides.push_back(py::cast<std::string>(key) + "=" + override_text(value));
  return overrides;
}

py::dict train_py(const std::string& algo, const py::kwargs& kwargs) {
  TrainConfig config;
  const std::string json =
      resolve_train_config(config, "", kwargs_overrides({"algo=" + algo}, kwargs));
  return train_result(run_training([&] { return train(json, false); }));
}

// stitch.finetune: `stitch finetune --from checkpoint --algo algo` (algo/o2o/finetune.h), the
// same keyword arguments as stitch.train.
py::dict finetune_py(const std::string& from, const std::string& algo, const py::kwargs& kwargs) {
  const std::string json =
      finetune_config(from, algo, "", kwargs_overrides({"algo=" + algo}, kwargs));
  return train_result(run_training([&] { return train(json, false); }));
}

py::dict train_result(const TrainResult& r) {
  py::list evaluations;
  for (const auto& [step, e] : r.evaluations) {
    py::dict d;
    d["step"] = step;
    d["mean"] = e.mean;
    d["returns"] = e.returns;
    evaluations.append(d);
  }
  py::dict out;
  out["steps"] = r.steps;
  out["run_dir"] = r.run_dir;
  out["checkpoint"] = r.checkpoint;
  out["evaluations"] = evaluations;
  return out;
}

// stitch.load_run: a run directory's summary and evaluations (what `stitch runs` reads).
py::dict load_run_py(const std::string& dir) {
  const RunSummary s = read_run(dir);
  py::dict out;
  out["name"] = s.name;
  out["algo"] = s.algo;
  out["env"] = s.env;
  out["dataset"] = s.dataset;
  out["seed"] = s.seed;
  out["planned_steps"] = s.planned_steps;
  out["steps"] = s.steps;
  out["wall_s"] = s.wall_s;
  out["status"] = s.status;
  out["error"] = s.error;
  const auto n = static_cast<py::ssize_t>(s.evaluations.size());
  py::array_t<int64_t> steps(n);
  py::array_t<double> mean(n), normalized(n);
  for (py::ssize_t i = 0; i < n; ++i) {
    const EvalPoint& e = s.evaluations[i];
    steps.mutable_at(i) = e.step;
    mean.mutable_at(i) = e.mean;
    normalized.mutable_at(i) = e.normalized.value_or(std::nan(""));
  }
  py::dict evaluations;
  evaluations["step"] = steps;
  evaluations["mean"] = mean;
  evaluations["normalized"] = normalized;
  out["evaluations"] = evaluations;
  return out;
}

// The deployed policy (deploy/policy.h): one observation [obs_dim] or a batch [B, obs_dim].
py::array_t<float> policy_act(const DeployedPolicy& p, const FloatArray& obs) {
  const int64_t od = p.obs_dim(), ad = p.act_dim();
  if (obs.ndim() == 1 && obs.shape(0) == od) {
    py::array_t<float> out(ad);
    p.act({obs.data(), static_cast<size_t>(od)}, {out.mutable_data(), static_cast<size_t>(ad)});
    return out;
  }
  if (obs.ndim() != 2 || obs.shape(1) != od)
    fail("Policy.act: expected shape ({},) or (B, {}), got {} dimensions", od, od, obs.ndim());
  const py::ssize_t b = obs.shape(0);
  py::array_t<float> out({b, static_cast<py::ssize_t>(ad)});
  for (py::ssize_t i = 0; i < b; ++i) {
    p.act({obs.data() + i * od, static_cast<size_t>(od)},
          {out.mutable_data() + i * ad, static_cast<size_t>(ad)});
  }
  return out;
}

}  // namespace
}  // namespace stitch::python

PYBIND11_MODULE(stitch, m) {
  using namespace stitch;
  using namespace stitch::python;
  m.doc() = "stitch: C++ envs, vector envs and datasets for data-driven RL (README \"Python\")";
  static py::exception<Error> error(m, "Error", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      error(error_summary(e).c_str());
    }
  });

  py::class_<PySpace>(m, "Space")
      .def_property_readonly("shape", &PySpace::shape)
      .def_property_readonly("dtype", &PySpace::dtype)
      .def_property_readonly("low", &PySpace::low)
      .def_property_readonly("high", &PySpace::high)
      .def_property_readonly("n", &PySpace::n)
      .def("sample", &PySpace::sample)
      .def("seed", &PySpace::seed)
      .def("contains", &PySpace::contains)
      .def("__contains__", &PySpace::contains)
      .def("__repr__", &PySpace::repr);
  py::class_<PySpec>(m, "EnvSpec")
      .def_readonly("id", &PySpec::id)
      .def_readonly("max_episode_steps", &PySpec::max_episode_steps);
  py::class_<PyEnv>(m, "Env")
      .def("reset", &PyEnv::reset, py::kw_only(), py::arg("seed") = py::none(),
           py::arg("options") = py::none())
      .def("step", &PyEnv::step, py::arg("action"))
      .def("close", [](PyEnv&) {})
      .def_property_readonly("observation_space", &PyEnv::observation_space,
                             py::return_value_policy::reference_internal)
      .def_property_readonly("action_space", &PyEnv::action_space,
                             py::return_value_policy::reference_internal)
      .def_property_readonly("spec", &PyEnv::spec, py::return_value_policy::reference_internal);
  py::class_<PyVectorEnv>(m, "VectorEnv")
      .def("reset", &PyVectorEnv::reset, py::kw_only(), py::arg("seed") = 0)
      .def("step", &PyVectorEnv::step, py::arg("actions"))
      .def("close", [](PyVectorEnv&) {})
      .def_property_readonly("num_envs", &PyVectorEnv::num_envs)
      .def_property_readonly("single_observation_space", &PyVectorEnv::single_observation_space,
                             py::return_value_policy::reference_internal)
      .def_property_readonly("single_action_space", &PyVectorEnv::single_action_space,
                             py::return_value_policy::reference_internal);

  py::class_<DeployedPolicy>(m, "Policy")
      .def_static("load", &DeployedPolicy::load, py::arg("path"),
                  "a policy file written by `stitch export`")
      .def_static("from_checkpoint", &export_checkpoint_policy, py::arg("checkpoint"),
                  "a checkpoint's deterministic policy, as `stitch export` writes it")
      .def("act", &policy_act, py::arg("obs"))
      .def("save", &DeployedPolicy::save, py::arg("path"))
      .def_property_readonly("obs_dim", &DeployedPolicy::obs_dim)
      .def_property_readonly("act_dim", &DeployedPolicy::act_dim);

  m.def(
      "envs", [] { return EnvRegistry::global().ids(); }, "the registered env ids");
  m.def("train", &train_py, py::arg("algo"),
        "stitch train: keyword arguments are trainer keys (dataset=, env=, steps=, run_dir=, "
        "seed=, ...), set={'<algo>.<key>': value} the algorithm's; the GIL is released");
  m.def("finetune", &finetune_py, py::arg("from_checkpoint"), py::arg("algo"),
        "stitch finetune: continues a pre-trained checkpoint online with algo (iql, td3_bc, cql, "
        "calql, wsrl); keyword arguments as for train (env=, steps= env steps, dataset= and "
        "offline_ratio= for the offline data, learning_starts= the warm-up); the GIL is "
        "released");
  m.def(
      "resume",
      [](const std::string& run_dir) {
        return train_result(run_training([&] { return resume_training(run_dir); }));
      },
      py::arg("run_dir"), "continues a stopped or killed run from its checkpoint");
  m.def("load_run", &load_run_py, py::arg("run_dir"),
        "a run directory's summary and its evaluations as numpy arrays");
  m.def(
      "make", [](const std::string& id) { return std::make_unique<PyEnv>(id); }, py::arg("id"),
      "an env with Gymnasium's API (reset/step, spaces, spec)");
  m.def(
      "make_vec",
      [](const std::string& id, int num_envs, int threads) {
        return std::make_unique<PyVectorEnv>(id, num_envs, threads);
      },
      py::arg("id"), py::arg("num_envs"), py::arg("threads") = 1,
      "num_envs copies stepped together in C++ (same-step autoreset, the GIL released)");
  m.def("load_dataset", &load_dataset_py, py::arg("path"),
        "a D4RL file or Minari dataset as a dict of numpy arrays (copies) and 'metadata'");
  m.def(
      "qlearning_dataset",
      [](const py::dict& data) {
        // D4RL's qlearning_dataset: the transitions to learn from, time-out rows (and rows
        // without a recorded successor) left out.
        const py::module_ np = py::module_::import("numpy");
        py::object keep = np.attr("logical_not")(data["timeouts"]);
        if (data.contains("has_next")) keep = np.attr("logical_and")(keep, data["has_next"]);
        py::dict out;
        for (const char* key :
             {"observations", "actions", "next_observations", "rewards", "terminals"}) {
          out[key] = data[key].attr("__getitem__")(keep);
        }
        return out;
      },
      py::arg("data"),
      "D4RL's qlearning_dataset over load_dataset's dict: observations, actions, "
      "next_observations, rewards, terminals of the rows that are not time-outs");
  m.def("save_dataset", &save_dataset_py, py::arg("path"), py::arg("data"),
        py::arg("layout") = "d4rl", py::arg("force") = false,
        "writes a dict of arrays (observations, actions, rewards, terminals, timeouts, ...), "
        "validated as the CLI validates a file");
}
