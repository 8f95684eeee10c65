"""pytest fixtures: real CometMQ clusters on loopback ports."""

import pytest

from cluster import Cluster


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "report_" + report.when, report)


@pytest.fixture
def cluster(tmp_path, request):
    c = Cluster(tmp_path)
    yield c
    try:
        c.close()
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            print("\nnode logs:\n  " + "\n  ".join(c.logs()))
