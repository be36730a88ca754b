"""Exceptions and error codes of the taskpool client.

Every failure the client reports is a :class:`TaskpoolError`:

- :class:`TaskError`: a task ended without output (the function failed,
  its worker died, it timed out, was cancelled, was rejected...);
- :class:`ConnectionLost`: the connection to the daemon broke while the
  call was pending, or was already broken when the call was made;
- :class:`DaemonNotRunning`: nothing listens on the socket.

Each carries ``.code``, an :class:`ErrorCode`, and ``.message``.
"""
import enum

from .v1 import taskpool_pb2 as _pb


def _codes():
    # The daemon's codes come from the protocol itself, so they cannot drift
    # from it; the three client-side ones are those of the C++ client
    # (taskpool/status.hpp), which no daemon ever sends.
    codes = dict(_pb.ErrorCode.items())
    codes.update(DAEMON_NOT_RUNNING=100, CONNECTION_LOST=101, WAIT_TIMEOUT=102)
    return codes


ErrorCode = enum.IntEnum("ErrorCode", _codes(), module=__name__)
ErrorCode.__doc__ = """Why a task or a connection failed.

Values 0-30 are ``taskpool.v1.ErrorCode`` of the wire protocol (see
proto/taskpool/v1/taskpool.proto for what each means); DAEMON_NOT_RUNNING,
CONNECTION_LOST and WAIT_TIMEOUT are the client's own. ``str(code)`` is the
name, e.g. ``WORKER_DIED``."""
ErrorCode.__str__ = lambda self: self.name


def error_code(value):
    """The :class:`ErrorCode` for a wire value; unknown values are INTERNAL,
    as the protocol asks of clients."""
    try:
        return ErrorCode(value)
    except ValueError:
        return ErrorCode.INTERNAL


class TaskpoolError(Exception):
    """Base class of every error the taskpool client raises.

    Attributes:
        code: an :class:`ErrorCode`.
        message: the human-readable reason.
    """

    def __init__(self, code, message):
        super().__init__(code, message)
        self.code = error_code(code)
        self.message = message

    def __str__(self):
        return f"{self.code.name}: {self.message}" if self.message else self.code.name

    def __reduce__(self):
        return (type(self), self.args)


class TaskError(TaskpoolError):
    """A task ended without output, as reported by the daemon.

    Raised by ``apply``, by a future's ``result()``, and by ``map`` and
    iteration over ``imap`` / ``imap_unordered`` at the failed item, the way
    ``multiprocessing.Pool`` re-raises a task's exception.

    Attributes:
        code: what happened, e.g. ``ErrorCode.TASK_FAILED`` (the function
            reported failure), ``WORKER_DIED`` (its worker died; the message
            names the signal), ``TIMEOUT``, ``EXPIRED``, ``CANCELLED``,
            ``QUEUE_FULL``, ``UNKNOWN_FUNCTION``, ``INVALID_ARGUMENT``,
            ``PAYLOAD_TOO_LARGE``, ``SHARED_MEMORY_FULL`` (the daemon's
            /dev/shm had no room for a large payload; a retry may work).
        message: the daemon's (or the function's) reason.
        worker_pid: pid of the worker that ran the task; 0 if it never ran.
    """

    def __init__(self, code, message, worker_pid=0):
        super().__init__(code, message)
        self.args = (code, message, worker_pid)
        self.worker_pid = worker_pid


class ConnectionLost(TaskpoolError):
    """The connection to taskpoold broke (the daemon exited or was killed,
    or closed the connection after a protocol error), or the client was
    closed. Every call pending on the connection fails with it at once, and
    so does every later call on the same client.

    Attributes:
        socket: the socket path of the connection.
    """

    def __init__(self, message, socket=""):
        super().__init__(ErrorCode.CONNECTION_LOST, message)
        self.args = (message, socket)
        self.socket = socket


class DaemonNotRunning(TaskpoolError):
    """Nothing listens on the socket: taskpoold is not running there.

    Attributes:
        socket: the socket path that was tried.
    """

    def __init__(self, socket, reason):
        super().__init__(
            ErrorCode.DAEMON_NOT_RUNNING,
            f"no taskpoold is listening on {socket} (connect: {reason}); "
            "start taskpoold or pass socket= / set TASKPOOL_SOCKET")
        self.args = (socket, reason)
        self.socket = socket
        self.reason = reason
