"""Independent checks of stitch's dataset files with h5py (Debian's python3-h5py).

Test code only. Usage:
  interop.py check-d4rl FILE EXPECTED.json     h5py reads a stitch-written D4RL file
  interop.py check-minari DIR EXPECTED.json    h5py reads a stitch-written Minari directory
  interop.py make-d4rl FILE                     h5py writes a D4RL file (float64, (N,1) columns)
  interop.py make-minari DIR                    h5py writes a Minari dataset directory
  interop.py make-bad DIR                       h5py writes one file per defect
Writers print the expected values as JSON on stdout.
"""
import json
import os
import sys

import h5py
import numpy as np


def fail(msg):
    print("interop check failed: " + msg, file=sys.stderr)
    sys.exit(1)


def close(name, got, want):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        fail(f"{name}: shape {got.shape} != {want.shape}")
    if not np.allclose(got, want, rtol=0, atol=1e-6):
        fail(f"{name}: values differ, max abs diff {np.max(np.abs(got - want))}")


def check_d4rl(path, expected):
    with h5py.File(path, "r") as f:
        n, od, ad = expected["n"], expected["obs_dim"], expected["act_dim"]
        for key, shape in [("observations", (n, od)), ("actions", (n, ad)), ("rewards", (n,)),
                           ("next_observations", (n, od)), ("terminals", (n,)), ("timeouts", (n,))]:
            if f[key].shape != shape:
                fail(f"{key}: shape {f[key].shape} != {shape}")
        for key in ["observations", "actions", "rewards", "next_observations"]:
            if f[key].dtype != np.float32:
                fail(f"{key}: dtype {f[key].dtype} is not float32")
        for key in ["terminals", "timeouts"]:
            if f[key].dtype != np.bool_:
                fail(f"{key}: dtype {f[key].dtype} is not bool")
        close("observations[:3]", f["observations"][:3], expected["observations_head"])
        close("actions[:3]", f["actions"][:3], expected["actions_head"])
        close("rewards sum", f["rewards"][:].astype(np.float64).sum(), expected["reward_sum"])
        if int(f["terminals"][:].sum()) != expected["terminals"]:
            fail("terminal count")
        if int(f["timeouts"][:].sum()) != expected["timeouts"]:
            fail("timeout count")
        env_id = f["metadata/env_id"][()]
        env_id = env_id.decode() if isinstance(env_id, bytes) else env_id
        if env_id != expected["env_id"]:
            fail(f"metadata/env_id {env_id!r}")
        for key, dtype in expected.get("infos_dtypes", {}).items():
            if str(f["infos/" + key].dtype) != dtype:
                fail(f"infos/{key}: dtype {f['infos/' + key].dtype} is not {dtype}")
        if "cut_episode_ends" in expected:
            cuts = f["metadata/cut_episode_ends"][()]
            cuts = json.loads(cuts.decode() if isinstance(cuts, bytes) else cuts)
            if cuts != expected["cut_episode_ends"] or not all(f["timeouts"][i] for i in cuts):
                fail(f"metadata/cut_episode_ends {cuts} (want time-out rows {expected['cut_episode_ends']})")


def check_minari(path, expected):
    with open(os.path.join(path, "data", "metadata.json")) as fh:
        meta = json.load(fh)
    if meta["total_steps"] != expected["n"] or meta["total_episodes"] != expected["episodes"]:
        fail(f"metadata.json totals {meta['total_steps']} / {meta['total_episodes']}")
    with h5py.File(os.path.join(path, "data", "main_data.hdf5"), "r") as f:
        groups = sorted(f.keys(), key=lambda k: int(k.split("_")[1]))
        if len(groups) != expected["episodes"]:
            fail(f"{len(groups)} episode groups")
        steps = 0
        rewards = 0.0
        for g in groups:
            ep = f[g]
            t = ep["actions"].shape[0]
            if ep["observations"].shape[0] != t + 1:
                fail(f"{g}: observations has {ep['observations'].shape[0]} rows, want {t + 1}")
            if ep["terminations"].dtype != np.bool_ or ep["truncations"].dtype != np.bool_:
                fail(f"{g}: flags are not bool")
            if int(ep.attrs["total_steps"]) != t:
                fail(f"{g}: total_steps attribute")
            steps += t
            rewards += ep["rewards"][:].astype(np.float64).sum()
        if steps != expected["n"]:
            fail(f"{steps} steps in the episodes")
        close("reward sum", rewards, expected["reward_sum"])
        close("first observation", f[groups[0]]["observations"][0], expected["observations_head"][0])


