"""The protocol engine shared by the threaded and the asyncio client.

It does no I/O ("sans-IO"): it turns calls into frames and bytes read from
the daemon into completed calls. The transports (client.py with a socket
and a reader thread, aio.py with asyncio streams) feed it and write what
it encodes.

Frames are protobuf's size-delimited format: a base-128 varint byte count,
then one serialized ClientMessage or ServerMessage (see
proto/taskpool/v1/taskpool.proto).
"""
import collections
import math
import os
import threading

from .errors import ConnectionLost, ErrorCode, TaskError, TaskpoolError, error_code
from .v1 import taskpool_pb2 as pb

DEFAULT_SOCKET = "/run/taskpool/taskpoold.sock"
PROTOCOL_VERSION = pb.PROTOCOL_VERSION_CURRENT
# Used when the daemon announces no payload limit (as the C++ client).
DEFAULT_MAX_PAYLOAD = 16 * 1024 * 1024
# Room for the envelope around the largest payload, so a maximal result is
# never mistaken for a bad frame.
FRAME_ENVELOPE = 1024 * 1024
# A hello reply is tiny; anything bigger is not a taskpoold talking.
MAX_HELLO_FRAME = 64 * 1024
# Submissions share a frame up to about this size.
BATCH_FRAME_BYTES = 1024 * 1024
# What one task adds to a frame besides its payload and function name.
TASK_ENVELOPE = 64
_UINT32_MAX = 2**32 - 1
_OK = 0


def resolve_socket(socket=None):
    """The socket path the way the CLI finds it: the argument, else
    ``$TASKPOOL_SOCKET`` (when set and not empty), else
    ``/run/taskpool/taskpoold.sock``."""
    if socket:
        return os.fspath(socket)
    return os.environ.get("TASKPOOL_SOCKET") or DEFAULT_SOCKET


def to_payload(value):
    """bytes as they are; str as UTF-8; other buffers copied to bytes."""
    if type(value) is bytes:
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(
        f"a taskpool payload is bytes or str, not {type(value).__name__}")


# ------------------------------------------------------------------ framing


def varint(n):
    """The base-128 varint encoding of a non-negative int."""
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def frame(message):
    """One size-delimited frame holding `message`."""
    data = message.SerializeToString()
    return varint(len(data)) + data


class FrameDecoder:
    """Splits the byte stream from the daemon into ServerMessages."""

    def __init__(self, max_frame_bytes):
        self._buffer = bytearray()
        self._max = max_frame_bytes

    def feed(self, data):
        """Adds bytes read from the socket; returns the complete messages
        they finish, in order. Raises ConnectionLost on a frame that is too
        large or does not parse."""
        buffer = self._buffer
        buffer += data
        messages = []
        position = 0
        end = len(buffer)
        # Frames are parsed from a view of the buffer, not from copies of
        # their bytes (a large result would be copied twice).
        with memoryview(buffer) as view:
            while position < end:
                # The varint length.
                size = 0
                shift = 0
                cursor = position
                while True:
                    if cursor == end:
                        size = -1
                        break
                    byte = buffer[cursor]
                    cursor += 1
                    size |= (byte & 0x7F) << shift
                    if byte < 0x80:
                        break
                    shift += 7
                    if shift > 63:
                        raise ConnectionLost("bad frame from taskpoold: length varint too long")
                if size < 0:
                    break
                if size > self._max:
                    raise ConnectionLost(
                        f"bad frame from taskpoold: {size} bytes exceeds the limit of {self._max}")
                if cursor + size > end:
                    break
                message = pb.ServerMessage()
                try:
                    message.ParseFromString(view[cursor:cursor + size])
                except Exception as error:  # google.protobuf.message.DecodeError
                    raise ConnectionLost(f"bad frame from taskpoold: {error}") from None
                messages.append(message)
                position = cursor + size
        if position:
            del buffer[:position]
        return messages


# ------------------------------------------------------------------ options


def _milliseconds(name, seconds):
    if seconds is None:
        return 0
    if seconds < 0:
        raise ValueError(f"{name} must not be negative, not {seconds!r}")
    # Rounded up, so a tiny positive limit is not mistaken for "none";
    # clamped, so a huge one stays huge.
    return min(_UINT32_MAX, math.ceil(seconds * 1000))


