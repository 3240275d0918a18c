#!/usr/bin/env bash
# A real report in a real browser: trains a few short runs, writes `stitch report`, renders
# index.html in headless Chromium (scripts/report-screenshot.sh) and checks that the screenshot
# shows coloured charts and text (check_screenshot.py). One run carries hostile strings (a run
# directory named with markup, a config whose algo and env are script tags): the page must
# render them as text, and no script may run (the DOM Chromium dumps after loading the page
# keeps its title and holds the strings escaped).
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
hostile='<img src=x onerror="document.title=1">'
cp -r "$work/runs/stream-q-s0" "$work/runs/$hostile"
/usr/bin/python3 - "$work/runs/$hostile/config.json" <<'PY'
import json, sys
path = sys.argv[1]
c = json.load(open(path))
c["algo"] = "<script>document.title='pwned'</script>"
json.dump(c, open(path, "w"))
PY
"$cli" --log-level warn report "$work/runs" --out "$work/report" --replicates 500 >/dev/null
test "$(grep -c '<svg ' "$work/report/index.html")" -ge 4
bash "$src/scripts/report-screenshot.sh" "$work/report" "$work/shot.png" 1400,1600
/usr/bin/python3 "$src/tests/track/check_screenshot.py" "$work/shot.png"
browser=$(command -v chromium || command -v chromium-browser)
profile=$(mktemp -d)
"$browser" --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$profile" \
  --dump-dom "file://$work/report/index.html" >"$work/dom.html" 2>/dev/null
rm -rf "$profile"
grep -q '<title>stitch report</title>' "$work/dom.html" || { echo "the page title changed: a script ran" >&2; exit 1; }
! grep -q 'pwned' "$work/dom.html" || grep -q "&lt;script&gt;document.title='pwned'&lt;/script&gt;" "$work/dom.html" ||
  { echo "the hostile algo name is not escaped" >&2; exit 1; }
grep -q '&lt;img src=x onerror=' "$work/dom.html" || { echo "the hostile run name is not shown escaped" >&2; exit 1; }
! grep -q '<img src="x"' "$work/dom.html" || { echo "the hostile run name became an element" >&2; exit 1; }
