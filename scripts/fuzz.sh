#!/usr/bin/env bash
# Fuzzes stitch's readers with libFuzzer + AddressSanitizer, one target after another. Not part
# of CI: CI replays the corpora and regression inputs through the same entry points in the
# normal build (fuzz_replay_tests, tests/fuzz/corpus_replay_test.cpp).
#   scripts/fuzz.sh [TARGET|all] [SECONDS]      (default: all, 60 s per target)
# TARGET is a reader: d4rl minari checkpoint stream_checkpoint policy csv train_config sweep_grid
# set_override run_dir suite_manifest suite_references model_checkpoint model_eval sequence_log
# (tests/fuzz/fuzz_entries.h).
#
# Builds the targets with clang in build-fuzz/ (-DSTITCH_FUZZ=ON), then runs each for SECONDS
# on one core over its working corpus build-fuzz/corpus/<reader>/, seeded from
# tests/fuzz/corpus/<reader>/ (not from the regressions: under the fuzzer libhdf5's own crashes
# are not contained, so its kept inputs would crash every run again). Prints per target the
# executions, the crash inputs found (crashes, hangs, out-of-memory: each replayed once to say
# whether it crashes inside libhdf5 or in stitch's own code) and the new corpus inputs.
# Crash inputs go to build-fuzz/crashes/<reader>/: fix the reader, then copy each input to
# tests/fuzz/regressions/<reader>/ so that fuzz_replay_tests keeps it fixed.
#
# Every target runs with -fork=1 -ignore_crashes=1 (and OOMs and timeouts): the fuzzer keeps
# going after a crash, so one libhdf5 crash on a corrupt file does not end the run. Under the
# fuzzer HDF5 files are read in-process; every load outside it goes through load_dataset's
# crash guard, so a crash inside libhdf5 is contained (README "libhdf5 and corrupt files") and
# its input replays as an Error.
#
# Environment: STITCH_FUZZ_NO_BUILD=1 skips the build; STITCH_FUZZ_JOBS (default nproc) sets
# the build's parallelism; STITCH_FUZZ_TIMEOUT_S (default 10) is the per-input hang limit.
# Needs clang and its libFuzzer runtime (Debian: clang).
set -euo pipefail
cd "$(dirname "$0")/.."
readers=(d4rl minari checkpoint stream_checkpoint policy csv train_config set_override run_dir
  suite_manifest suite_references sweep_grid model_checkpoint model_eval sequence_log)
which=${1:-all}
seconds=${2:-60}
which=${which%_fuzz}
[ "$which" = d4rl_reader ] && which=d4rl
if [ "$which" = all ]; then
  selected=("${readers[@]}")
elif [[ " ${readers[*]} " == *" $which "* ]]; then
  selected=("$which")
else
  echo "unknown fuzz target '$which' (use all or one of: ${readers[*]})" >&2
  exit 2
fi
target_of() { if [ "$1" = d4rl ]; then echo d4rl_reader_fuzz; else echo "$1_fuzz"; fi; }

if [ "${STITCH_FUZZ_NO_BUILD:-0}" != 1 ]; then
  if ! command -v clang++ >/dev/null; then
    apt-get install -y -qq clang >/dev/null
  fi
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSTITCH_FUZZ=ON -DSTITCH_BUILD_TESTS=OFF -DSTITCH_BUILD_BENCH=OFF -DSTITCH_BUILD_PYTHON=OFF >/dev/null
  targets=()
  for r in "${selected[@]}"; do targets+=("$(target_of "$r")"); done
  cmake --build build-fuzz -j "${STITCH_FUZZ_JOBS:-$(nproc)}" --target "${targets[@]}"
fi

count() { find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l; }

# Where a crash input crashes: "libhdf5" when the innermost frame outside the sanitizer runtime
# and libc (malloc, memcpy, ...) is in libhdf5 (contained by load_dataset's crash guard outside
# the fuzzer: keep one of a kind in tests/fuzz/regressions/<reader>/), else "stitch" (a bug).
where_it_crashes() {
  local frames
  frames=$(ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=0 timeout 60 "$1" "$2" 2>&1 |
    grep -E '^ +#[0-9]+ ' | grep -vE ' in (__interceptor_|__asan|__sanitizer|malloc|calloc|realloc|free|memcpy|memmove|memset|__mem|operator new)|libc\.so|sanitizer_common' | head -1)
  if [[ $frames == *libhdf5* ]]; then echo libhdf5; else echo stitch; fi
}
summary=()
for r in "${selected[@]}"; do
  corpus=build-fuzz/corpus/$r
  crashes=build-fuzz/crashes/$r
  mkdir -p "$corpus" "$crashes" build-fuzz/logs
  cp -n tests/fuzz/corpus/"$r"/* "$corpus"/ 2>/dev/null || true
  corpus_before=$(count "$corpus")
  crashes_before=$(count "$crashes")
  log=build-fuzz/logs/$r.log
  touch "$log.start"  # crash inputs newer than this are this run's
  echo "== $r: $seconds s over $corpus_before inputs (log: $log)"
  ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=0 "build-fuzz/tests/fuzz/$(target_of "$r")" \
    "$corpus" -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
    -timeout="${STITCH_FUZZ_TIMEOUT_S:-10}" -max_total_time="$seconds" -max_len=65536 \
    -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1 || true
  # Fork mode's progress lines: "#<execs>: cov: ... corp: ... exec/s: ... oom/timeout/crash: ..."
  execs=$(grep -oE '^#[0-9]+:' "$log" | tail -1 | tr -dc '0-9')
  found=$(($(count "$crashes") - crashes_before))
  added=$(($(count "$corpus") - corpus_before))
  in_hdf5=0
  in_stitch=()
  if ((found > 0)); then
    while IFS= read -r input; do
      if [ "$(where_it_crashes "build-fuzz/tests/fuzz/$(target_of "$r")" "$input")" = libhdf5 ]; then
        in_hdf5=$((in_hdf5 + 1))
      else
        in_stitch+=("$input")
      fi
    done < <(find "$crashes" -maxdepth 1 -type f -newer "$log.start" | sort)
  fi
  line=$(printf '%-18s %6s s %10s execs %4s crash inputs (%s in libhdf5, %s in stitch) %6s new corpus inputs' \
    "$r" "$seconds" "${execs:-0}" "$found" "$in_hdf5" "${#in_stitch[@]}" "$added")
  for input in "${in_stitch[@]}"; do line+=$'\n'"    in stitch: $input"; done
  echo "$line"
  summary+=("$line")
done
# The scratch directories of fuzzer processes that crashed (a clean exit removes its own).
for d in "${TMPDIR:-/tmp}"/stitch-fuzz-*; do
  if [ -d "$d" ] && ! kill -0 "${d##*-}" 2>/dev/null; then rm -rf "$d"; fi
done
echo
echo "== summary (crash inputs in build-fuzz/crashes/<target>/)"
printf '%s\n' "${summary[@]}"