class Options:
    """Submit options, validated once per call.

    timeout: seconds a task may run before its worker is killed and it ends
        TIMEOUT (None: the daemon's --task-timeout-ms).
    deadline: seconds from submission by which it must be done, queue wait
        included (None: no deadline); past it a queued task ends EXPIRED.
    retries: how many times to re-run it if its worker dies.
    lock: tasks with the same lock name never run at the same time, in any
        worker, and run in submission order.
    fail_if_full: end QUEUE_FULL at once instead of waiting when the daemon's
        queue is full.
    """

    __slots__ = ("timeout_ms", "deadline_ms", "max_retries", "lock", "fail_if_full")

    def __init__(self, timeout=None, deadline=None, retries=0, lock=None,
                 fail_if_full=False):
        self.timeout_ms = _milliseconds("timeout", timeout)
        self.deadline_ms = _milliseconds("deadline", deadline)
        if not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be a non-negative int, not {retries!r}")
        self.max_retries = min(retries, _UINT32_MAX)
        if lock is not None and not isinstance(lock, str):
            raise TypeError(f"lock must be a str, not {type(lock).__name__}")
        self.lock = lock or ""
        self.fail_if_full = bool(fail_if_full)

    def apply_to(self, submit):
        """Sets the option fields of a v1.Submit (defaults are left unset,
        which proto3 encodes as nothing)."""
        if self.timeout_ms:
            submit.timeout_ms = self.timeout_ms
        if self.deadline_ms:
            submit.deadline_ms = self.deadline_ms
        if self.max_retries:
            submit.max_retries = self.max_retries
        if self.lock:
            submit.lock = self.lock
        if self.fail_if_full:
            submit.fail_if_full = True


NO_OPTIONS = Options()


# ------------------------------------------------------------------ messages


def hello_frame(client_name):
    message = pb.ClientMessage()
    message.hello.protocol_version = PROTOCOL_VERSION
    message.hello.client_name = client_name
    return frame(message)


def cancel_frame(task_id, kill_running):
    message = pb.ClientMessage()
    message.cancel.id = task_id
    message.cancel.kill_running = bool(kill_running)
    return frame(message)


def status_frame():
    message = pb.ClientMessage()
    message.status.SetInParent()
    return frame(message)


def ping_frame(nonce):
    message = pb.ClientMessage()
    message.ping.nonce = nonce
    return frame(message)


def chunk_payload(items):
    """The serialized ChunkPayload of `items` (bytes or str each)."""
    payload = pb.ChunkPayload()
    try:
        payload.items.extend(items)
    except TypeError:
        # Not all bytes: convert item by item (raises for other types).
        payload = pb.ChunkPayload()
        payload.items.extend([to_payload(item) for item in items])
    return payload.SerializeToString()


def parse_hello_reply(message):
    """The HelloReply in a ServerMessage, or raises the daemon's refusal."""
    kind = message.WhichOneof("kind")
    if kind == "hello":
        return message.hello
    if kind == "error":
        # VERSION_MISMATCH, PERMISSION_DENIED, TOO_MANY_CONNECTIONS: the
        # daemon's message says what and why.
        raise TaskpoolError(error_code(message.error.code), message.error.message)
    raise ConnectionLost(f"taskpoold answered hello with an unexpected message ({kind})")


# ------------------------------------------------------------------ outcomes


def task_error(result):
    return TaskError(error_code(result.code), result.error, result.worker_pid)


def outcome(result):
    """A task's Result as its output (bytes), or the TaskpoolError it ended
    with; an exception (the connection's failure) is passed through."""
    if isinstance(result, BaseException):
        return result
    if result.code == _OK:
        return result.output
    return task_error(result)


class _Gather:
    """Collects the outcomes of separately sent tasks into one list."""

    def __init__(self, count, on_done):
        self._outcomes = [None] * count
        self._left = count
        self._first_error = None
        self._on_done = on_done
        self._lock = threading.Lock()

    def callbacks(self):
        return [self._callback(index) for index in range(len(self._outcomes))]

    def _callback(self, index):
        def on_result(result):
            value = outcome(result)
            with self._lock:
                self._outcomes[index] = value
                if isinstance(value, BaseException) and self._first_error is None:
                    self._first_error = value
                self._left -= 1
                finished = self._left == 0
            if finished:
                self._on_done(self._outcomes, self._first_error)
        return on_result


