#!/usr/bin/env bash
# End-to-end benchmark of one NameServer and one broker on this machine, the
# way RocketMQ's benchmark/{producer,consumer}.sh are used:
#
#   bash tools/benchmark/run.sh ASYNC_FLUSH|SYNC_FLUSH SECONDS [sync|async]
#
# Builds the binaries, starts mqnamesrv and mqbroker (with that
# flushDiskType and a fresh store under /var/tmp), measures the disk's
# synchronous write rate in that store (again during a SYNC_FLUSH run), runs
# //tools/benchmark:consumer and then //tools/benchmark:producer for
# SECONDS, prints both outputs, stops
# the processes it started (SIGTERM by pid, so other clusters of this user
# are left alone) and removes the store.
#
# Environment: NAMESRV_PORT (9876), BROKER_PORT (10911; the broker's HA port
# is BROKER_PORT+1), THREADS (16 sync, 1 async), MESSAGE_SIZE (128),
# MAX_IN_FLIGHT (256), CONSUMER_THREADS (4), TOPIC (BenchmarkTest),
# BROKER_ARGS (extra --key=value flags for mqbroker, e.g.
# "--serverSelectorThreads=1"), BENCH_BIN_DIR (use the binaries under this
# directory, laid out like bazel-bin, instead of building).
set -euo pipefail

usage() {
  echo "usage: run.sh ASYNC_FLUSH|SYNC_FLUSH SECONDS [sync|async]" >&2
  exit 2
}
[[ $# -ge 2 && $# -le 3 ]] || usage
flush=$1
seconds=$2
mode=${3:-sync}
[[ $flush == ASYNC_FLUSH || $flush == SYNC_FLUSH ]] || usage
[[ $seconds =~ ^[1-9][0-9]*$ ]] || usage
[[ $mode == sync || $mode == async ]] || usage

if [[ $mode == async ]]; then threads=${THREADS:-1}; else threads=${THREADS:-16}; fi
message_size=${MESSAGE_SIZE:-128}
max_in_flight=${MAX_IN_FLIGHT:-256}
consumer_threads=${CONSUMER_THREADS:-4}
topic=${TOPIC:-BenchmarkTest}

cd "$(dirname "$0")/../.."
source tools/benchmark/cluster_lib.sh
prepare_cluster

# The disk's synchronous write rate, for the SYNC_FLUSH bound. Measured
# before the run and, for SYNC_FLUSH, again halfway through it: on this
# kind of virtual machine a lone synchronous write on an idle machine waits
# for the idle vCPU to wake, so the idle figure can be ten times below the
# rate the same disk gives while the benchmark keeps the CPUs busy.
probe_disk() {
  echo "== disk, $1: synchronous 4 KiB writes in $store (dd oflag=dsync, 1000 writes)"
  # First pass appends (each write also syncs the new file size), the second
  # overwrites the same blocks in place, like writes into a preallocated file.
  for pass in append overwrite; do
    extra=()
    [[ $pass == overwrite ]] && extra=(conv=notrunc)
    line="$(dd if=/dev/zero of="$store/dsync.probe" bs=4k count=1000 oflag=dsync \
      "${extra[@]}" 2>&1 | tail -n 1)"
    secs="$(sed -E 's/.*copied, ([0-9.]+) s.*/\1/' <<<"$line")"
    awk -v s="$secs" -v p="$pass" \
      'BEGIN { printf "  %-9s %.0f synced writes/s (%.3f ms each)\n", p, 1000 / s, s }'
  done
  rm -f "$store/dsync.probe"
}
probe_disk "before the run"

start_namesrv
start_broker "$flush"
grep -h '^The .*boot success' "$store/namesrv.out" "$store/broker.out"
echo "== broker pid $broker_pid, flushDiskType=$flush, store $store/store"
start_consumer $((seconds + 10)) "$consumer_threads" "$topic"

probe_pid=
if [[ $flush == SYNC_FLUSH ]]; then
  (sleep "$((seconds / 2))"; probe_disk "halfway through the run") >"$store/probe.out" 2>&1 &
  probe_pid=$!
fi

echo "== producer: $mode, $threads threads, $message_size B, $seconds s"
producer_status=0
"$bin/tools/benchmark/producer" --namesrv="127.0.0.1:$namesrv_port" \
  --topic="$topic" --threads="$threads" --messageSize="$message_size" \
  --mode="$mode" --maxInFlight="$max_in_flight" --seconds="$seconds" \
  --brokerPid="$broker_pid" --brokerAddr="127.0.0.1:$broker_port" 2>"$store/producer.err" || producer_status=$?
if [[ -s "$store/producer.err" ]]; then
  echo "-- producer stderr (last 20 lines):"
  tail -n 20 "$store/producer.err"
fi

if [[ -n $probe_pid ]]; then
  wait "$probe_pid" || true
  cat "$store/probe.out"
fi

consumer_status=0
wait "$consumer_pid" || consumer_status=$?
echo "== consumer (started before the producer, runs $((seconds + 10)) s):"
cat "$store/consumer.out"
if [[ -s "$store/consumer.err" ]]; then
  echo "-- consumer stderr (last 20 lines):"
  tail -n 20 "$store/consumer.err"
fi
echo "== broker warnings/errors (first 20):"
grep -hE "^[0-9-]+ [0-9:.]+ (warning|error|critical) " "$store/logs/broker.log" 2>/dev/null | head -n 20 || true
echo "== exit status: producer $producer_status, consumer $consumer_status"
