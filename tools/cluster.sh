#!/usr/bin/env bash
# Starts and stops a local master/slave cluster from one directory of broker
# configs (conf/2m-2s-sync, conf/2m-2s-async): one mqnamesrv plus one mqbroker
# per *.properties file, all on this host, in the background.
#
#   bash tools/cluster.sh start conf/2m-2s-sync [--key=value ...]
#   bash tools/cluster.sh stop
#
# start builds the binaries (bazel) unless COMETMQ_BIN_DIR names them, waits
# for every process's boot line, and on any failure stops what it started and
# prints the failing log. --key=value arguments go to every broker. Each broker
# gets its own store, $COMETMQ_STORE_ROOT/<set>/<file name>, and log directory,
# $COMETMQ_LOG_ROOT/<set>/<file name>; the pids are recorded in
# $COMETMQ_LOG_ROOT/cluster.pids.
#
# stop sends SIGTERM to the recorded processes, masters first (a stopping
# master hands its last messages to its slaves), then slaves, then the
# NameServer, and waits for each to exit (30 s, then SIGKILL and exit 1). It
# never touches processes it did not start.
#
# Environment (defaults in brackets):
#   COMETMQ_NAMESRV_PORT  the NameServer's port [9876]
#   COMETMQ_BROKER_PORT   the lowest broker listenPort; every broker's port
#                         moves by the same amount [the files' own, 10911]
#   COMETMQ_STORE_ROOT    [~/store]
#   COMETMQ_LOG_ROOT      [~/logs/cometmq]
#   COMETMQ_BIN_DIR       directory of prebuilt mqnamesrv and mqbroker
set -Eeuo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
namesrv_port="${COMETMQ_NAMESRV_PORT:-9876}"
store_root="${COMETMQ_STORE_ROOT:-${HOME}/store}"
log_root="${COMETMQ_LOG_ROOT:-${HOME}/logs/cometmq}"
pid_file="${log_root}/cluster.pids"
boot_timeout_s=60
stop_timeout_s=30

usage() {
  echo "usage: cluster.sh start CONFIG_DIR [--key=value ...] | cluster.sh stop" >&2
  exit 2
}

# The value of `key` in a .properties file (spaces around = and trailing
# comments allowed, as the servers read it), or the default $3.
prop() {
  local value
  value="$(sed -n "s/^[[:space:]]*$2[[:space:]]*[=:][[:space:]]*\([^[:space:]#]*\).*/\1/p" "$1" | tail -n 1)"
  echo "${value:-$3}"
}

# True while `pid` is a live process named `name`: a reused pid is not ours,
# and an exited one waiting to be reaped (state Z) has stopped.
alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ "$stat" == "$1 ($2) "* && "${stat#*) }" != Z* ]]
}

# Prints the pids of the live recorded processes of one kind
# (master|slave|namesrv).
recorded() {
  [[ -f "$pid_file" ]] || return 0
  local kind pid name rest
  while read -r kind pid name rest; do
    [[ "$kind" == "$1" ]] && alive "$pid" "$name" && echo "$pid $name"
  done <"$pid_file"
  return 0
}

