#!/usr/bin/env bash
# Starts a local cluster (one mqnamesrv on 9876, one mqbroker with
# conf/broker.conf on 10911, both in the background, logs under
# ~/logs/cometmq), installs the Python package into ~/.cache/cometmq/venv and
# sends a message through it. Stop the cluster with:
#   bin/mqshutdown broker && bin/mqshutdown namesrv
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/setup.sh
bazel build //cpp:mqnamesrv //cpp:mqbroker
bin="$(bazel info bazel-bin 2>/dev/null)/cpp"
logs="${HOME}/logs/cometmq"
mkdir -p "$logs"

# Waits for a boot line in a log, or fails with the log's tail.
wait_for() {
  local log=$1 pattern=$2 pid=$3
  for _ in $(seq 600); do
    grep -q "$pattern" "$log" && return 0
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$log"; return 1; }
    sleep 0.1
  done
  tail -n 20 "$log"
  return 1
}

nohup "$bin/mqnamesrv" >"$logs/namesrv.out" 2>&1 &
wait_for "$logs/namesrv.out" "boot success" $!
head -n 1 "$logs/namesrv.out"
nohup "$bin/mqbroker" -c conf/broker.conf -n 127.0.0.1:9876 >"$logs/broker.out" 2>&1 &
wait_for "$logs/broker.out" "boot success" $!
grep "boot success" "$logs/broker.out"

venv="${HOME}/.cache/cometmq/venv"
[[ -x "$venv/bin/python" ]] || /usr/bin/python3 -m venv --system-site-packages "$venv"
"$venv/bin/pip" install -q --no-build-isolation ./python
"$venv/bin/python" examples/quickstart.py
echo "cluster running; stop it with: bin/mqshutdown broker && bin/mqshutdown namesrv"
