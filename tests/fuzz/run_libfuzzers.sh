#!/bin/sh
# Builds the libFuzzer fuzzers (clang-19, ASan and UBSan) in build-libfuzz/ and runs each for SECONDS (default 60)
# on a copy of the committed corpus; exits non-zero if a fuzzer finds a crash (its input is left in build-libfuzz/).
#   tests/fuzz/run_libfuzzers.sh 600
set -eu
seconds=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${PATGRAD_FUZZ_BUILD:-$root/build-libfuzz}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPATGRAD_FUZZ=ON \
  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 >/dev/null
cmake --build "$build" --target fuzz_script_parser fuzz_pattern_parser fuzz_infix_parser fuzz_safetensors_parser -j "${JOBS:-2}"
for f in script pattern infix safetensors; do
  corpus="$build/corpus-$f"
  mkdir -p "$corpus"
  cp "$root/tests/fuzz/corpus/$f"/* "$corpus/"
  echo "== fuzz_${f}_parser for ${seconds}s"
  (cd "$build" && "./tests/fuzz_${f}_parser" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
     -print_final_stats=1 "$corpus" 2>&1 | grep -E "^(stat::number_of_executed_units|#[0-9]+ *DONE|==[0-9]+==ERROR|SUMMARY)" || true)
  [ -z "$(ls "$build"/crash-* "$build"/timeout-* "$build"/leak-* 2>/dev/null)" ] || { echo "fuzz_${f}_parser found a bug"; exit 1; }
done