def make_d4rl(path):
    rng = np.random.default_rng(0)
    n, od, ad = 250, 5, 2
    obs = rng.normal(size=(n, od))  # float64, as D4RL's medium-replay files
    act = rng.uniform(-1, 1, size=(n, ad))
    rew = rng.normal(size=(n, 1))  # (N, 1), as some files have
    term = np.zeros((n, 1), dtype=bool)
    term[99] = True
    tout = np.zeros(n, dtype=bool)
    tout[199] = True
    with h5py.File(path, "w") as f:
        f["observations"] = obs
        f["actions"] = act.astype(np.float32)
        f["rewards"] = rew
        f["terminals"] = term
        f["timeouts"] = tout
        f["infos/qpos"] = rng.normal(size=(n, 3)).astype(np.float32)
        f["metadata/algorithm"] = "SAC"
        f["metadata/ref_max_score"] = 3234.3
        f.attrs["env_id"] = "synthetic-v0"
    print(json.dumps({"n": n, "obs_dim": od, "act_dim": ad,
                      "observations_head": obs[:3].tolist(), "reward_sum": float(rew.sum()),
                      "episodes": 3, "qpos_head": None}))


def make_minari(path):
    rng = np.random.default_rng(1)
    od, ad = 3, 1
    lengths = [7, 5, 9]
    data = os.path.join(path, "data")
    os.makedirs(data, exist_ok=True)
    total_reward = 0.0
    first_obs = None
    with h5py.File(os.path.join(data, "main_data.hdf5"), "w", track_order=True) as f:
        for i, t in enumerate(lengths):
            g = f.create_group(f"episode_{i}")
            g.attrs["id"] = i
            g.attrs["total_steps"] = t
            g.attrs["seed"] = 100 + i
            obs = rng.normal(size=(t + 1, od)).astype(np.float32)
            if first_obs is None:
                first_obs = obs[0].tolist()
            g["observations"] = obs
            g["actions"] = rng.uniform(-1, 1, size=(t, ad)).astype(np.float32)
            rew = rng.normal(size=t)
            total_reward += float(rew.sum())
            g["rewards"] = rew
            term = np.zeros(t, dtype=bool)
            trunc = np.zeros(t, dtype=bool)
            (term if i == 0 else trunc)[-1] = True
            g["terminations"] = term
            g["truncations"] = trunc
            g["infos/speed"] = rng.normal(size=t + 1)  # Minari keeps T+1 infos
    meta = {"dataset_id": "synthetic/test-v0", "total_episodes": 3, "total_steps": sum(lengths),
            "ref_min_score": -10.0, "ref_max_score": 10.0, "data_format": "hdf5",
            "action_space": json.dumps({"type": "Box", "dtype": "float32", "shape": [1],
                                        "low": [-1.0], "high": [1.0]})}
    with open(os.path.join(data, "metadata.json"), "w") as fh:
        json.dump(meta, fh)
    print(json.dumps({"n": sum(lengths), "episodes": 3, "reward_sum": total_reward,
                      "first_observation": first_obs}))


