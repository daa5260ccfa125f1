#!/usr/bin/env bash
# Runs one fuzz target for a given time: `fuzz/run.sh <target> [seconds]` (default 600).
# The corpus grows in fuzz/corpus-<target>/ (seeded from fuzz/seeds/<target>/); crashes land in fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
target=$1
seconds=${2:-600}
[ -x "fuzz/bin/$target" ] || fuzz/build.sh "$target"
mkdir -p "fuzz/corpus-$target" fuzz/artifacts
export NUDJ_SCHEMAS="$PWD/schemas"
extra=()
# Swift's Regex compiler keeps a few hundred bytes per compiled pattern for the process lifetime; the schema target
# compiles the catalogue's patterns once at start-up, which LeakSanitizer reports at exit. It is bounded, not per input.
if [ "$target" = schema ]; then
  extra+=(-detect_leaks=0)
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fi
exec "fuzz/bin/$target" "${extra[@]}" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=8192 \
  -artifact_prefix=fuzz/artifacts/"$target"- -print_final_stats=1 "fuzz/corpus-$target" "fuzz/seeds/$target"
