"""Calls, ordering, payload types, options and the connection's setup."""
import os
import subprocess
import sys
import threading

import pytest

import taskpool
from taskpool.v1 import taskpool_pb2

# The tutorial's numbers (scripts/demo.sh) and their verdicts.
PRIMES = {"222377": b"false", "3334": b"false", "454577": b"true", "565633": b"false",
          "1000003": b"true", "2": b"true", "1": b"false"}


def test_apply_returns_the_output_as_bytes(client):
    assert client.apply("echo", b"hello") == b"hello"
    assert client.apply("echo", "héllo") == "héllo".encode()
    assert client.apply("echo", bytearray(b"ba")) == b"ba"
    assert client.apply("echo", memoryview(b"mv")) == b"mv"
    assert client.apply("echo", b"") == b""


def test_a_payload_that_is_not_bytes_or_str_is_a_type_error(client):
    with pytest.raises(TypeError, match="int"):
        client.apply("echo", 42)
    with pytest.raises(TypeError, match="int"):
        client.map("echo", ["1", 2, "3"], chunksize=3)


def test_is_prime_over_the_tutorial_numbers(client):
    numbers = list(PRIMES)
    assert client.map("is_prime", numbers) == [PRIMES[n] for n in numbers]
    assert client.map("is_prime", numbers, chunksize=3) == [PRIMES[n] for n in numbers]


@pytest.mark.parametrize("chunksize", [1, 2, 7, 64, 1000])
def test_map_returns_outputs_in_input_order(client, chunksize):
    inputs = [str(i).encode() for i in range(3000)]
    # A small window makes the map refill many times.
    assert client.map("echo", inputs, chunksize=chunksize, window=100) == inputs
    assert client.map("echo", iter(inputs), chunksize=chunksize) == inputs


def test_map_of_nothing_is_empty(client):
    assert client.map("echo", []) == []
    assert list(client.imap("echo", [])) == []
    assert list(client.imap_unordered("echo", [], chunksize=4)) == []


@pytest.mark.parametrize("chunksize", [1, 5])
def test_imap_is_ordered_and_lazy(client, chunksize):
    pulled = []

    def inputs():
        for i in range(500):
            pulled.append(i)
            yield str(i)

    window = 20
    stream = client.imap("echo", inputs(), chunksize=chunksize, window=window)
    assert pulled == []  # nothing is submitted before the first item is asked for
    assert next(stream) == b"0"
    assert len(pulled) <= window
    rest = list(stream)
    assert rest == [str(i).encode() for i in range(1, 500)]


@pytest.mark.parametrize("chunksize", [1, 3])
def test_imap_unordered_yields_every_output_once(client, chunksize):
    inputs = [str(i).encode() for i in range(400)]
    outputs = list(client.imap_unordered("echo", iter(inputs), chunksize=chunksize, window=30))
    assert sorted(outputs) == sorted(inputs)


def test_imap_next_takes_a_timeout(client):
    stream = client.imap("echo", ["a", "b"])
    assert stream.next(timeout=30) == b"a"
    assert stream.next(30) == b"b"
    with pytest.raises(StopIteration):
        stream.next(30)


def test_apply_async_returns_a_future_and_calls_back(client):
    called = threading.Event()
    seen = []

    def on_result(output):
        seen.append((output, threading.current_thread().name))
        called.set()

    future = client.apply_async("echo", "cb", callback=on_result)
    assert future.get(timeout=30) == b"cb"
    assert called.wait(30)
    assert seen[0][0] == b"cb"
    assert future.ready() and future.successful()
    assert future.task_id is not None and future.worker_pid > 0
    assert future.node == ""  # no --cluster
    assert not future.cancel()  # already submitted: Client.cancel is the way


def test_many_futures_complete(client):
    futures = [client.apply_async("echo", str(i)) for i in range(1000)]
    assert [f.result(30) for f in futures] == [str(i).encode() for i in range(1000)]


def test_socket_comes_from_the_environment(daemon, monkeypatch):
    monkeypatch.setenv("TASKPOOL_SOCKET", daemon.socket)
    with taskpool.Client() as client:
        assert client.socket_path == daemon.socket
        assert client.apply("echo", "env") == b"env"


def test_default_socket_is_the_system_one(monkeypatch):
    monkeypatch.delenv("TASKPOOL_SOCKET", raising=False)
    from taskpool import _wire
    assert _wire.resolve_socket() == "/run/taskpool/taskpoold.sock"
    assert _wire.resolve_socket("/x.sock") == "/x.sock"


