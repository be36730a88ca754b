"""One client shared by many threads."""
import threading

import pytest

import taskpool
from taskpool import ErrorCode, TaskError

from conftest import EVENT_BOUND, FOREVER_MS, wait_busy


def run_threads(count, body):
    """Runs body(index) on `count` threads at once; re-raises the first
    failure."""
    errors = []
    start = threading.Barrier(count)

    def run(index):
        try:
            start.wait(EVENT_BOUND)
            body(index)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(EVENT_BOUND * 4)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]


def test_threads_share_one_client(client):
    def body(index):
        for i in range(200):
            payload = f"{index}:{i}"
            assert client.apply("echo", payload) == payload.encode()

    run_threads(8, body)


def test_concurrent_maps_and_streams_each_get_their_own_results(client):
    def body(index):
        inputs = [f"{index}-{i}".encode() for i in range(2000)]
        if index % 3 == 0:
            assert client.map("echo", inputs, chunksize=1 + index) == inputs
        elif index % 3 == 1:
            assert list(client.imap("echo", iter(inputs), chunksize=index, window=64)) == inputs
        else:
            outputs = client.imap_unordered("echo", inputs, chunksize=7)
            assert sorted(outputs) == sorted(inputs)

    run_threads(6, body)


def test_status_and_ping_answers_pair_with_their_requests(client):
    # Answers come back in request order; a mix-up would hand a pong to a
    # status call or the wrong nonce to a ping.
    def body(index):
        for _ in range(100):
            if index % 2:
                assert client.ping() >= 0
            else:
                assert len(client.status().workers) == 2
            client.apply("echo", "between")

    run_threads(6, body)


def test_a_callback_may_not_block_on_its_own_client(client):
    done = threading.Event()
    seen = []

    def callback(output):
        try:
            client.apply("echo", "from the reader thread")
        except RuntimeError as error:
            seen.append(error)
        # Non-blocking calls are fine there.
        seen.append(client.apply_async("echo", "chained"))
        done.set()

    client.apply_async("echo", "x", callback=callback)
    assert done.wait(EVENT_BOUND)
    assert isinstance(seen[0], RuntimeError) and "callback" in str(seen[0])
    assert seen[1].result(EVENT_BOUND) == b"chained"


def test_closing_from_another_thread_fails_a_pending_map(start_daemon):
    daemon = start_daemon(1)
    client = taskpool.Client(daemon.socket)
    watcher = taskpool.Client(daemon.socket)
    outcome = []

    def run():
        try:
            client.map("sleep", [FOREVER_MS] * 3)
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    wait_busy(watcher, 1)
    client.close()
    thread.join(EVENT_BOUND)
    assert not thread.is_alive()
    assert isinstance(outcome[0], TaskError) and outcome[0].code == ErrorCode.CANCELLED
    with pytest.raises(taskpool.ConnectionLost):
        client.apply("echo", "x")
    # The daemon cancels a gone client's queued tasks; its running sleep
    # ends when the fixture stops the daemon.
    watcher.close()
