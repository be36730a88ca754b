"""Fixtures of the Python client's tests: the real taskpoold, started on a
socket in a fresh temporary directory for each test and stopped by its pid.

ctest sets TASKPOOLD (the binary) and PYTHONPATH (the build's package);
run by hand:

    PYTHONPATH=build/python/lib TASKPOOLD=build/src/daemon/taskpoold \\
        /usr/bin/python3 -m pytest python/tests

Tests wait for events (a worker busy, a process gone, a result), each with
a generous bound, never for an amount of time.
"""
import fcntl
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

import taskpool
from taskpool.v1 import taskpool_pb2

# A sleep no test outlives: tasks that must still be running when the test
# acts on them (cancel, kill, daemon death) sleep this long.
FOREVER_MS = "86400000"
# WorkerStatus.worker_state of a worker running a task.
BUSY = taskpool_pb2.WORKER_STATE_BUSY
# The bound on waiting for any event; a healthy machine needs far less.
EVENT_BOUND = 30.0


def _binary():
    path = os.environ.get("TASKPOOLD")
    if not path or not os.access(path, os.X_OK):
        pytest.fail("TASKPOOLD must name the taskpoold binary (ctest sets it)", pytrace=False)
    return path


def wait_until(predicate, what, bound=EVENT_BOUND):
    """Polls `predicate` until it returns a true value (returned), failing
    the test if `bound` seconds pass first."""
    until = time.monotonic() + bound
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > until:
            pytest.fail(f"timed out after {bound} s waiting for {what}")
        time.sleep(0.01)


class Daemon:
    """One taskpoold child process on DIR/taskpoold.sock."""

    def __init__(self, workers=2, *extra):
        self.directory = tempfile.mkdtemp(prefix="taskpool-pytest-")
        self.socket = os.path.join(self.directory, "taskpoold.sock")
        self.log_path = os.path.join(self.directory, "taskpoold.log")
        with open(self.log_path, "wb") as log:
            # --shutdown-timeout-ms: a stop at the end of a test that left a
            # long sleep running ends in a second, killing it.
            self.process = subprocess.Popen(
                [_binary(), "--socket", self.socket, "--workers", str(workers),
                 "--enable-test-tasks", "--shutdown-timeout-ms", "1000", *map(str, extra)],
                stdout=subprocess.DEVNULL, stderr=log)
        self.pid = self.process.pid
        try:
            wait_until(self._answers, "taskpoold to answer a ping")
        except BaseException:
            self.stop()
            raise

    def _answers(self):
        if self.process.poll() is not None:
            pytest.fail(f"taskpoold exited at start ({self.process.returncode}): {self.log()}")
        try:
            with taskpool.Client(self.socket, timeout=5) as client:
                client.ping()
            return True
        except taskpool.TaskpoolError as error:
            # A refusal (PERMISSION_DENIED...) is an answer too: it serves.
            return error.code not in (taskpool.ErrorCode.DAEMON_NOT_RUNNING,
                                      taskpool.ErrorCode.CONNECTION_LOST,
                                      taskpool.ErrorCode.WAIT_TIMEOUT)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def worker_pids(self):
        with open(f"/proc/{self.pid}/task/{self.pid}/children") as f:
            return [int(pid) for pid in f.read().split()]

    def kill(self):
        """SIGKILL, as the OOM killer would; its workers die with it."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        """SIGTERM (drain, bounded by --shutdown-timeout-ms); SIGKILL only
        if it has not exited within the event bound."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(EVENT_BOUND)
            except subprocess.TimeoutExpired:
                self.process.send_signal(signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)
        _remove_shared_memory(self.socket)


_MARK = re.compile(r"taskpool-[0-9a-f]{32}")


def _remove_shared_memory(socket_path):
    """A killed daemon cannot remove its instance mark and blobs; the next
    start on any socket would (src/shmq/instance_mark.h), but the last test
    has none, so sweep here the same way: a mark whose flock is free
    belongs to a daemon that is gone; its blobs are "<mark>.<32 hex>"."""
    del socket_path  # the names are random, not derived from the socket
    names = os.listdir("/dev/shm")
    for mark in filter(_MARK.fullmatch, names):
        path = os.path.join("/dev/shm", mark)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # alive
        for name in names:
            if name.startswith(mark + "."):
                _unlink_quietly(os.path.join("/dev/shm", name))
        _unlink_quietly(path)
        os.close(fd)


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


@pytest.fixture
def start_daemon():
    """A factory: start_daemon(workers, *flags) -> Daemon, stopped after
    the test."""
    started = []

    def start(workers=2, *extra):
        daemon = Daemon(workers, *extra)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.stop()


@pytest.fixture
def daemon(start_daemon):
    """A taskpoold with 2 workers and the test tasks (crash, alloc)."""
    return start_daemon(2)


@pytest.fixture
def client(daemon):
    with taskpool.Client(daemon.socket) as c:
        yield c


def busy_workers(client, function="sleep"):
    """Workers of the daemon now running `function` (WorkerStatus list)."""
    return [w for w in client.status().workers
            if w.worker_state == BUSY and w.current_function == function]


def wait_busy(client, count, function="sleep"):
    """Waits until `count` workers run `function`; returns them."""
    return wait_until(lambda: (lambda busy: busy if len(busy) >= count else None)(
        busy_workers(client, function)), f"{count} worker(s) running {function}")
