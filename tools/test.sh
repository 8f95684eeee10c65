#!/usr/bin/env bash
# Sets up the machine and runs every test: C++ unit tests (plain and under
# ASan/UBSan), a short libFuzzer run, and the pytest integration suite.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/setup.sh

echo "== unit tests"
bazel test //...

# The sanitizer build compiles everything a second time; on a fresh 2-core
# machine the whole of //cpp/... took 15 of the 24 minutes. CI checks the
# layers that own raw memory (framing, mapped files, records) and the
# NameServer; `bazel test --config=asan //cpp/...` is the complete check.
echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
bazel test --config=asan //cpp/common/... //cpp/remoting/... //cpp/store/... //cpp/namesrv/...

echo "== fuzzing (${FUZZ_SECONDS:-30}s per target)"
bash tools/fuzz.sh

echo "== integration tests"
# The suite drives the real binaries through the installed `cometmq` package,
# so install it the way users do: into a venv, with pip, offline.
venv="${HOME}/.cache/cometmq/venv"
[[ -x "$venv/bin/python" ]] || /usr/bin/python3 -m venv --system-site-packages "$venv"
"$venv/bin/pip" install -q --no-build-isolation ./python
bazel build //cpp:mqnamesrv //cpp:mqbroker //cpp:mqadmin
COMETMQ_BIN_DIR="$(bazel info bazel-bin 2>/dev/null)/cpp"
export COMETMQ_BIN_DIR
# Optimised binaries skip Abseil's lock-order check for speed; the suite
# turns it on so a lock-order cycle anywhere aborts the run.
export COMETMQ_CHECK_LOCK_ORDER=1
set +e
(cd integration_tests && "$venv/bin/python" -m pytest -q -p no:cacheprovider .)
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
  # pytest found no tests. Fine only while the suite has no test files at all;
  # if test files exist and none were collected, something is broken.
  if compgen -G "integration_tests/test_*.py" >/dev/null; then
    echo "integration tests exist but none were collected" >&2
    exit 1
  fi
  echo "no integration tests yet"
  rc=0
fi
exit $rc
