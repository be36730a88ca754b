"""Failed tasks raise TaskError the way Pool re-raises; per-item outcomes
with return_exceptions; DaemonNotRunning."""
import os
import pickle
import socket
import threading

import pytest

import taskpool
from taskpool import ErrorCode, TaskError
from taskpool.v1 import taskpool_pb2


def test_a_failed_task_raises_task_error(client, daemon):
    with pytest.raises(TaskError) as error:
        client.apply("fail", "it broke")
    assert error.value.code == ErrorCode.TASK_FAILED
    assert error.value.message == "it broke"
    assert error.value.worker_pid in daemon.worker_pids()
    assert str(error.value) == "TASK_FAILED: it broke"


def test_unknown_function_and_bad_input(client):
    with pytest.raises(TaskError) as error:
        client.apply("no_such_function", "x")
    assert error.value.code == ErrorCode.UNKNOWN_FUNCTION
    assert error.value.worker_pid == 0  # it never ran
    assert "is_prime" in error.value.message  # the known ones are listed
    with pytest.raises(TaskError) as error:
        client.apply("is_prime", "abc")
    assert error.value.code == ErrorCode.INVALID_ARGUMENT


def test_future_raises_and_calls_the_error_callback(client):
    called = threading.Event()
    errors = []
    future = client.apply_async("fail", "async", error_callback=lambda e: (errors.append(e),
                                                                           called.set()))
    with pytest.raises(TaskError, match="async"):
        future.get(30)
    assert called.wait(30)
    assert errors[0].code == ErrorCode.TASK_FAILED
    assert not future.successful()


@pytest.mark.parametrize("chunksize", [1, 3])
def test_map_raises_a_failed_item(client, chunksize):
    with pytest.raises(TaskError) as error:
        client.map("is_prime", ["7", "8", "bad", "11"], chunksize=chunksize)
    assert error.value.code == ErrorCode.INVALID_ARGUMENT
    assert "bad" in error.value.message
    # The client is fine afterwards.
    assert client.map("is_prime", ["7", "8"], chunksize=chunksize) == [b"true", b"false"]


@pytest.mark.parametrize("chunksize", [1, 2, 4])
def test_map_with_return_exceptions_gives_each_outcome_in_place(client, chunksize):
    outcomes = client.map("is_prime", ["7", "x", "8", "y", "11"], chunksize=chunksize,
                          return_exceptions=True)
    assert outcomes[0] == b"true" and outcomes[2] == b"false" and outcomes[4] == b"true"
    for index in (1, 3):
        assert isinstance(outcomes[index], TaskError)
        assert outcomes[index].code == ErrorCode.INVALID_ARGUMENT


@pytest.mark.parametrize("ordered", [True, False])
def test_iteration_raises_at_the_failed_item_and_goes_on(client, ordered):
    call = client.imap if ordered else client.imap_unordered
    stream = call("is_prime", ["7", "bad", "11"], chunksize=2)
    seen, errors = [], []
    while True:
        try:
            seen.append(next(stream))
        except TaskError as error:
            errors.append(error)
        except StopIteration:
            break
    assert sorted(seen) == [b"true", b"true"]
    assert [e.code for e in errors] == [ErrorCode.INVALID_ARGUMENT]
    if ordered:
        outcomes = list(client.imap("is_prime", ["bad", "7"], return_exceptions=True))
        assert outcomes[0].code == ErrorCode.INVALID_ARGUMENT and outcomes[1] == b"true"


def test_errors_pickle_and_share_a_base():
    for error in (TaskError(ErrorCode.TIMEOUT, "slow", 42),
                  taskpool.ConnectionLost("gone", "/s"),
                  taskpool.DaemonNotRunning("/s", "No such file or directory")):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error)
        assert isinstance(error, taskpool.TaskpoolError)
    assert pickle.loads(pickle.dumps(TaskError(ErrorCode.TIMEOUT, "slow", 42))).worker_pid == 42


def test_error_codes_are_the_protocols():
    for name, value in taskpool_pb2.ErrorCode.items():
        assert ErrorCode[name] == value
    assert str(ErrorCode.WORKER_DIED) == "WORKER_DIED"
    # An unknown wire value is INTERNAL, as the protocol asks.
    assert TaskError(999, "future code").code == ErrorCode.INTERNAL


def test_daemon_not_running_names_the_socket(tmp_path):
    missing = str(tmp_path / "nobody.sock")
    with pytest.raises(taskpool.DaemonNotRunning) as error:
        taskpool.Client(missing)
    assert error.value.socket == missing
    assert missing in str(error.value)
    assert error.value.code == ErrorCode.DAEMON_NOT_RUNNING


def test_daemon_not_running_on_a_stale_socket_file(tmp_path):
    # A socket file left behind by a daemon that is gone: connect is refused.
    path = str(tmp_path / "stale.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.close()
    assert os.path.exists(path)
    with pytest.raises(taskpool.DaemonNotRunning, match="stale.sock"):
        taskpool.Client(path)


def test_daemon_not_running_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TASKPOOL_SOCKET", str(tmp_path / "env.sock"))
    with pytest.raises(taskpool.DaemonNotRunning, match="env.sock"):
        taskpool.Client()


def test_something_that_is_not_taskpoold(tmp_path):
    # A peer that closes at once without a hello reply.
    path = str(tmp_path / "other.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(1)

    def serve():
        peer, _ = listener.accept()
        peer.close()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with pytest.raises(taskpool.ConnectionLost, match="during hello"):
            taskpool.Client(path, timeout=30)
    finally:
        thread.join()
        listener.close()


def test_a_refused_peer_gets_the_daemons_reason(start_daemon):
    # uid 4242 only: this test's user is refused with PERMISSION_DENIED.
    if os.getuid() == 4242:
        pytest.fail("this test needs to run as a uid other than 4242")
    daemon = start_daemon(1, "--allow-users", "4242")
    with pytest.raises(taskpool.TaskpoolError) as error:
        taskpool.Client(daemon.socket)
    assert error.value.code == ErrorCode.PERMISSION_DENIED


def test_a_bad_item_mid_map_leaves_nothing_pending(client):
    # The chunks before the bad one were registered; they must be sent and
    # complete (cancelled or done), never stay pending on the connection.
    inputs = [b"ok"] * 100 + [object()]
    with pytest.raises(TypeError):
        client.map("echo", inputs, chunksize=10)
    from conftest import wait_until
    wait_until(lambda: client._session.pending_count() == 0, "the map's chunks to complete")
    assert client.map("echo", [b"a"] * 30, chunksize=10) == [b"a"] * 30
