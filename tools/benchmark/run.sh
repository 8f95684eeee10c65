#!/usr/bin/env bash
# End-to-end benchmark of one NameServer and one broker on this machine, the
# way RocketMQ's benchmark/{producer,consumer}.sh are used:
#
#   bash tools/benchmark/run.sh ASYNC_FLUSH|SYNC_FLUSH SECONDS [sync|async]
#
# Builds the binaries, starts mqnamesrv and mqbroker (with that
# flushDiskType and a fresh store under /var/tmp), measures the disk's
# synchronous write rate in that store, runs //tools/benchmark:consumer and
# then //tools/benchmark:producer for SECONDS, prints both outputs, stops
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

namesrv_port=${NAMESRV_PORT:-9876}
broker_port=${BROKER_PORT:-10911}
if [[ $mode == async ]]; then threads=${THREADS:-1}; else threads=${THREADS:-16}; fi
message_size=${MESSAGE_SIZE:-128}
max_in_flight=${MAX_IN_FLIGHT:-256}
consumer_threads=${CONSUMER_THREADS:-4}
topic=${TOPIC:-BenchmarkTest}

cd "$(dirname "$0")/../.."
if [[ -n ${BENCH_BIN_DIR:-} ]]; then
  # Prebuilt binaries laid out like bazel-bin, e.g. to compare two builds.
  bin=$BENCH_BIN_DIR
else
  echo "== building"
  bazel build //cpp:mqnamesrv //cpp:mqbroker //tools/benchmark:producer \
    //tools/benchmark:consumer 2>&1 | grep -E "ERROR|error:|warning:" || true
  bin="$(bazel info bazel-bin 2>/dev/null)"
fi
for b in cpp/mqnamesrv cpp/mqbroker tools/benchmark/producer tools/benchmark/consumer; do
  [[ -x "$bin/$b" ]] || { echo "build failed: $bin/$b missing" >&2; exit 1; }
done

for port in "$namesrv_port" "$broker_port" "$((broker_port + 1))"; do
  if ss -Hltn "sport = :$port" | grep -q .; then
    echo "port $port is in use; set NAMESRV_PORT / BROKER_PORT" >&2
    exit 1
  fi
done

store="$(mktemp -d /var/tmp/cometmq-bench.XXXXXX)"
pids=()
cleanup() {
  local pid
  # Reverse start order: consumer/producer, broker, NameServer.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[i]}
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then
        echo "pid $pid did not stop in 30 s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
  done
  rm -rf "$store"
}
trap cleanup EXIT

# Waits for a boot line in a log, or fails with the log's tail.
wait_for() {
  local log=$1 pattern=$2 pid=$3
  for _ in $(seq 300); do
    grep -q "$pattern" "$log" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$log:" >&2
  tail -n 20 "$log" >&2
  return 1
}

echo "== disk: synchronous 4 KiB writes in $store (dd oflag=dsync, 1000 writes)"
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

mkdir -p "$store/logs"
touch "$store/namesrv.out" "$store/broker.out" "$store/consumer.out"
"$bin/cpp/mqnamesrv" --listenPort="$namesrv_port" --logDir="$store/logs" \
  >"$store/namesrv.out" 2>&1 &
pids+=($!)
wait_for "$store/namesrv.out" "boot success" "${pids[-1]}"
"$bin/cpp/mqbroker" -c conf/broker.conf -n "127.0.0.1:$namesrv_port" \
  --listenPort="$broker_port" --brokerIP1=127.0.0.1 --flushDiskType="$flush" \
  --storePathRootDir="$store/store" --logDir="$store/logs" ${BROKER_ARGS:-} \
  >"$store/broker.out" 2>&1 &
broker_pid=$!
pids+=("$broker_pid")
wait_for "$store/broker.out" "boot success" "$broker_pid"
grep -h '^The .*boot success' "$store/namesrv.out" "$store/broker.out"
echo "== broker pid $broker_pid, flushDiskType=$flush, store $store/store"

"$bin/tools/benchmark/consumer" --namesrv="127.0.0.1:$namesrv_port" \
  --topic="$topic" --threads="$consumer_threads" --seconds=$((seconds + 10)) \
  >"$store/consumer.out" 2>"$store/consumer.err" &
consumer_pid=$!
pids+=("$consumer_pid")
wait_for "$store/consumer.out" "consumer benchmark" "$consumer_pid"
sleep 2  # let the first rebalance settle the consumer's queues

echo "== producer: $mode, $threads threads, $message_size B, $seconds s"
producer_status=0
"$bin/tools/benchmark/producer" --namesrv="127.0.0.1:$namesrv_port" \
  --topic="$topic" --threads="$threads" --messageSize="$message_size" \
  --mode="$mode" --maxInFlight="$max_in_flight" --seconds="$seconds" \
  --brokerPid="$broker_pid" 2>"$store/producer.err" || producer_status=$?
if [[ -s "$store/producer.err" ]]; then
  echo "-- producer stderr (last 20 lines):"
  tail -n 20 "$store/producer.err"
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
