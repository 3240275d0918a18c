#!/usr/bin/python3
"""scripts/compare-runs.py on made-up run directories: pairs by name, skips unfinished runs and
runs without a pair, and gives the mean difference with an interval that holds it."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "compare-runs.py")


def make_run(root, algo, dataset, seed, score, status="finished", env=None):
    d = os.path.join(root, f"{algo}-{dataset or env}-s{seed}")
    os.makedirs(d)
    meta = {"algo": algo, "seed": seed, "status": status}
    if dataset:
        meta["dataset"] = f"data/{dataset}.hdf5"
    if env:
        meta["env"] = env
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f)
    with open(os.path.join(d, "eval.jsonl"), "w") as f:
        f.write(json.dumps({"step": 50, "normalized": -50.0}) + "\n")
        f.write(json.dumps({"step": 100, "normalized": score}) + "\n")


class CompareRuns(unittest.TestCase):
    def test_paired_difference(self):
        with tempfile.TemporaryDirectory() as tmp:
            a, b = os.path.join(tmp, "fp32"), os.path.join(tmp, "bf16")
            for seed, (x, y) in enumerate([(10.0, 12.0), (20.0, 21.0), (30.0, 33.0)]):
                make_run(a, "iql", "hopper-v4-medium", seed, x)
                make_run(b, "iql", "hopper-v4-medium", seed, y)
            make_run(a, "iql", "hopper-v4-medium", 3, 0.0)  # no pair
            make_run(a, "iql", "walker2d-v4-medium", 0, 5.0)
            make_run(b, "iql", "walker2d-v4-medium", 0, 9.0, status="running")  # unfinished
            make_run(a, "td3_bc", "walker2d-v4-medium-replay", 0, 1.0)
            make_run(b, "td3_bc", "walker2d-v4-medium-replay", 0, 4.0)
            out = subprocess.run([sys.executable, SCRIPT, a, b, "--replicates", "2000"],
                                 check=True, capture_output=True, text=True).stdout
            rows = [line for line in out.splitlines() if line.startswith("| iql")]
            self.assertEqual(len(rows), 2, out)
            self.assertIn("| td3_bc | walker2d-v4-medium-replay | 1 | 1.0 | 4.0 | +3.0 [+3.0, +3.0] |",
                          out)
            self.assertTrue(rows[0].startswith("| iql | hopper-v4-medium | 3 | 20.0 | 22.0 | +2.0 ["),
                            rows[0])
            lo, hi = (float(x) for x in rows[0].split("[")[1].rstrip(" |]").split(","))
            self.assertTrue(1.0 <= lo <= 2.0 <= hi <= 3.0, rows[0])
            self.assertIn("| iql | all (1 datasets) | 3 |", rows[1])

    def test_last_k_evaluations(self):
        with tempfile.TemporaryDirectory() as tmp:
            a, b = os.path.join(tmp, "fp32"), os.path.join(tmp, "bf16")
            make_run(a, "iql", "hopper-v4-medium", 0, 10.0)  # evaluations -50, 10
            make_run(b, "iql", "hopper-v4-medium", 0, 30.0)  # evaluations -50, 30
            out = subprocess.run([sys.executable, SCRIPT, a, b, "--last", "2", "--replicates",
                                  "200"], check=True, capture_output=True, text=True).stdout
            self.assertIn("| iql | hopper-v4-medium | 1 | -20.0 | -10.0 | +10.0 [+10.0, +10.0] |",
                          out)
            r = subprocess.run([sys.executable, SCRIPT, a, b, "--last", "3"], capture_output=True,
                               text=True)  # two evaluations each: every run is left out
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("fewer than --last 3", r.stderr)

    def test_methods_compared_by_env_unpaired(self):
        with tempfile.TemporaryDirectory() as tmp:
            a, b = os.path.join(tmp, "sac"), os.path.join(tmp, "ft")
            for seed, score in enumerate([10.0, 20.0, 30.0]):  # SAC from scratch: no dataset
                make_run(a, "sac", None, seed, score, env="hopper-v4")
            for seed, score in enumerate([50.0, 70.0]):  # two methods fine-tuned, same env
                make_run(b, "iql", "hopper-v4-medium", seed, score, env="hopper-v4")
            make_run(b, "calql", "hopper-v4-medium", 0, 60.0, env="hopper-v4")
            make_run(b, "iql", "hopper-v4-medium", 5, 99.0, status="running", env="hopper-v4")
            make_run(b, "iql", "walker2d-v4-medium-replay", 0, 9.0, env="walker2d-v4")  # no pair
            out = subprocess.run([sys.executable, SCRIPT, a, b, "--by-env", "--replicates", "4000"],
                                 check=True, capture_output=True, text=True).stdout
            rows = [line for line in out.splitlines() if line.startswith("| hopper-v4")]
            self.assertEqual(len(rows), 1, out)
            self.assertNotIn("walker2d", out)
            self.assertTrue(rows[0].startswith(
                "| hopper-v4 | sac (3) | calql+iql (3) | 20.0 | 60.0 | +40.0 ["), rows[0])
            lo, hi = (float(x) for x in rows[0].split("[")[1].rstrip(" |]").split(","))
            # The extremes: B's worst resample (50) less A's best (30), B's best (70) less A's
            # worst (10); resampling both sides independently puts the interval well inside.
            self.assertTrue(20.0 <= lo < 40.0 < hi <= 60.0, rows[0])
            self.assertGreater(hi - lo, 10.0, rows[0])  # wider than a paired interval would be

    def test_nothing_to_compare_is_one_line(self):
        with tempfile.TemporaryDirectory() as tmp:
            os.makedirs(os.path.join(tmp, "a"))
            os.makedirs(os.path.join(tmp, "b"))
            r = subprocess.run([sys.executable, SCRIPT, os.path.join(tmp, "a"),
                                os.path.join(tmp, "b")], capture_output=True, text=True)
            self.assertNotEqual(r.returncode, 0)
            self.assertTrue(r.stderr.startswith("error: no finished run"), r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1)


if __name__ == "__main__":
    unittest.main()