def make_bad(directory):
    os.makedirs(directory, exist_ok=True)
    n = 20

    def base(f, skip=()):
        cols = {"observations": np.zeros((n, 3), np.float32), "actions": np.zeros((n, 1), np.float32),
                "rewards": np.zeros(n, np.float32), "terminals": np.zeros(n, bool),
                "timeouts": np.eye(1, n, n - 1, dtype=bool)[0]}
        for k, v in cols.items():
            if k not in skip:
                f[k] = v

    def make(name, fn):
        with h5py.File(os.path.join(directory, name), "w") as f:
            fn(f)

    make("missing_rewards.hdf5", lambda f: base(f, skip=("rewards",)))

    def mismatched(f):
        base(f, skip=("actions",))
        f["actions"] = np.zeros((n - 1, 1), np.float32)
    make("mismatched.hdf5", mismatched)

    def wrong_rank(f):
        base(f, skip=("observations",))
        f["observations"] = np.zeros(n, np.float32)
    make("wrong_rank.hdf5", wrong_rank)

    def nan_reward(f):
        base(f, skip=("rewards",))
        r = np.zeros(n, np.float32)
        r[13] = np.nan
        f["rewards"] = r
    make("nan_reward.hdf5", nan_reward)

    def inf_obs(f):
        base(f, skip=("observations",))
        o = np.zeros((n, 3), np.float32)
        o[7, 2] = np.inf
        f["observations"] = o
    make("inf_observation.hdf5", inf_obs)

    def out_of_bounds(f):
        base(f, skip=("actions",))
        a = np.zeros((n, 1), np.float32)
        a[5] = 3.5  # pendulum-v1 torque is in [-2, 2]
        f["actions"] = a
        f["metadata/env_id"] = "pendulum-v1"
    make("action_out_of_bounds.hdf5", out_of_bounds)

    def never_ends(f):
        m = 300  # pendulum-v1 episodes last 200 steps
        f["observations"] = np.zeros((m, 3), np.float32)
        f["actions"] = np.zeros((m, 1), np.float32)
        f["rewards"] = np.zeros(m, np.float32)
        f["terminals"] = np.zeros(m, bool)
        t = np.zeros(m, bool)
        t[-1] = True
        f["timeouts"] = t
        f["metadata/env_id"] = "pendulum-v1"
    make("never_ends.hdf5", never_ends)

    def bad_flag(f):
        base(f, skip=("terminals",))
        t = np.zeros(n, np.int32)
        t[4] = 2
        f["terminals"] = t
    make("bad_flag.hdf5", bad_flag)

    make("no_timeouts.hdf5", lambda f: base(f, skip=("timeouts",)))
    make("unended.hdf5", lambda f: (base(f, skip=("timeouts",)), f.create_dataset("timeouts", data=np.zeros(n, bool))))

    with open(os.path.join(directory, "not_hdf5.hdf5"), "w") as fh:
        fh.write("observations,actions\n1,2\n")
    # A real file cut short.
    with h5py.File(os.path.join(directory, "full.hdf5"), "w") as f:
        f["observations"] = np.random.default_rng(0).normal(size=(5000, 17)).astype(np.float32)
        f["actions"] = np.zeros((5000, 6), np.float32)
        f["rewards"] = np.zeros(5000, np.float32)
        f["terminals"] = np.zeros(5000, bool)
        f["timeouts"] = np.zeros(5000, bool)
    with open(os.path.join(directory, "full.hdf5"), "rb") as fh:
        blob = fh.read()
    with open(os.path.join(directory, "truncated.hdf5"), "wb") as fh:
        fh.write(blob[: len(blob) // 2])
    os.remove(os.path.join(directory, "full.hdf5"))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "check-d4rl":
        check_d4rl(sys.argv[2], json.load(open(sys.argv[3])))
    elif cmd == "check-minari":
        check_minari(sys.argv[2], json.load(open(sys.argv[3])))
    elif cmd == "make-d4rl":
        make_d4rl(sys.argv[2])
    elif cmd == "make-minari":
        make_minari(sys.argv[2])
    elif cmd == "make-bad":
        make_bad(sys.argv[2])
    else:
        fail("unknown command " + cmd)
    print("ok", file=sys.stderr)
