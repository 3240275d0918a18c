#!/usr/bin/env bash
# Fuzzes the D4RL reader with libFuzzer for a fixed budget (default 120 s). Not part of CI.
#   scripts/fuzz.sh [SECONDS]
# Needs clang and its libFuzzer runtime (Debian: clang, libclang-rt-14-dev or the clang
# package's bundled runtime). Crashes are written to build-fuzz/crashes/; turn each into a
# regression test (tests/data/io_test.cpp) before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-120}
if ! command -v clang++ >/dev/null; then
  apt-get install -y -qq clang >/dev/null
fi
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTITCH_FUZZ=ON \
  -DSTITCH_BUILD_TESTS=OFF -DSTITCH_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target d4rl_reader_fuzz
mkdir -p build-fuzz/corpus build-fuzz/crashes
cp -n tests/fuzz/corpus/* build-fuzz/corpus/ 2>/dev/null || true
# -fork/-ignore_crashes: keep going after a crash, so that one libhdf5 crash (see
# docs/datasets.md) does not end the run; every crash input is kept in build-fuzz/crashes/.
ASAN_OPTIONS=detect_leaks=0 build-fuzz/tests/fuzz/d4rl_reader_fuzz build-fuzz/corpus \
  -fork=1 -ignore_crashes=1 -max_total_time="$seconds" -max_len=65536 \
  -artifact_prefix=build-fuzz/crashes/ -print_final_stats=1
echo "crash inputs: $(ls build-fuzz/crashes | wc -l) in build-fuzz/crashes/"
