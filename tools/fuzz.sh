#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (in an output base of their own, so
# the g++ build cache is untouched) and runs each for FUZZ_SECONDS (30).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-30}"
output_base="${HOME}/.cache/cometmq/bazel-fuzz"
targets=(//cpp/remoting:frame_decoder_fuzzer //cpp/filter:sql_expression_fuzzer)

bazel --output_base="$output_base" build --config=fuzz "${targets[@]}"
bin="$(bazel --output_base="$output_base" info --config=fuzz bazel-bin 2>/dev/null)"
for target in "${targets[@]}"; do
  path="$bin/${target#//}"
  path="${path/://}"
  corpus="$(mktemp -d)"
  echo "fuzz: running $target for ${seconds}s"
  "$path" -max_total_time="$seconds" -rss_limit_mb=1024 -print_final_stats=1 \
    "$corpus" 2>&1 | tail -n 12
  rm -rf "$corpus"
done