def chunk_outcomes(result, count):
    """Per-item outcomes of a chunk's Result: a list of `count` values, each
    the item's output (bytes) or a TaskError, and the first TaskError (or
    None)."""
    if result.code != _OK:
        error = task_error(result)
        return [error] * count, error
    output = pb.ChunkOutput()
    output.ParseFromString(result.output)
    items = output.items
    if len(items) != count:
        error = TaskError(
            ErrorCode.INTERNAL,
            f"taskpoold answered a chunk of {count} items with an output that "
            f"does not hold one outcome per item ({len(items)})", result.worker_pid)
        return [error] * count, error
    outputs = [item.output for item in items]
    first_error = None
    # A failed item has no output, so only a chunk with an empty output
    # needs its codes looked at: one pass over the items instead of two
    # in the common case.
    if b"" in outputs and any([item.code for item in items]):
        pid = result.worker_pid
        for index, item in enumerate(items):
            if item.code != _OK:
                outputs[index] = TaskError(error_code(item.code), item.error, pid)
                if first_error is None:
                    first_error = outputs[index]
    return outputs, first_error


# ------------------------------------------------------------------ session


class Session:
    """The calls pending on one connection and their completion.

    Thread-safe: registering, dispatching and failing may happen on
    different threads. Completion callbacks run on the thread that feeds
    the session (the reader), or on the failing thread, outside the lock.

    Pending tasks are keyed by their id, which the session chooses (1, 2,
    ...). A task callback is called exactly once, with the v1.Result or
    with the exception that ended the connection. Status and ping requests
    are answered in order, so they wait in a FIFO.
    """

    def __init__(self, socket_path, hello):
        self.socket_path = socket_path
        self.hello = hello
        self.max_payload = hello.max_payload_bytes or DEFAULT_MAX_PAYLOAD
        self._lock = threading.Lock()
        self._next_id = 1
        self._pending = {}
        self._requests = collections.deque()
        self._broken = None  # the exception every call now fails with
        self.decoder = FrameDecoder(self.max_payload + FRAME_ENVELOPE)

    @property
    def broken(self):
        return self._broken

    def pending_count(self):
        return len(self._pending)

    def register(self, callbacks):
        """Gives each callback the next id; returns the first id. Raises the
        connection's failure if it is broken."""
        with self._lock:
            if self._broken is not None:
                raise self._broken
            first = self._next_id
            self._next_id = first + len(callbacks)
            pending = self._pending
            for offset, callback in enumerate(callbacks):
                pending[first + offset] = callback
            return first

    def register_request(self, callback):
        with self._lock:
            if self._broken is not None:
                raise self._broken
            self._requests.append(callback)

    def forget(self, task_id):
        """Drops a task whose submission was never sent."""
        with self._lock:
            return self._pending.pop(task_id, None)

    def feed(self, data):
        """Dispatches every message completed by `data`. Returns False once
        the connection must be given up (the daemon sent an error, or a
        frame was bad), after failing every call."""
        try:
            messages = self.decoder.feed(data)
        except ConnectionLost as error:
            self.fail(ConnectionLost(error.message, self.socket_path))
            return False
        for message in messages:
            kind = message.WhichOneof("kind")
            if kind == "result":
                self._complete((message.result,))
            elif kind == "result_batch":
                self._complete(message.result_batch.results)
            elif kind in ("status", "pong"):
                with self._lock:
                    waiter = self._requests.popleft() if self._requests else None
                if waiter is not None:
                    waiter(message)
            elif kind == "error":
                # The daemon closes the connection after any error, and an
                # error names no task: every pending call fails now rather
                # than hang.
                code = error_code(message.error.code)
                self.fail(ConnectionLost(
                    f"taskpoold closed the connection: {code.name}: {message.error.message}",
                    self.socket_path))
                return False
            # A second hello or a kind newer than this client: nothing
            # waits on it.
        return True

    def _complete(self, results):
        with self._lock:
            pop = self._pending.pop
            done = [(pop(result.id, None), result) for result in results]
        for callback, result in done:
            # An unknown id can only be a daemon bug; nobody waits on it.
            if callback is not None:
                callback(result)

    def fail(self, error, later=None):
        """Breaks the session: every pending call fails with `error`, and
        every later one with `later` (default: `error` too). Only the first
        failure counts; returns whether this was it."""
        with self._lock:
            if self._broken is not None:
                return False
            self._broken = later if later is not None else error
            pending, self._pending = self._pending, {}
            requests, self._requests = self._requests, collections.deque()
        for callback in pending.values():
            callback(error)
        for waiter in requests:
            waiter(error)
        return True

    # ------------------------------------------------------------ encoding

    def encode_tasks(self, function, payloads, options, callbacks):
        """Registers one plain task per payload; returns the first id (the
        sent tasks have consecutive ids; None if none was sent) and the
        frames that submit them. A payload over the daemon's limit is failed at once
        (callback called with PAYLOAD_TOO_LARGE) instead of being sent: in a
        frame it could make the daemon drop the whole connection."""
        sendable = []
        for payload, callback in zip(payloads, callbacks):
            if len(payload) > self.max_payload:
                callback(self.too_large(len(payload)))
            else:
                sendable.append((payload, callback))
        if not sendable:
            return None, []
        first = self.register([callback for _, callback in sendable])
        frames = []
        batch_limit = min(BATCH_FRAME_BYTES, self.max_payload)
        message = pb.ClientMessage()
        tasks = message.submit_batch.tasks
        size = 0
        for offset, (payload, _) in enumerate(sendable):
            task_size = len(payload) + len(function) + TASK_ENVELOPE
            if tasks and size + task_size > batch_limit:
                frames.append(frame(message))
                message = pb.ClientMessage()
                tasks = message.submit_batch.tasks
                size = 0
            task = tasks.add()
            task.id = first + offset
            task.function = function
            task.payload = payload
            options.apply_to(task)
            size += task_size
        if len(tasks) == 1:
            single = pb.ClientMessage()
            single.submit.CopyFrom(tasks[0])
            message = single
        frames.append(frame(message))
        return first, frames

    def encode_items(self, function, items, options, on_done):
        """Registers the tasks that run `function` on each of `items` (a
        list of payloads) and returns their ids and frames; `on_done` is
        called exactly once, with the list of per-item outcomes (output
        bytes or TaskpoolError) and the first error or None.

        More than one item goes as one chunk task (Submit.chunk), unless
        their ChunkPayload exceeds the daemon's payload limit: then, as
        in the C++ client, they go as separate tasks.
        """
        count = len(items)
        if count > 1:
            payload = chunk_payload(items)
            if len(payload) <= self.max_payload:
                def on_chunk(result):
                    if isinstance(result, BaseException):
                        on_done([result] * count, result)
                    else:
                        on_done(*chunk_outcomes(result, count))
                task_id, chunk_frame = self.encode_chunk(function, payload, options, on_chunk)
                return [task_id], [chunk_frame]
        payloads = [to_payload(item) for item in items]
        if count == 1:
            def on_one(result):
                value = outcome(result)
                on_done([value], value if isinstance(value, BaseException) else None)
            callbacks = [on_one]
        else:
            callbacks = _Gather(count, on_done).callbacks()
        first, frames = self.encode_tasks(function, payloads, options, callbacks)
        sent = 0 if first is None else sum(len(p) <= self.max_payload for p in payloads)
        return list(range(first, first + sent)) if sent else [], frames

    def encode_chunk(self, function, payload, options, callback):
        """Registers one chunk task whose serialized ChunkPayload is
        `payload`; returns its id and its frame."""
        task_id = self.register((callback,))
        message = pb.ClientMessage()
        submit = message.submit
        submit.id = task_id
        submit.function = function
        submit.payload = payload
        submit.chunk = True
        options.apply_to(submit)
        return task_id, frame(message)

    def too_large(self, size):
        return TaskError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"payload of {size} bytes exceeds the daemon's limit of {self.max_payload}")
