#!/usr/bin/python3
"""Compares two sets of runs of the same grid cells (e.g. a sweep in fp32 and in bf16).

Usage: scripts/compare-runs.py A_DIR B_DIR [--by-env] [--last K] [--replicates N] [--seed S]

Runs are paired by the algorithm, dataset (file stem) and seed their meta.json records; a run's
score is its last evaluation's normalised score (eval.jsonl), counted only when meta.json says
the run finished. With --last K, a run's score is the mean of its last K evaluations instead:
locomotion scores swing by tens of points from one evaluation to the next, and the mean of a
few is less of a lottery than the last one alone. For each algorithm x dataset it prints both means, the
mean difference B - A over the paired seeds, and a 95% percentile bootstrap interval of that
difference (seeds resampled with their pairs); then the same pooled over every pair of each
algorithm, with the datasets as strata.

--by-env compares two methods rather than two settings of one (e.g. SAC from scratch in A
against a method fine-tuned from offline pre-training in B, #16's study): the runs are grouped by
the env their meta.json records, whatever their algorithm, dataset and seed, and each group's
difference of means B - A gets a 95% percentile bootstrap interval with A's and B's runs
resampled independently (unpaired: the two methods' seeds are not related). Standard library
only.
"""
import argparse
import json
import os
import random
import sys


def final_score(run_dir, last=1):
    """(algo, dataset, seed, env, score) of a finished run, or None.

    The score is the mean normalised score of the last `last` evaluations; a run whose env has
    no normalised score is left out with a warning, so that raw returns never mix with
    normalised scores, and so is a run with fewer evaluations than `last`."""
    try:
        with open(os.path.join(run_dir, "meta.json")) as f:
            meta = json.load(f)
        with open(os.path.join(run_dir, "eval.jsonl")) as f:
            lines = [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError):
        return None
    if meta.get("status") != "finished" or not lines:
        return None
    if len(lines) < last:
        print(f"warning: {run_dir}: {len(lines)} evaluations, fewer than --last {last}; left out",
              file=sys.stderr)
        return None
    scores = [line.get("normalized") for line in lines[-last:]]
    if any(x is None for x in scores):
        print(f"warning: {run_dir}: no normalised score; left out", file=sys.stderr)
        return None
    score = sum(scores) / len(scores)
    dataset = meta.get("dataset")
    dataset = os.path.splitext(os.path.basename(dataset))[0] if dataset else meta.get("env", "?")
    return meta.get("algo", "?"), dataset, meta.get("seed", -1), meta.get("env", "?"), score


def finished_runs(root, last=1):
    """(algo, dataset, seed, env, score) of each finished run under root."""
    found = []
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        run = final_score(path, last) if os.path.isdir(path) else None
        if run is not None:
            found.append(run)
    return found


def runs(root, last=1):
    """The finished runs under root, by (algo, dataset, seed) as their meta.json records them."""
    return {run[:3]: run[4] for run in finished_runs(root, last)}


def unpaired_interval(xs, ys, replicates, rng):
    """95% percentile bootstrap of mean(ys) - mean(xs), each resampled on its own."""
    means = sorted(sum(rng.choice(ys) for _ in ys) / len(ys) -
                   sum(rng.choice(xs) for _ in xs) / len(xs) for _ in range(replicates))
    return means[int(0.025 * replicates)], means[int(0.975 * replicates) - 1]


def row_rng(seed, *row):
    """The generator of one row's bootstrap: seeded by --seed and the row's name, so that a row's
    interval does not move when other rows come or go."""
    return random.Random("/".join([str(seed), *map(str, row)]))


def compare_by_env(args):
    """Method against method on each env both directories have finished runs on (--by-env)."""
    groups = {}
    for side, root in ((0, args.a), (1, args.b)):
        for algo, _, _, env, score in finished_runs(root, args.last):
            group = groups.setdefault(env, ([], [], set(), set()))
            group[side].append(score)
            group[2 + side].add(algo)
    groups = {env: g for env, g in groups.items() if g[0] and g[1]}
    if not groups:
        sys.exit(f"error: no env has finished runs in both {args.a} and {args.b}")
    print("| env | A (runs) | B (runs) | A mean | B mean | B - A [95% CI, unpaired] |")
    print("|---|---|---|---|---|---|")
    for env, (xs, ys, algos_a, algos_b) in sorted(groups.items()):
        lo, hi = unpaired_interval(xs, ys, args.replicates, row_rng(args.seed, env))
        mean_a, mean_b = sum(xs) / len(xs), sum(ys) / len(ys)
        print(f"| {env} | {'+'.join(sorted(algos_a))} ({len(xs)}) | "
              f"{'+'.join(sorted(algos_b))} ({len(ys)}) | {mean_a:.1f} | {mean_b:.1f} | "
              f"{mean_b - mean_a:+.1f} [{lo:+.1f}, {hi:+.1f}] |")


def interval(strata, replicates, rng):
    """95% percentile bootstrap of the mean difference, resampling pairs within each stratum."""
    means = []
    for _ in range(replicates):
        diffs = []
        for pairs in strata:
            diffs += [b - a for a, b in (rng.choice(pairs) for _ in pairs)]
        means.append(sum(diffs) / len(diffs))
    means.sort()
    return means[int(0.025 * replicates)], means[int(0.975 * replicates) - 1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--replicates", type=int, default=10000, choices=range(100, 10**7),
                   metavar="N (100 or more)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--last", type=int, default=1, choices=range(1, 1001), metavar="K (1-1000)",
                   help="score a run by the mean of its last K evaluations (default 1)")
    p.add_argument("--by-env", action="store_true",
                   help="compare two methods on each env, unpaired (see the module's text)")
    args = p.parse_args()
    if args.by_env:
        compare_by_env(args)
        return
    a, b = runs(args.a, args.last), runs(args.b, args.last)
    cells = {}
    for key in sorted(set(a) & set(b)):
        cells.setdefault(key[:2], []).append((a[key], b[key]))
    if not cells:
        sys.exit(f"error: no finished run in {args.a} has a finished pair in {args.b}")
    name_a, name_b = os.path.basename(os.path.normpath(args.a)), os.path.basename(os.path.normpath(args.b))
    print(f"| algo | dataset | seeds | {name_a} | {name_b} | {name_b} - {name_a} [95% CI] |")
    print("|---|---|---|---|---|---|")
    by_algo = {}
    for (algo, dataset), pairs in cells.items():
        lo, hi = interval([pairs], args.replicates, row_rng(args.seed, algo, dataset))
        mean_a = sum(x for x, _ in pairs) / len(pairs)
        mean_b = sum(y for _, y in pairs) / len(pairs)
        print(f"| {algo} | {dataset} | {len(pairs)} | {mean_a:.1f} | {mean_b:.1f} | "
              f"{mean_b - mean_a:+.1f} [{lo:+.1f}, {hi:+.1f}] |")
        by_algo.setdefault(algo, []).append(pairs)
    for algo, strata in by_algo.items():
        n = sum(len(s) for s in strata)
        diff = sum(y - x for s in strata for x, y in s) / n
        lo, hi = interval(strata, args.replicates, row_rng(args.seed, algo, "all"))
        print(f"| {algo} | all ({len(strata)} datasets) | {n} | | | {diff:+.1f} [{lo:+.1f}, {hi:+.1f}] |")


if __name__ == "__main__":
    main()
