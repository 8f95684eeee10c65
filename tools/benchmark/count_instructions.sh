#!/usr/bin/env bash
# Counts the user-space instructions the broker (or the benchmark consumer or
# producer) executes per message in the run.sh shape (16 synchronous senders, 128 B,
# 4 queues, consumer running), under valgrind's callgrind:
#
#   bash tools/benchmark/count_instructions.sh broker|consumer|producer [SECONDS] [ASYNC_FLUSH|SYNC_FLUSH]
#
# Sends/s on a shared 2-core machine drift by 10-20% from minute to minute;
# an instruction count does not, so one run of each of two builds (say, with
# BENCH_BIN_DIR) shows a change of 1-2% on the hot path. It counts neither
# kernel time nor waiting, and the measured process runs about 30 times
# slower than natively (so requests batch differently than at full speed):
# use it beside run.sh's figures, not instead of them. Instrumentation is on
# from just before the producer starts until it ends (for the producer
# itself: its whole run, start-up included, which is a few hundred
# instructions per message of a 20 s run); the count is divided by the
# messages the producer had acknowledged. The top functions go to
# stdout (callgrind_annotate); the profile is kept under /var/tmp.
# Needs valgrind (apt-get install valgrind). Environment as for run.sh.
set -euo pipefail

usage() {
  echo "usage: count_instructions.sh broker|consumer|producer [SECONDS] [ASYNC_FLUSH|SYNC_FLUSH]" >&2
  exit 2
}
[[ $# -ge 1 && $# -le 3 ]] || usage
which=$1
seconds=${2:-20}
flush=${3:-ASYNC_FLUSH}
[[ $which == broker || $which == consumer || $which == producer ]] || usage
[[ $seconds =~ ^[1-9][0-9]*$ ]] || usage
[[ $flush == ASYNC_FLUSH || $flush == SYNC_FLUSH ]] || usage
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }

topic=${TOPIC:-BenchmarkTest}

cd "$(dirname "$0")/../.."
source tools/benchmark/cluster_lib.sh
prepare_cluster

profile="$(mktemp /var/tmp/cometmq-callgrind.$which.XXXXXX)"
callgrind=(valgrind --tool=callgrind --instr-atstart=no
  "--callgrind-out-file=$profile")
broker_prefix=()
consumer_prefix=()
producer_prefix=()
if [[ $which == broker ]]; then broker_prefix=("${callgrind[@]}"); fi
if [[ $which == consumer ]]; then consumer_prefix=("${callgrind[@]}"); fi
if [[ $which == producer ]]; then
  producer_prefix=(valgrind --tool=callgrind "--callgrind-out-file=$profile")
fi

start_namesrv
start_broker "$flush" "${broker_prefix[@]}"
start_consumer $((seconds + 60)) "${CONSUMER_THREADS:-4}" "$topic" \
  "${consumer_prefix[@]}"
measured_pid=$broker_pid
[[ $which == consumer ]] && measured_pid=$consumer_pid

[[ $which == producer ]] || callgrind_control -i on "$measured_pid" >/dev/null
"${producer_prefix[@]}" "$bin/tools/benchmark/producer" --namesrv="127.0.0.1:$namesrv_port" \
  --topic="$topic" --threads="${THREADS:-16}" --messageSize="${MESSAGE_SIZE:-128}" \
  --mode=sync --seconds="$seconds" >"$store/producer.out" 2>"$store/producer.err"
[[ $which == producer ]] || callgrind_control -i off "$measured_pid" >/dev/null
sent="$(sed -nE 's/^total: ([0-9]+) sent OK.*/\1/p' "$store/producer.out")"
if [[ -z $sent || $sent -eq 0 ]]; then
  echo "the producer acknowledged no message:" >&2
  tail -n 5 "$store/producer.out" "$store/producer.err" >&2
  exit 1
fi
# The profile is written when the process exits.
stop_all
trap - EXIT
total="$(callgrind_annotate "$profile" 2>/dev/null |
  sed -nE 's/^ *([0-9,]+) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)"
if [[ -z $total ]]; then
  echo "no instruction count in $profile (was the process killed?)" >&2
  exit 1
fi
echo "$which ($flush): $total instructions for $sent messages sent: $((total / sent)) per message"
callgrind_annotate "$profile" | sed -n '/file:function/,$p' | sed -n '3,22p' | cut -c1-160
echo "profile: $profile"
