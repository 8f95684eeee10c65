# Shared by run.sh and count_instructions.sh: finds the binaries, starts a
# NameServer, a broker and the benchmark consumer on loopback with a fresh
# store under /var/tmp, and stops them (SIGTERM by pid, reverse start order)
# and removes the store on exit. Source it from the repository root.

# Ports (NAMESRV_PORT, BROKER_PORT), binaries, a free-port check and a fresh
# store with its cleanup: what every benchmark script does first.
prepare_cluster() {
  namesrv_port=${NAMESRV_PORT:-9876}
  broker_port=${BROKER_PORT:-10911}
  bench_binaries
  check_ports
  make_store
}

# Sets `bin`: BENCH_BIN_DIR (binaries laid out like bazel-bin) or a build.
bench_binaries() {
  if [[ -n ${BENCH_BIN_DIR:-} ]]; then
    bin=$BENCH_BIN_DIR
  else
    echo "== building"
    bazel build //cpp:mqnamesrv //cpp:mqbroker //tools/benchmark:producer \
      //tools/benchmark:consumer 2>&1 | grep -E "ERROR|error:|warning:" || true
    bin="$(bazel info bazel-bin 2>/dev/null)"
  fi
  local b
  for b in cpp/mqnamesrv cpp/mqbroker tools/benchmark/producer tools/benchmark/consumer; do
    [[ -x "$bin/$b" ]] || { echo "build failed: $bin/$b missing" >&2; exit 1; }
  done
}

# Fails if the NameServer, broker or HA port is taken.
check_ports() {
  local port
  for port in "$namesrv_port" "$broker_port" "$((broker_port + 1))"; do
    if ss -Hltn "sport = :$port" | grep -q .; then
      echo "port $port is in use; set NAMESRV_PORT / BROKER_PORT" >&2
      exit 1
    fi
  done
}

# Sets `store` to a fresh directory and arms the cleanup.
make_store() {
  store="$(mktemp -d /var/tmp/cometmq-bench.XXXXXX)"
  mkdir -p "$store/logs"
  touch "$store/namesrv.out" "$store/broker.out" "$store/consumer.out"
  pids=()
  trap stop_all EXIT
}

stop_all() {
  local pid i
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

# Waits for a boot line in a log, or fails with the log's tail.
wait_for() {
  local log=$1 pattern=$2 pid=$3
  for _ in $(seq 600); do
    grep -q "$pattern" "$log" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$log:" >&2
  tail -n 20 "$log" >&2
  return 1
}

start_namesrv() {
  "$bin/cpp/mqnamesrv" --listenPort="$namesrv_port" --logDir="$store/logs" \
    >"$store/namesrv.out" 2>&1 &
  pids+=($!)
  wait_for "$store/namesrv.out" "boot success" "${pids[-1]}"
}

# start_broker FLUSH [COMMAND PREFIX...]: sets broker_pid.
start_broker() {
  local flush=$1
  shift
  "$@" "$bin/cpp/mqbroker" -c conf/broker.conf -n "127.0.0.1:$namesrv_port" \
    --listenPort="$broker_port" --brokerIP1=127.0.0.1 --flushDiskType="$flush" \
    --storePathRootDir="$store/store" --logDir="$store/logs" ${BROKER_ARGS:-} \
    >"$store/broker.out" 2>&1 &
  broker_pid=$!
  pids+=("$broker_pid")
  wait_for "$store/broker.out" "boot success" "$broker_pid"
}

# start_consumer SECONDS THREADS TOPIC [COMMAND PREFIX...]: sets consumer_pid.
start_consumer() {
  local seconds=$1 threads=$2 topic=$3
  shift 3
  "$@" "$bin/tools/benchmark/consumer" --namesrv="127.0.0.1:$namesrv_port" \
    --topic="$topic" --threads="$threads" --seconds="$seconds" \
    >"$store/consumer.out" 2>"$store/consumer.err" &
  consumer_pid=$!
  pids+=("$consumer_pid")
  wait_for "$store/consumer.out" "consumer benchmark" "$consumer_pid"
  sleep 2  # let the first rebalance settle the consumer's queues
}