# SIGTERMs the live recorded processes of one kind and waits for them to exit;
# SIGKILLs whatever is left after the timeout. Returns 1 if it had to.
stop_kind() {
  local -a pids=() names=()
  local pid name
  while read -r pid name; do
    pids+=("$pid")
    names+=("$name")
  done < <(recorded "$1")
  [[ ${#pids[@]} -gt 0 ]] || return 0
  echo "stopping $1 (pid ${pids[*]})"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  local deadline=$((SECONDS + stop_timeout_s)) i left
  while true; do
    left=0
    for i in "${!pids[@]}"; do
      alive "${pids[$i]}" "${names[$i]}" && left=1
    done
    ((left)) || return 0
    if ((SECONDS >= deadline)); then
      for i in "${!pids[@]}"; do
        if alive "${pids[$i]}" "${names[$i]}"; then
          echo "${names[$i]} (pid ${pids[$i]}) did not stop in ${stop_timeout_s} s; killing it" >&2
          kill -KILL "${pids[$i]}" 2>/dev/null || true
        fi
      done
      return 1
    fi
    sleep 0.1
  done
}

stop_all() {
  local rc=0
  stop_kind master || rc=1
  stop_kind slave || rc=1
  stop_kind namesrv || rc=1
  rm -f "$pid_file"
  return $rc
}

abort() {
  trap - ERR
  echo "start failed; stopping what was started" >&2
  stop_all || true
  exit 1
}

# Waits until `pattern` appears in `log`; fails with the log's tail when the
# process exits first or the boot timeout passes.
wait_boot() {
  local log=$1 pattern=$2 pid=$3 name=$4
  local deadline=$((SECONDS + boot_timeout_s))
  until grep -q "$pattern" "$log" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited before it booted; $log:" >&2
      tail -n 20 "$log" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      echo "$name did not boot in ${boot_timeout_s} s; $log:" >&2
      tail -n 20 "$log" >&2
      return 1
    fi
    sleep 0.1
  done
}

start() {
  local set_dir
  set_dir="$(cd "$1" && pwd)" || usage
  shift
  local set_name
  set_name="$(basename "$set_dir")"
  local -a confs=()
  mapfile -t confs < <(find "$set_dir" -maxdepth 1 -name '*.properties' | sort)
  if [[ ${#confs[@]} -eq 0 ]]; then
    echo "no *.properties files in $set_dir" >&2
    exit 1
  fi
  # Masters first: a slave finds its master through the NameServers sooner.
  local conf
  local -a masters=() slaves=()
  for conf in "${confs[@]}"; do
    if [[ "$(prop "$conf" brokerId 0)" == 0 ]]; then
      masters+=("$conf")
    else
      slaves+=("$conf")
    fi
  done
  confs=("${masters[@]}" "${slaves[@]}")
  if [[ -n "$(recorded master)$(recorded slave)$(recorded namesrv)" ]]; then
    echo "a cluster started by this script is running (pids in $pid_file);" \
      "stop it first: bash tools/cluster.sh stop" >&2
    exit 1
  fi

  local bin="${COMETMQ_BIN_DIR:-}"
  if [[ -z "$bin" ]]; then
    command -v bazel >/dev/null || {
      echo "bazel not found; run tools/setup.sh first" >&2
      exit 1
    }
    (cd "$root" && bazel build //cpp:mqnamesrv //cpp:mqbroker //cpp:mqadmin)
    bin="$(cd "$root" && bazel info bazel-bin 2>/dev/null)/cpp"
  fi

  # Ports keep their distances; the lowest becomes COMETMQ_BROKER_PORT.
  local lowest=65536 port
  for conf in "${confs[@]}"; do
    port="$(prop "$conf" listenPort 10911)"
    if ((port < lowest)); then lowest=$port; fi
  done
  local shift_by=$((${COMETMQ_BROKER_PORT:-$lowest} - lowest))

  local logs="${log_root}/${set_name}"
  mkdir -p "$logs/namesrv"
  : >"$pid_file"
  # From here on a failure stops everything started so far.
  trap abort ERR

  local out="$logs/namesrv/namesrv.out"
  nohup "$bin/mqnamesrv" "--listenPort=${namesrv_port}" "--logDir=$logs/namesrv" \
    >"$out" 2>&1 </dev/null &
  echo "namesrv $! mqnamesrv namesrv" >>"$pid_file"
  wait_boot "$out" "boot success" $! namesrv
  local ns="127.0.0.1:${namesrv_port}"
  echo "NameServer   $ns  (pid $!)"

  local -a names=() pids=() outs=() lines=()
  local name id kind ha
  for conf in "${confs[@]}"; do
    name="$(basename "$conf" .properties)"
    id="$(prop "$conf" brokerId 0)"
    kind=master
    if [[ "$id" != 0 ]]; then kind=slave; fi
    port=$(($(prop "$conf" listenPort 10911) + shift_by))
    local -a extra=()
    ha="$(prop "$conf" haListenPort 0)"
    if ((ha > 0)); then extra+=("--haListenPort=$((ha + shift_by))"); fi
    mkdir -p "$logs/$name" "$store_root/$set_name/$name"
    out="$logs/$name/broker.out"
    nohup "$bin/mqbroker" -c "$conf" -n "$ns" "--listenPort=$port" \
      "--storePathRootDir=$store_root/$set_name/$name" "--logDir=$logs/$name" \
      "${extra[@]}" "$@" >"$out" 2>&1 </dev/null &
    echo "$kind $! mqbroker $name" >>"$pid_file"
    names+=("$name")
    pids+=($!)
    outs+=("$out")
    lines+=("$(printf '%-12s %-6s %s  (pid %s)' "$name" "$kind" "port $port" $!)")
  done
  local i
  for i in "${!names[@]}"; do
    wait_boot "${outs[$i]}" "boot success" "${pids[$i]}" "${names[$i]}"
    echo "${lines[$i]}"
  done
  trap - ERR

  cat <<EOF
Logs:    $logs/<name>/ (*.out is stdout, *.log the server log)
Stores:  $store_root/$set_name/<name>/
See it:  bin/mqadmin clusterList -n $ns
         bin/mqadmin brokerStatus -n $ns -b <broker address>
Stop it: bash tools/cluster.sh stop
EOF
}

[[ $# -ge 1 ]] || usage
case "$1" in
  start)
    [[ $# -ge 2 ]] || usage
    shift
    start "$@"
    ;;
  stop)
    [[ $# -eq 1 ]] || usage
    if [[ -z "$(recorded master)$(recorded slave)$(recorded namesrv)" ]]; then
      echo "no cluster started by this script is running"
      rm -f "$pid_file"
      exit 0
    fi
    stop_all
    echo "stopped"
    ;;
  *) usage ;;
esac
