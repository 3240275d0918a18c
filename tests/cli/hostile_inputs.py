#!/usr/bin/env python3
"""Hostile inputs against the stitch binary, as a new user's mistakes or a damaged file would
give them: config values, nested JSON, suite manifests, policy files, HDF5 datasets that claim
more than they hold, malformed Minari episodes. Every case must end with exit code 1 and exactly
one stderr line starting with "error: " (or, where marked, succeed), within 30 s and a 6 GiB
address-space cap: no crash, hang, trace or unbounded allocation.

    hostile_inputs.py STITCH_BIN WORK_DIR [--table]

Prints one markdown row per case (--table: the whole table) and exits 1 when any case fails.
Uses Debian's /usr/bin/python3 (h5py, numpy)."""
import json
import os
import resource
import shutil
import subprocess
import sys

import h5py
import numpy as np

stitch, work = sys.argv[1], sys.argv[2]
table = "--table" in sys.argv
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
cases = []  # (kind, description, argv, expectation)


def case(kind, what, args, expect="error"):
    cases.append((kind, what, args, expect))


def path(name):
    return os.path.join(work, name)


def limit():
    # A sanitizer's runtime reserves terabytes of address space for its shadow memory, so under
    # `make test-asan` / `make test-tsan` the cap would fail every case at start-up: there the
    # sanitizer's own allocation limit stands in, and `make test` runs the capped cases.
    if "ASAN_OPTIONS" in os.environ or "TSAN_OPTIONS" in os.environ:
        return
    cap = 6 << 30
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


# A small valid dataset, and a policy from a short run, to point the hostile values at.
subprocess.run([stitch, "--log-level", "warn", "collect", "--env", "pendulum-v1", "--policy", "scripted",
                "--transitions", "500", "--out", path("ok.hdf5")], check=True, capture_output=True)
ok = path("ok.hdf5")
train = [stitch, "train", "--dataset", ok, "--env", "pendulum-v1", "--steps", "10"]

# 1. Config values: out of range, not finite, too large for their type, not numbers.
for algo, key, value in [("iql", "iql.hidden", "-3"), ("iql", "iql.hidden", "0"),
                         ("iql", "iql.hidden", str(2**63 - 1)), ("iql", "iql.hidden", "abc"),
                         ("iql", "iql.actor_lr", "nan"), ("iql", "iql.actor_lr", "inf"),
                         ("iql", "iql.actor_lr", "-3"), ("cql", "cql.tau", "-3"),
                         ("cql", "cql.conservative_weight", "-3"), ("td3_bc", "td3_bc.alpha", "-3"),
                         ("td3_bc", "td3_bc.policy_noise", "1e30"), ("bc", "batch_size", str(2**40)),
                         ("bc", "steps", "-5"), ("bc", "eval_episodes", "0")]:
    case("config value", f"{key}={value}", train + ["--algo", algo, "--set", f"{key}={value}"])
case("config value", "sac utd_ratio=1e30",
     [stitch, "train", "--algo", "sac", "--env", "pendulum-v1", "--online", "--set", "utd_ratio=1e30"])
case("config value", "sac buffer_size=2^63-1",
     [stitch, "train", "--algo", "sac", "--env", "pendulum-v1", "--online", "--set",
      f"buffer_size={2**63 - 1}"])

# 2. JSON nested until a recursive parser runs out of stack.
deep = "[" * 200000 + "]" * 200000
with open(path("deep.json"), "w") as f:
    f.write('{"a": ' + deep + "}")
case("nested JSON", "--config with 200,000 nested arrays", train + ["--algo", "bc", "--config", path("deep.json")])
os.makedirs(path("runs/deep"))
shutil.copy(path("deep.json"), path("runs/deep/config.json"))
case("nested JSON", "runs list over a run whose config.json is 200,000 deep", [stitch, "runs", "list", path("runs")], "either")
case("nested JSON", "report over that run", [stitch, "report", path("runs"), "--out", path("report")], "either")
with open(path("notjson.json"), "w") as f:
    f.write("{not json")
case("config file", "--config that is not JSON", train + ["--algo", "bc", "--config", path("notjson.json")])


# 3. Suite manifests: names that leave the data directory, a concat cycle, absurd sizes.
def manifest(name, datasets, sizes=None):
    p = path(name)
    with open(p, "w") as f:
        json.dump({"format": "stitch-suite-v1", "default_transitions": sizes or {"pendulum-v1": 100},
                   "datasets": datasets}, f)
    return p


rollout = {"env": "pendulum-v1", "recipe": "rollout", "policy": "random"}
for label, name in [("../ in a name", "../escape"), ("an absolute name", "/tmp/stitch-escape"),
                    ("a name with a slash", "a/b")]:
    case("suite manifest", label, [stitch, "suite", "build", "--manifest",
                                   manifest(f"m{len(cases)}.json", [dict(rollout, name=name)]),
                                   "--data-dir", path("suite-data")])
case("suite manifest", "a concat that contains itself",
     [stitch, "suite", "build", "--manifest",
      manifest("cycle.json", [{"name": "a", "env": "pendulum-v1", "recipe": "concat", "parts": ["b"]},
                              {"name": "b", "env": "pendulum-v1", "recipe": "concat", "parts": ["a"]}]),
      "--data-dir", path("suite-data")])
