#!/usr/bin/env bash
# A real report in a real browser: trains a few short runs, writes `stitch report`, renders
# index.html in headless Chromium (scripts/report-screenshot.sh) and checks that the screenshot
# shows coloured charts and text (check_screenshot.py).
#   report_screenshot_test.sh STITCH_CLI SOURCE_DIR
set -euo pipefail
cli=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for seed in 0 1 2; do
  "$cli" --log-level warn train --algo stream-q --env cartpole-v1 --online --steps 30000 --seed $seed \
    --set eval_every=5000 --set eval_episodes=2 --run-dir "$work/runs/stream-q-s$seed" >/dev/null
  "$cli" --log-level warn train --algo stream-ac --env pendulum-v1 --online --steps 40000 --seed $seed \
    --set eval_every=5000 --set eval_episodes=2 --run-dir "$work/runs/stream-ac-s$seed" >/dev/null
done
"$cli" --log-level warn report "$work/runs" --out "$work/report" --replicates 500 >/dev/null
test "$(grep -c '<svg ' "$work/report/index.html")" -ge 4
bash "$src/scripts/report-screenshot.sh" "$work/report" "$work/shot.png" 1400,1600
/usr/bin/python3 "$src/tests/track/check_screenshot.py" "$work/shot.png"