def test_status_ping_and_server_info(client, daemon):
    assert client.server_info.workers == 2
    assert client.server_info.protocol_version == taskpool_pb2.PROTOCOL_VERSION_CURRENT
    assert client.ping() >= 0
    client.apply("echo", "x")
    status = client.status()
    assert isinstance(status, taskpool_pb2.StatusReply)
    assert status.daemon_pid == daemon.pid
    assert len(status.workers) == 2
    assert "echo" in [f.name for f in status.functions]


def test_options_are_checked(client):
    with pytest.raises(ValueError):
        client.apply("echo", "x", timeout=-1)
    with pytest.raises(ValueError):
        client.apply("echo", "x", retries=-1)
    with pytest.raises(TypeError):
        client.apply("echo", "x", lock=5)
    with pytest.raises(TypeError):
        client.apply("echo", "x", priority=1)
    with pytest.raises(ValueError):
        client.map("echo", ["x"], chunksize=0)
    with pytest.raises(TypeError):
        client.apply("", "x")


def test_options_reach_the_daemon(client):
    # Accepted and run; what each option does is the daemon's and is
    # tested there (tests/integration).
    kwargs = dict(timeout=60, deadline=60, retries=2, lock="python", fail_if_full=True)
    assert client.apply("echo", "opt", **kwargs) == b"opt"
    assert client.map("echo", ["a", "b", "c"], chunksize=2, **kwargs) == [b"a", b"b", b"c"]


def test_closing_fails_later_calls(daemon):
    client = taskpool.Client(daemon.socket)
    with client:
        assert client.connected
    assert not client.connected
    with pytest.raises(taskpool.ConnectionLost, match="closed"):
        client.apply("echo", "x")
    with pytest.raises(taskpool.ConnectionLost):
        client.status()
    future = client.apply_async("echo", "x")
    assert isinstance(future.exception(0), taskpool.ConnectionLost)
    client.close()  # twice is fine


def test_payloads_over_the_limit_fail_without_harming_the_connection(start_daemon):
    daemon = start_daemon(2, "--max-payload-bytes", "1024")
    with taskpool.Client(daemon.socket) as client:
        with pytest.raises(taskpool.TaskError) as error:
            client.apply("echo", b"x" * 2000)
        assert error.value.code == taskpool.ErrorCode.PAYLOAD_TOO_LARGE
        # Items that fit one by one but not as one chunk go as separate tasks.
        items = [bytes([65 + i]) * 600 for i in range(4)]
        assert client.map("echo", items, chunksize=4) == items
        outcomes = client.map("echo", [b"ok", b"y" * 2000], chunksize=2, return_exceptions=True)
        assert outcomes[0] == b"ok"
        assert outcomes[1].code == taskpool.ErrorCode.PAYLOAD_TOO_LARGE
        assert client.apply("echo", "still up") == b"still up"


def is_prime(n):
    """The tutorial's trial division, to check the daemon's verdicts."""
    return n >= 2 and all(n % d for d in range(2, int(n ** 0.5) + 1))


@pytest.mark.parametrize("example", ["primes.py", "primes_asyncio.py"])
def test_the_readme_examples_run(daemon, example):
    path = os.path.join(os.path.dirname(__file__), "..", "examples", example)
    env = dict(os.environ, TASKPOOL_SOCKET=daemon.socket)
    result = subprocess.run([sys.executable, path], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for line in lines:
        if line.startswith("INVALID_ARGUMENT"):
            continue
        number, verdict = line.split(": ")
        assert verdict.split()[0] == ("true" if is_prime(int(number)) else "false"), line
    if example == "primes.py":
        assert len(lines) == 16
        pids = {int(line.split("(worker ")[1].rstrip(")")) for line in lines[8:]}
        assert pids <= set(daemon.worker_pids())
    else:
        assert lines[-1].startswith("INVALID_ARGUMENT: ")


def test_large_payloads_round_trip(client):
    big = bytes(range(256)) * (8 << 12)  # 8 MiB
    assert client.apply("echo", big) == big
    items = [bytes([i]) * (1 << 20) for i in range(6)]
    assert client.map("echo", items, chunksize=4) == items
    assert sorted(client.imap_unordered("echo", items, chunksize=2)) == items