case("suite manifest", "default_transitions = 2^62",
     [stitch, "suite", "build", "--manifest",
      manifest("big.json", [dict(rollout, name="x")], {"pendulum-v1": 2**62}),
      "--data-dir", path("suite-data")])


# 4. Exported policy files (stitch-policy-v1: one JSON header line, then float32 arrays).
def policy(name, header, floats=0):
    p = path(name)
    with open(p, "wb") as f:
        f.write((json.dumps(header) + "\n").encode())
        f.write(np.zeros(floats, dtype=np.float32).tobytes())
    return p


base = {"format": "stitch-policy-v1", "max_action": 2.0, "normalize": False}
case("policy file", "a layer of 2^32 x 1", [stitch, "eval", "--env", "pendulum-v1", "--episodes", "1", "--policy",
                                            policy("huge.policy", dict(base, layers=[[3, 2**32], [2**32, 1]]), 16)])
case("policy file", "layers that do not chain", [stitch, "eval", "--env", "pendulum-v1", "--episodes", "1", "--policy",
                                                 policy("chain.policy", dict(base, layers=[[3, 4], [5, 1]]), 100)])
case("policy file", "max_action NaN", [stitch, "eval", "--env", "pendulum-v1", "--episodes", "1", "--policy",
                                       policy("nan.policy", dict(base, max_action=float("nan"), layers=[[3, 1]]), 4)])
case("policy file", "truncated weights", [stitch, "eval", "--env", "pendulum-v1", "--episodes", "1", "--policy",
                                          policy("short.policy", dict(base, layers=[[3, 64], [64, 1]]), 10)])
case("policy file", "collect --policy with the 2^32 layer",
     [stitch, "collect", "--env", "pendulum-v1", "--policy", path("huge.policy"), "--out", path("c.hdf5")])


# 5. HDF5 datasets that claim more than they hold, or nothing at all.
def d4rl(name, n, obs_dim=3, claim=None):
    p = path(name)
    with h5py.File(p, "w") as f:
        rows = claim or n
        chunks = claim is not None  # a chunked dataset can claim rows it never stores
        f.create_dataset("observations", shape=(rows, obs_dim), dtype="f4",
                         chunks=(1, obs_dim) if chunks else None)
        f.create_dataset("actions", shape=(rows, 1), dtype="f4", chunks=(1, 1) if chunks else None)
        for key in ("rewards", "terminals", "timeouts"):
            f.create_dataset(key, shape=(rows,), dtype="f4", chunks=(1,) if chunks else None)
    return p


big = d4rl("claims.hdf5", 0, claim=10**12)
case("HDF5 dataset", "claims 10^12 rows (chunked, nothing written)", [stitch, "dataset", "info", big])
case("HDF5 dataset", "train on it", train[:2] + ["--algo", "bc", "--dataset", big, "--env", "pendulum-v1"])
zero = d4rl("zero.hdf5", 100, obs_dim=0)
case("HDF5 dataset", "zero-width observations: dataset info", [stitch, "dataset", "info", zero])
case("HDF5 dataset", "zero-width observations: dataset convert",
     [stitch, "dataset", "convert", zero, path("zero-minari"), "--layout", "minari"])
minari = path("minari")
subprocess.run([stitch, "--log-level", "warn", "dataset", "convert", ok, minari, "--layout", "minari"],
               check=True, capture_output=True)
data_file = os.path.join(minari, "data", "main_data.hdf5")
if os.path.exists(data_file):
    with h5py.File(data_file, "a") as f:
        f.move("episode_1", "episode_-1")
        f.move("episode_2", "episode_0x1")
    case("Minari dataset", "episode groups named episode_-1 and episode_0x1", [stitch, "dataset", "info", minari])

# Run every case.
failures = 0
rows = []
for kind, what, argv, expect in cases:
    try:
        argv = [argv[0], "--log-level", "warn"] + argv[1:]  # no info lines: only what errors print
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30, preexec_fn=limit,
                           errors="replace")
        code, err = r.returncode, r.stderr
        outcome = None
    except subprocess.TimeoutExpired:
        code, err, outcome = None, "", "hang (over 30 s)"
    lines = [l for l in err.splitlines() if l.strip()]
    one_line = code == 1 and len(lines) == 1 and lines[0].startswith("error: ")
    if outcome is None:
        if one_line:
            outcome = "one-line error"
        elif code == 0 and expect == "either":
            outcome = "correct result"
        elif code is not None and code < 0:
            outcome = f"crash (signal {-code})"
        else:
            outcome = f"exit {code}, {len(lines)} stderr lines"
    ok_case = outcome in ("one-line error", "correct result")
    failures += not ok_case
    first = lines[0] if lines else ""
    first = first.replace(work, "W").replace("|", "\\|")
    if len(first) > 110:
        first = first[:107] + "..."
    rows.append(f"| {kind} | {what} | {outcome}{'' if ok_case else ' **FAIL**'} | `{first}` |")

if table:
    print("| input | case | outcome | first stderr line |")
    print("|---|---|---|---|")
for row in rows:
    print(row)
print(f"{len(cases) - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
