"""The wire as a hostile or careless peer uses it, through raw sockets.

Malformed frames close only their own connection (the process keeps serving
everyone else), well-formed requests with bad content get an answer,
connections that carried large frames do not keep their memory, and a peer
that never reads its answers is closed once nothing moves.
"""

import socket
import struct
import time

import pytest

from helpers import wait_until

SEND_MESSAGE = 10
GET_ROUTEINFO_BY_TOPIC = 105
REQUEST_CODE_NOT_SUPPORTED = 3
BAD_REQUEST = 400
UNKNOWN_CODE = 31337


def _varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data, i):
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def _header(code, opaque):
    """A Header with code (field 1) and opaque (field 2), as protobuf."""
    return b"\x08" + _varint(code) + b"\x10" + _varint(opaque)


def frame(code, opaque, body=b"", header=None):
    """u32 frame length | u32 header length | header | body."""
    header = _header(code, opaque) if header is None else header
    return (struct.pack(">II", 4 + len(header) + len(body), len(header)) +
            header + body)


def _parse_header(data):
    """opaque, status and remark of a Header (other fields skipped)."""
    fields = {2: 0, 4: 0, 5: b""}
    i = 0
    while i < len(data):
        key, i = _read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _read_varint(data, i)
            if value >= 1 << 63:
                value -= 1 << 64
        elif wire == 2:
            size, i = _read_varint(data, i)
            value, i = data[i:i + size], i + size
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        else:
            raise ValueError(f"wire type {wire}")
        if number in fields:
            fields[number] = value
    return fields[2], fields[4], fields[5].decode()


def _recv_exact(sock, n):
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return bytes(data)


def call(sock, code, opaque, body=b""):
    """Sends one request; returns (status, remark) of its response."""
    sock.sendall(frame(code, opaque, body))
    length, header_length = struct.unpack(">II", _recv_exact(sock, 8))
    header = _recv_exact(sock, header_length)
    _recv_exact(sock, length - 4 - header_length)
    got_opaque, status, remark = _parse_header(header)
    assert got_opaque == opaque
    return status, remark


def connect(node):
    host, port = node.addr.split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def closed_by_peer(sock):
    """True once the peer has closed `sock` (reads EOF or a reset)."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


MALFORMED = {
    "length over maxFrameSize": struct.pack(">I", 0x7FFFFFFF),
    "length below 4": struct.pack(">I", 2),
    "header longer than frame": struct.pack(">II", 8, 100) + b"abcd",
    "header not protobuf": frame(0, 0, header=b"\xff\xff\xff\xff\xff"),
}


@pytest.mark.parametrize("server", ["namesrv", "broker"])
def test_malformed_frames_close_only_their_connection(cluster, server):
    namesrv = cluster.start_namesrv()
    node = cluster.start_broker() if server == "broker" else namesrv
    good = connect(node)
    assert call(good, UNKNOWN_CODE, 1)[0] == REQUEST_CODE_NOT_SUPPORTED
    for i, (what, data) in enumerate(MALFORMED.items()):
        bad = connect(node)
        bad.sendall(data)
        assert closed_by_peer(bad), what
        bad.close()
        # The other connection (and the process) is unaffected.
        status, remark = call(good, UNKNOWN_CODE, 100 + i)
        assert status == REQUEST_CODE_NOT_SUPPORTED, what
        assert "not supported" in remark
    # A peer that closes in the middle of a frame costs nothing either.
    half = connect(node)
    half.sendall(frame(UNKNOWN_CODE, 7, b"x" * 1000)[:500])
    half.close()
    # Well-formed frames with wrong content are answered, not dropped.
    code = SEND_MESSAGE if server == "broker" else GET_ROUTEINFO_BY_TOPIC
    status, remark = call(good, code, 200)
    assert status == BAD_REQUEST, remark
    assert "payload" in remark
    assert node.running
    good.close()


def test_connections_that_carried_large_frames_release_their_memory(cluster):
    """Each of 24 connections sends one 4 MiB frame and stays open; the
    broker must not keep a large read buffer per connection."""
    cluster.start_namesrv()
    broker = cluster.start_broker()
    warm = connect(broker)
    body = b"x" * (4 * 1024 * 1024)
    # One round first, so allocator pools are warm.
    assert call(warm, UNKNOWN_CODE, 1, body)[0] == REQUEST_CODE_NOT_SUPPORTED
    before = rss_bytes(broker.proc.pid)
    held = []
    for i in range(24):
        sock = connect(broker)
        assert call(sock, UNKNOWN_CODE, i, body)[0] == \
            REQUEST_CODE_NOT_SUPPORTED
        held.append(sock)
    grown = rss_bytes(broker.proc.pid) - before
    # A 4-8 MiB buffer kept per connection is over 100 MiB here.
    assert grown < 40 * 1024 * 1024, f"broker RSS grew {grown >> 20} MiB"
    for sock in held + [warm]:
        sock.close()


def test_peer_that_never_reads_its_answers_is_closed_when_idle(cluster):
    """A peer floods requests and never reads: once the answers fill the
    socket buffers nothing moves either way, and the broker closes it after
    serverChannelMaxIdleTimeSeconds instead of holding the queued answers
    for as long as the peer lives."""
    cluster.start_namesrv()
    broker = cluster.start_broker(serverChannelMaxIdleTimeSeconds=1)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    host, port = broker.addr.split(":")
    sock.connect((host, int(port)))
    peer = "127.0.0.1:%d" % sock.getsockname()[1]
    # ~2.4 MB of requests whose answers (~50 bytes each, ~10 MB) are more
    # than the socket buffers take. The broker stops reading once its
    # answers cannot be written, so on a slow machine the idle close may
    # come while this is still sending.
    try:
        sock.sendall(b"".join(frame(UNKNOWN_CODE, i) for i in range(200000)))
    except (BrokenPipeError, ConnectionResetError):
        pass

    def closed_in_log():
        with open(broker.log_path, errors="replace") as f:
            return any("closing" in line and peer in line for line in f)

    wait_until(closed_in_log, timeout_s=20, what="the broker closes the peer")
    # The socket is dead: reading it drains what was sent, then ends.
    deadline = time.monotonic() + 10
    while True:
        assert time.monotonic() < deadline, "the connection stayed open"
        try:
            if not sock.recv(1 << 20):
                break
        except ConnectionResetError:
            break
    sock.close()
    # The broker still serves others.
    other = connect(broker)
    assert call(other, UNKNOWN_CODE, 1)[0] == REQUEST_CODE_NOT_SUPPORTED
    other.close()


def test_idle_connections_cost_little_memory(cluster):
    """400 connections that each made one small call and then idle: the
    broker must not hold a 64 KiB read buffer (zeroed, so resident) for
    every one of them, as that makes 10,000 clients cost 640 MiB."""
    cluster.start_namesrv()
    broker = cluster.start_broker()
    warm = connect(broker)
    assert call(warm, UNKNOWN_CODE, 1)[0] == REQUEST_CODE_NOT_SUPPORTED
    before = rss_bytes(broker.proc.pid)
    held = []
    for i in range(400):
        sock = connect(broker)
        assert call(sock, UNKNOWN_CODE, i)[0] == REQUEST_CODE_NOT_SUPPORTED
        held.append(sock)
    grown = rss_bytes(broker.proc.pid) - before
    per_connection = grown // len(held)
    assert per_connection < 16 * 1024, \
        f"each idle connection costs the broker {per_connection >> 10} KiB"
    for sock in held + [warm]:
        sock.close()
