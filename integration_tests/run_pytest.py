"""Entry point for `bazel test //integration_tests:integration_tests`: runs
the pytest suite against the mqnamesrv/mqbroker binaries in the runfiles."""

import os
import sys

import pytest


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    runfiles = os.environ.get("RUNFILES_DIR") or os.path.join(
        os.environ.get("TEST_SRCDIR", ""))
    workspace = os.environ.get("TEST_WORKSPACE", "cometmq")
    os.environ.setdefault("COMETMQ_BIN_DIR",
                          os.path.join(runfiles, workspace, "cpp"))
    args = ["-q", "-p", "no:cacheprovider", here]
    tmp = os.environ.get("TEST_TMPDIR")
    if tmp:
        args += ["--basetemp", os.path.join(tmp, "pytest")]
    sys.exit(pytest.main(args + sys.argv[1:]))


if __name__ == "__main__":
    main()
