"""mqadmin consumerProgress for a group no broker knows: an error, not an
empty table that reads as "no lag"."""

from helpers import mqadmin


def test_progress_of_an_unknown_group_is_an_error(cluster):
    cluster.start_namesrv()
    cluster.start_broker()
    ns = cluster.namesrv_addr
    result = mqadmin("consumerProgress", "-n", ns, "-g", "NoSuchGroup")
    assert result.returncode == 1, result.stdout
    assert "consumer group [NoSuchGroup] has no committed offsets" in (
        result.stderr)
    assert "Diff Total" not in result.stdout

    # Asked for one topic, every queue is listed, committed or not.
    assert mqadmin("updateTopic", "-n", ns, "-c", "DefaultCluster", "-t",
                   "ProgressT", "-r", "2", "-w", "2").returncode == 0
    result = mqadmin("consumerProgress", "-n", ns, "-g", "NoSuchGroup",
                     "-t", "ProgressT")
    assert result.returncode == 0, result.stderr
    assert "Diff Total: 0" in result.stdout
