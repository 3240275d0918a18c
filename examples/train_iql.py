"""Train IQL on a suite dataset from Python and plot its learning curve (README "Python").

  build/stitch suite build --env hopper-v4          # the suite's datasets, into data/
  PYTHONPATH=build/python /usr/bin/python3 examples/train_iql.py data/hopper-v4-medium.hdf5 20000

The plot (iql_curve.png) needs matplotlib; without it the curve is printed.
"""
import sys

import stitch

dataset = sys.argv[1] if len(sys.argv) > 1 else "data/hopper-v4-medium.hdf5"
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
env_id = stitch.load_dataset(dataset)["metadata"].get("env_id", "hopper-v4")
result = stitch.train("iql", dataset=dataset, env=env_id, steps=steps, eval_every=steps // 10,
                      eval_episodes=5, run_dir="runs/example-iql", set={"iql.hidden": 256})
curve = stitch.load_run(result["run_dir"])["evaluations"]
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.plot(curve["step"], curve["normalized"], marker="o")
    plt.xlabel("gradient steps")
    plt.ylabel("normalised score")
    plt.title(f"IQL on {dataset}")
    plt.savefig("iql_curve.png")
    print("wrote iql_curve.png")
except ImportError:
    for step, score in zip(curve["step"], curve["normalized"]):
        print(f"step {step}: normalised score {score:.1f}")
