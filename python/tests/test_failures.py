"""Workers that die, and a daemon that dies: every pending call fails
promptly, none hangs."""
import os
import signal
import threading

import pytest

import taskpool
from taskpool import ErrorCode, TaskError

from conftest import BUSY, EVENT_BOUND, FOREVER_MS, wait_busy, wait_until


@pytest.mark.parametrize("how", ["segv", "abort", "exit"])
def test_a_crashing_task_ends_worker_died(client, how):
    with pytest.raises(TaskError) as error:
        client.apply("crash", how)
    assert error.value.code == ErrorCode.WORKER_DIED
    assert "while running crash" in error.value.message
    # The daemon replaced the worker.
    assert client.map("echo", ["a", "b", "c"]) == [b"a", b"b", b"c"]


def test_a_worker_killed_under_a_task(client):
    future = client.apply_async("sleep", FOREVER_MS)
    [worker] = wait_busy(client, 1)
    os.kill(worker.pid, signal.SIGKILL)
    error = future.exception(EVENT_BOUND)
    assert isinstance(error, TaskError)
    assert error.code == ErrorCode.WORKER_DIED
    assert "SIGKILL" in error.message
    assert f"pid {worker.pid}" in error.message


def test_a_killed_worker_with_retries_reruns_the_task(client):
    future = client.apply_async("sleep", FOREVER_MS, retries=1)
    [first] = wait_busy(client, 1)
    os.kill(first.pid, signal.SIGKILL)
    # The retry runs in another worker process.
    rerun = wait_until(lambda: [w for w in client.status().workers
                                if w.worker_state == BUSY and w.current_function == "sleep"
                                and w.pid != first.pid], "the retry to start")
    assert not future.done()
    client.cancel(future, kill=True)
    assert future.exception(EVENT_BOUND).code == ErrorCode.CANCELLED
    assert rerun[0].pid != first.pid


def test_a_crash_in_a_chunk_fails_every_item_of_it(client):
    outcomes = client.map("crash", ["segv", "not a crash"], chunksize=2, return_exceptions=True)
    assert [o.code for o in outcomes] == [ErrorCode.WORKER_DIED] * 2
    # Separate tasks keep their isolation.
    outcomes = client.map("crash", ["segv", "not a crash"], chunksize=1, return_exceptions=True)
    assert [o.code for o in outcomes] == [ErrorCode.WORKER_DIED, ErrorCode.INVALID_ARGUMENT]


def run_in_thread(call):
    """Runs `call` on a thread; returns (thread, outcome list)."""
    outcome = []

    def run():
        try:
            outcome.append(call())
        except BaseException as error:  # handed to the test
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.mark.parametrize("chunksize", [1, 3])
def test_a_daemon_killed_mid_map_fails_every_pending_call_at_once(daemon, chunksize):
    with taskpool.Client(daemon.socket) as client, taskpool.Client(daemon.socket) as watcher:
        futures = [client.apply_async("sleep", FOREVER_MS) for _ in range(3)]
        stream = client.imap_unordered("sleep", [FOREVER_MS] * 4)
        with pytest.raises(TimeoutError):
            stream.next(timeout=0.01)  # submits its 4 inputs
        imap_thread, imap_outcome = run_in_thread(lambda: next(stream))
        map_thread, map_outcome = run_in_thread(
            lambda: client.map("sleep", [FOREVER_MS] * 12, chunksize=chunksize))
        wait_busy(watcher, 2)
        # 7 tasks came from the futures and the stream, so an 8th is the map's.
        wait_until(lambda: watcher.status().tasks_submitted >= 8, "the map to submit")
        daemon.kill()
        for future in futures:
            assert isinstance(future.exception(EVENT_BOUND), taskpool.ConnectionLost)
        map_thread.join(EVENT_BOUND)
        imap_thread.join(EVENT_BOUND)
        assert not map_thread.is_alive() and not imap_thread.is_alive()
        assert isinstance(map_outcome[0], taskpool.ConnectionLost)
        assert isinstance(imap_outcome[0], taskpool.ConnectionLost)
        assert map_outcome[0].socket == daemon.socket
        # And every later call fails at once too.
        assert not client.connected
        with pytest.raises(taskpool.ConnectionLost):
            client.apply("echo", "x")
        with pytest.raises(taskpool.ConnectionLost):
            client.ping()
        with pytest.raises(taskpool.ConnectionLost):
            client.map("echo", ["x"] * 10, chunksize=2)
    with pytest.raises(taskpool.DaemonNotRunning):
        taskpool.Client(daemon.socket)


def test_a_daemon_that_stops_ends_the_connection(daemon):
    client = taskpool.Client(daemon.socket)
    assert client.apply("echo", "x") == b"x"
    daemon.stop()
    wait_until(lambda: not client.connected, "the client to see the daemon gone")
    with pytest.raises(taskpool.ConnectionLost):
        client.apply("echo", "x")
    client.close()
