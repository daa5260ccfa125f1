#!/usr/bin/env bash
# Builds the libFuzzer targets: `fuzz/build.sh [target…]` → fuzz/bin/<target>.
# Each target compiles the sources it exercises into one module (cross-module imports stripped), so no SwiftPM
# build is involved and sanitizers cover our code only.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=("${@:-jsonrpc http tenancy schema response}")
[ $# -eq 0 ] && targets=(jsonrpc http tenancy schema response)
mkdir -p fuzz/bin
for target in "${targets[@]}"; do
  case "$target" in
    jsonrpc) sources=(Sources/JSONRPC/*.swift) ;;
    http) sources=(Sources/HTTPServer/HTTPHeadParser.swift Sources/HTTPServer/HTTPHeaders.swift) ;;
    response) sources=(Sources/HTTPClient/HTTPResponseParser.swift) ;;
    tenancy) sources=(Sources/Tenancy/*.swift Sources/JSONRPC/*.swift Sources/Codecs/*.swift) ;;
    schema) sources=(Sources/NudjTools/{ValidationIssue,CompiledSchema,CompiledSchema+Validation,SendableRegex}.swift Sources/JSONRPC/*.swift) ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
  esac
  work=$(mktemp -d)
  for file in "${sources[@]}"; do
    sed -E '/^import (JSONRPC|Codecs|Log|MCP|Tenancy|HTTPServer|CSystem)$/d' "$file" > "$work/$(basename "$(dirname "$file")")_$(basename "$file")"
  done
  echo "building fuzz/bin/$target"
  swiftc -sanitize=fuzzer,address -parse-as-library -O -g -package-name fuzz -module-name Fuzz"$target" \
    "$work"/*.swift "fuzz/targets/$target.swift" -o "fuzz/bin/$target"
  rm -rf "$work"
done
