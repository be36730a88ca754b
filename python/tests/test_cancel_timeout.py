"""Cancellation, task timeouts, deadlines and the client's wait timeout.

Tasks that must still be queued or running when the test acts sleep for a
day (FOREVER_MS) behind workers the test has seen busy, so no outcome
depends on how fast anything runs.
"""
import pytest

import taskpool
from taskpool import ErrorCode, TaskError

from conftest import FOREVER_MS, busy_workers, wait_busy, wait_until


def function_cancelled(client, function):
    """Tasks of `function` cancelled so far, for any reason (cancellations
    are counted apart from failures)."""
    for entry in client.status().functions:
        if entry.name == function:
            return entry.cancelled
    return 0


def test_a_task_past_its_timeout_ends_timeout(client):
    with pytest.raises(TaskError) as error:
        client.apply("sleep", FOREVER_MS, timeout=0.2)
    assert error.value.code == ErrorCode.TIMEOUT
    # Its worker was killed and replaced; the pool still serves.
    assert client.apply("echo", "after") == b"after"


def test_a_timeout_in_a_chunk_fails_the_whole_chunk(client):
    # Its worker is killed, and with it every item of the chunk.
    outcomes = client.map("sleep", ["0", FOREVER_MS], chunksize=2, timeout=0.2,
                          return_exceptions=True)
    assert [o.code for o in outcomes] == [ErrorCode.TIMEOUT, ErrorCode.TIMEOUT]


def test_cancel_a_queued_task_and_kill_a_running_one(start_daemon):
    daemon = start_daemon(1)
    with taskpool.Client(daemon.socket) as client:
        running = client.apply_async("sleep", FOREVER_MS)
        wait_busy(client, 1)
        queued = client.apply_async("echo", "never runs")
        client.cancel(queued)
        with pytest.raises(TaskError) as error:
            queued.result(30)
        assert error.value.code == ErrorCode.CANCELLED
        assert error.value.worker_pid == 0
        assert not running.done()
        client.cancel(running.task_id, kill=True)
        with pytest.raises(TaskError) as error:
            running.result(30)
        assert error.value.code == ErrorCode.CANCELLED
        assert client.apply("echo", "next") == b"next"


def test_a_deadline_expires_a_task_still_queued(start_daemon):
    daemon = start_daemon(1)
    with taskpool.Client(daemon.socket) as client:
        blocker = client.apply_async("sleep", FOREVER_MS)
        wait_busy(client, 1)
        with pytest.raises(TaskError) as error:
            client.apply("echo", "late", deadline=0.1)
        assert error.value.code == ErrorCode.EXPIRED
        client.cancel(blocker, kill=True)
        assert blocker.exception(30).code == ErrorCode.CANCELLED


def test_the_clients_timeout_bounds_the_wait_not_the_task(start_daemon):
    daemon = start_daemon(1)
    with taskpool.Client(daemon.socket, timeout=0.2) as client:
        with pytest.raises(TimeoutError):
            client.apply("sleep", FOREVER_MS)
        # The task still runs; the worker's status names its id.
        [worker] = wait_busy(client, 1)
        client.cancel(worker.current_task_id, kill=True)
        wait_until(lambda: not busy_workers(client), "the killed task's worker to be idle")
        assert client.apply("echo", "x") == b"x"


def test_a_map_that_times_out_cancels_what_it_queued(start_daemon):
    daemon = start_daemon(1)
    with taskpool.Client(daemon.socket, timeout=0.3) as client:
        with pytest.raises(TimeoutError):
            client.map("sleep", [FOREVER_MS] * 4)
        # The three queued sleeps were cancelled by the map.
        wait_until(lambda: function_cancelled(client, "sleep") == 3,
                   "the map's queued tasks to be cancelled")
        [worker] = wait_busy(client, 1)
        client.cancel(worker.current_task_id, kill=True)
        wait_until(lambda: function_cancelled(client, "sleep") == 4,
                   "the running task to be killed")
        assert client.status().queue_depth == 0


def test_closing_an_imap_cancels_what_it_queued(start_daemon):
    daemon = start_daemon(1)
    with taskpool.Client(daemon.socket) as client:
        with client.imap("sleep", [FOREVER_MS] * 6, chunksize=2, window=6) as stream:
            # Submits the window; the first result cannot come.
            with pytest.raises(TimeoutError):
                stream.next(timeout=0.01)
            wait_busy(client, 1)
        # Two chunks were queued behind the running one.
        wait_until(lambda: function_cancelled(client, "sleep") == 4,
                   "the stream's queued chunks to be cancelled")
        with pytest.raises(StopIteration):
            next(stream)
        [worker] = wait_busy(client, 1)
        client.cancel(worker.current_task_id, kill=True)
        wait_until(lambda: not busy_workers(client), "the running chunk to be killed")


def test_imap_next_times_out_and_stays_usable(start_daemon):
    daemon = start_daemon(1)
    with taskpool.Client(daemon.socket) as client:
        stream = client.imap("sleep", [FOREVER_MS, "0"])
        with pytest.raises(TimeoutError):
            stream.next(timeout=0.1)
        [worker] = wait_busy(client, 1)
        client.cancel(worker.current_task_id, kill=True)
        with pytest.raises(TaskError) as error:
            stream.next(30)
        assert error.value.code == ErrorCode.CANCELLED
        assert stream.next(30) == b"slept 0 ms"
