#!/usr/bin/env bash
# Renders a `stitch report` page in headless Chromium (Debian's chromium) and saves a PNG.
#   scripts/report-screenshot.sh REPORT_DIR OUT.png [WIDTH,HEIGHT]
# The page is self-contained, so Chromium runs with every network feature off.
set -euo pipefail
report=$(realpath "$1")
out=$(realpath -m "$2")
size=${3:-1400,2000}
[ -f "$report/index.html" ] || { echo "error: $report/index.html: no such file (run stitch report first)" >&2; exit 1; }
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "error: chromium is not installed (apt-get install chromium)" >&2; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$profile" \
  --window-size="$size" --screenshot="$out" "file://$report/index.html" >/dev/null 2>&1
[ -s "$out" ] || { echo "error: chromium wrote no screenshot to $out" >&2; exit 1; }
echo "wrote $out"
