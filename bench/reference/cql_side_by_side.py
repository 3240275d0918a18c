#!/usr/bin/python3
"""The table of docs/results.md's "CQL beside CORL's code": CORL's CQL statistics (a CSV of
bench/reference/corl_cql.py) beside a stitch CQL run's metrics.jsonl, at the steps both logged.

  /usr/bin/python3 bench/reference/cql_side_by_side.py corl.csv runs/cql-hopper/metrics.jsonl
"""
import csv
import json
import sys


def main():
    corl = {int(r["step"]): r for r in csv.DictReader(open(sys.argv[1]))}
    stitch = {}
    for line in open(sys.argv[2]):
        m = json.loads(line)
        if "q_mean" in m:
            stitch[m["step"]] = m
    print("| step | mean Q on data (CORL / stitch) | CQL gap | TD loss, both critics | "
          "actor loss | alpha |")
    print("|---|---|---|---|---|---|")
    for step in sorted(set(corl) & set(stitch)):
        c, s = corl[step], stitch[step]
        q = (float(c["average_qf1"]) + float(c["average_qf2"])) / 2
        gap = (float(c["cql_qf1_diff"]) + float(c["cql_qf2_diff"])) / 2
        td = float(c["qf1_loss"]) + float(c["qf2_loss"])
        print(f"| {step} | {q:.1f} / {s['q_mean']:.1f} | {gap:.2f} / {s['cql_gap']:.2f} | "
              f"{td:.1f} / {s['td_loss']:.1f} | {float(c['policy_loss']):.1f} / "
              f"{s['actor_loss']:.1f} | {float(c['alpha']):.4f} / {s['alpha']:.4f} |")


if __name__ == "__main__":
    main()
