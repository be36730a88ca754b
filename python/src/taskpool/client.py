"""The threaded client: :class:`Client`, :class:`TaskFuture` and
:class:`ResultIterator`.

One Client is one connection to taskpoold. Submissions are pipelined: any
number of tasks may be in flight, and results come back as they finish,
read by one reader thread per client, which completes the call waiting for
each. A Client is safe to share between threads without locking.
"""
import collections
import concurrent.futures
import itertools
import os
import socket as _socket
import threading
import time

from . import _wire
from ._windows import DONE, WAIT, MapWindow, ReadyChunks, ends_iteration, window_size
from .errors import ConnectionLost, DaemonNotRunning, ErrorCode, TaskError, TaskpoolError

# How long connecting and the hello exchange may take when the client has no
# timeout of its own (the C++ client's connect_timeout).
CONNECT_TIMEOUT = 5.0
# How long status() and ping() wait when the client has no timeout.
REQUEST_TIMEOUT = 10.0
_READ_BYTES = 256 * 1024
_CONNECT_RETRY = 0.01
# How long a failed write waits for the reader to learn why the daemon went
# away (its Error frame, or end-of-file), which says more than EPIPE.
_READER_GRACE = 1.0


def _check_chunksize(chunksize):
    if not isinstance(chunksize, int) or chunksize < 1:
        raise ValueError(f"chunksize must be a positive int, not {chunksize!r}")
    return chunksize


def _check_function(function):
    if not isinstance(function, str) or not function:
        raise TypeError(f"the function is a non-empty str (a registered name), not {function!r}")
    return function


def _map_arguments(function, chunksize, iterable, options):
    """A map's arguments, checked: (chunksize, the submit options, the
    inputs as a list)."""
    _check_function(function)
    return (_check_chunksize(chunksize), _wire.Options(**options),
            iterable if isinstance(iterable, list) else list(iterable))


def _connect(path, deadline):
    """A connected Unix socket to `path`, or DaemonNotRunning."""
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)  # close-on-exec
    try:
        while True:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            try:
                sock.connect(path)
                return sock
            except (FileNotFoundError, ConnectionRefusedError) as error:
                raise DaemonNotRunning(path, error.strerror) from None
            except BlockingIOError:
                # EAGAIN: the daemon's listen backlog is full; it is alive
                # but not accepting yet.
                if time.monotonic() >= deadline:
                    raise TaskpoolError(ErrorCode.WAIT_TIMEOUT,
                                        f"taskpoold at {path} accepted no connection in time") from None
                time.sleep(_CONNECT_RETRY)
            except _socket.timeout:
                raise TaskpoolError(ErrorCode.WAIT_TIMEOUT,
                                    f"taskpoold at {path} accepted no connection in time") from None
            except OSError as error:
                if "too long" in str(error):
                    raise DaemonNotRunning(path, "socket path too long") from None
                raise ConnectionLost(f"connect to {path}: {error}", path) from None
    except BaseException:
        sock.close()
        raise


def _greet(sock, path, client_name, deadline):
    """Sends hello and returns the daemon's HelloReply."""
    # A daemon that refuses us (PERMISSION_DENIED, TOO_MANY_CONNECTIONS)
    # sends its reason and closes, possibly before our hello is written: a
    # failed write must not hide the reason, so read it anyway.
    send_error = None
    try:
        sock.sendall(_wire.hello_frame(client_name))
    except OSError as error:
        send_error = error
    decoder = _wire.FrameDecoder(_wire.MAX_HELLO_FRAME)
    while True:
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        try:
            data = sock.recv(4096)
        except _socket.timeout:
            raise TaskpoolError(ErrorCode.WAIT_TIMEOUT,
                                f"taskpoold at {path} did not answer hello in time") from None
        except ConnectionResetError:
            # It closed with our hello unread: the same as end-of-file.
            data = b""
        except OSError as error:
            raise ConnectionLost(f"reading hello reply from {path}: {error}", path) from None
        if not data:
            reason = f" (writing hello: {send_error})" if send_error else ""
            raise ConnectionLost(f"taskpoold at {path} closed the connection during hello{reason}",
                                 path)
        messages = decoder.feed(data)
        if messages:
            return _wire.parse_hello_reply(messages[0])


def _read_loop(sock, session):
    """The reader thread: completes calls until the connection ends."""
    try:
        while True:
            try:
                data = sock.recv(_READ_BYTES)
            except OSError as error:
                session.fail(ConnectionLost(f"reading from taskpoold: {error}",
                                            session.socket_path))
                return
            if not data:
                session.fail(ConnectionLost("taskpoold closed the connection",
                                            session.socket_path))
                return
            if not session.feed(data):
                return
    finally:
        # Wakes any writer blocked on a full socket.
        try:
            sock.shutdown(_socket.SHUT_RDWR)
        except OSError:
            pass


class TaskFuture(concurrent.futures.Future):
    """The pending result of one task, from :meth:`Client.apply_async`.

    A :class:`concurrent.futures.Future` (so ``concurrent.futures.wait``,
    ``as_completed`` and ``asyncio.wrap_future`` work with it) that also
    speaks ``multiprocessing.pool.AsyncResult``: ``get``, ``wait``,
    ``ready``, ``successful``. Its result is the task's output (bytes); a
    task that failed raises :class:`TaskError`.

    The task is already submitted, so ``cancel()`` returns False as for any
    running future; cancel the task itself with :meth:`Client.cancel`.

    Attributes:
        task_id: the task's id on its connection (None if it was never
            sent, e.g. a payload over the daemon's limit).
        worker_pid: pid of the worker that ran it, once done (0 if none).
        node: the node that ran it when the daemon is part of a cluster
            (taskpoold --cluster; worker_pid is then a pid there), else "".
    """

    def __init__(self):
        super().__init__()
        self.task_id = None
        self.worker_pid = 0
        self.node = ""
        self.set_running_or_notify_cancel()

    def get(self, timeout=None):
        """The output; raises the task's TaskError, or TimeoutError when
        not done within `timeout` seconds (the task keeps running)."""
        return self.result(timeout)

    def wait(self, timeout=None):
        """Waits until done or `timeout` seconds passed."""
        concurrent.futures.wait((self,), timeout)

    def ready(self):
        return self.done()

    def successful(self):
        """Whether the task succeeded. REQUIRES: ready()."""
        if not self.done():
            raise ValueError(f"task {self.task_id} is not ready")
        return self.exception() is None

    def _complete(self, result):
        if isinstance(result, BaseException):
            self.worker_pid = getattr(result, "worker_pid", 0)
            self.set_exception(result)
            return
        self.worker_pid = result.worker_pid
        self.node = result.node
        if result.code == 0:
            self.set_result(result.output)
        else:
            self.set_exception(_wire.task_error(result))


def _chain_callbacks(future, callback, error_callback):
    def done(f):
        error = f.exception()
        if error is None:
            if callback is not None:
                callback(f.result())
        elif error_callback is not None:
            error_callback(error)
    future.add_done_callback(done)


class Client:
    """A connection to taskpoold with ``multiprocessing.Pool``'s calls.

    ::

        with taskpool.Client() as client:          # $TASKPOOL_SOCKET or the default
            print(client.apply("is_prime", "454577"))      # b'true'
            print(client.map("is_prime", ["222377", "3334"], chunksize=64))

    Args:
        socket: the daemon's socket path; default ``$TASKPOOL_SOCKET``, else
            ``/run/taskpool/taskpoold.sock`` (as the ``taskpool`` CLI).
        timeout: seconds that connecting and each blocking call (``apply``,
            ``map``, each step of an ``imap``, ``status``, ``ping``) wait at
            most before raising TimeoutError; the tasks themselves keep
            running. None: connecting waits 5 s, ``status``/``ping`` 10 s,
            and task calls wait for their results, which always come: if
            the daemon dies, the connection breaks and every pending call
            raises :class:`ConnectionLost` at once.
        client_name: shown in the daemon's logs.

    Raises:
        DaemonNotRunning: nothing listens on the socket.
        TaskpoolError: the daemon refused the connection (code
            VERSION_MISMATCH, PERMISSION_DENIED, TOO_MANY_CONNECTIONS) or did
            not answer in time (WAIT_TIMEOUT).

    Payloads are bytes (or str, sent as UTF-8; bytearray and memoryview are
    copied); outputs are bytes. Every task call takes the submit options as
    keyword arguments: ``timeout`` (seconds the task may run before its
    worker is killed: TIMEOUT), ``deadline`` (seconds from submission by which
    it must be done: EXPIRED if still queued), ``retries`` (re-runs if its
    worker dies), ``lock`` (tasks with the same lock name never run at the
    same time, and run in submission order) and ``fail_if_full`` (QUEUE_FULL
    at once instead of waiting for room in the daemon's queue).

    Thread-safety: safe to use from many threads at once. Callbacks (of
    ``apply_async`` and futures' ``add_done_callback``) run on the client's
    reader thread: they must not block for long and must not make blocking
    calls on the same client (those raise RuntimeError there). A client does
    not survive ``fork()``: make a new one in the child.
    """

    def __init__(self, socket=None, timeout=None, *, client_name="taskpool-python"):
        self.socket_path = _wire.resolve_socket(socket)
        self.timeout = timeout
        self._closed = True
        deadline = time.monotonic() + (CONNECT_TIMEOUT if timeout is None else timeout)
        sock = _connect(self.socket_path, deadline)
        try:
            hello = _greet(sock, self.socket_path, client_name, deadline)
            sock.settimeout(None)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._session = _wire.Session(self.socket_path, hello)
        self._write_lock = threading.Lock()
        self._pid = os.getpid()
        self._nonce = itertools.count(1)
        self._closed = False
        self._reader = threading.Thread(
            target=_read_loop, args=(sock, self._session), daemon=True,
            name=f"taskpool-reader {self.socket_path}")
        self._reader.start()

    # ------------------------------------------------------------ lifetime

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        # A client dropped without close(): its connection is closed too.
        # At interpreter exit the modules close() needs may be gone already.
        if not getattr(self, "_closed", True):
            try:
                self.close()
            except Exception:
                pass

    def close(self):
        """Closes the connection. Tasks still pending end with TaskError
        CANCELLED for whoever waits on them (the daemon cancels their queued
        tasks and drops their results); later calls raise ConnectionLost."""
        if self._closed:
            return
        self._closed = True
        self._session.fail(
            TaskError(ErrorCode.CANCELLED, "the client was closed before the task finished"),
            later=ConnectionLost("the client is closed", self.socket_path))
        try:
            self._sock.shutdown(_socket.SHUT_RDWR)
        except OSError:
            pass
        if threading.current_thread() is not self._reader:
            self._reader.join()
        self._sock.close()

    @property
    def connected(self):
        """False once the connection has broken or the client was closed."""
        return self._session.broken is None

    @property
    def server_info(self):
        """The daemon's hello reply (a ``taskpool.v1.HelloReply``: its
        version, max_payload_bytes, workers, queue_capacity)."""
        return self._session.hello

    # ------------------------------------------------------------ plumbing

    def _check_blocking(self):
        if os.getpid() != self._pid:
            raise RuntimeError("a taskpool.Client cannot be used after fork(); "
                               "create a new one in the child")
        if threading.current_thread() is self._reader:
            raise RuntimeError("blocking taskpool.Client call from one of its own callbacks "
                               "(they run on its reader thread, which would wait for itself)")

    def _send(self, frames):
        if not frames:
            return
        data = frames[0] if len(frames) == 1 else b"".join(frames)
        try:
            with self._write_lock:
                self._sock.sendall(data)
        except OSError as error:
            self._write_failed(error)

    def _write_failed(self, error):
        if threading.current_thread() is not self._reader:
            self._reader.join(_READER_GRACE)
        self._session.fail(ConnectionLost(
            f"taskpoold closed the connection (writing: {error})", self.socket_path))

    def _deadline(self):
        return None if self.timeout is None else time.monotonic() + self.timeout

    def _window(self, chunksize, window):
        return window_size(chunksize, window, self._session.hello.workers)

    def _request(self, request_frame):
        self._check_blocking()
        done = threading.Event()
        answer = []

        def on_answer(message):
            answer.append(message)
            done.set()

        # Answers come back in request order, so registering and sending
        # must happen together.
        try:
            with self._write_lock:
                self._session.register_request(on_answer)
                self._sock.sendall(request_frame)
        except OSError as error:
            self._write_failed(error)
        wait = REQUEST_TIMEOUT if self.timeout is None else self.timeout
        if not done.wait(wait):
            # The waiter stays queued, so later answers still pair with
            # the right requests.
            raise TimeoutError(f"taskpoold did not answer within {wait} s")
        if isinstance(answer[0], BaseException):
            raise answer[0]
        return answer[0]

    # ------------------------------------------------------------ calls

    def apply_async(self, function, payload, callback=None, error_callback=None, **options):
        """Submits one task without waiting (``Pool.apply_async``).

        Returns a :class:`TaskFuture` whose result is the output. On
        completion, `callback(output)` or `error_callback(exception)` is
        called on the reader thread. A client whose connection is broken
        returns a future that failed with ConnectionLost.
        """
        if os.getpid() != self._pid:
            raise RuntimeError("a taskpool.Client cannot be used after fork(); "
                               "create a new one in the child")
        _check_function(function)
        opts = _wire.Options(**options)
        data = _wire.to_payload(payload)
        future = TaskFuture()
        if callback is not None or error_callback is not None:
            _chain_callbacks(future, callback, error_callback)
        try:
            future.task_id, frames = self._session.encode_tasks(
                function, [data], opts, [future._complete])
        except TaskpoolError as error:
            future._complete(error)
            return future
        self._send(frames)
        return future

    def apply(self, function, payload, **options):
        """Runs `function` on `payload` and returns its output (``Pool.apply``).

        Raises:
            TaskError: the task failed (``.code``, ``.message``, ``.worker_pid``).
            ConnectionLost: the connection broke before the result came.
            TimeoutError: the client's timeout passed (the task keeps running).
        """
        self._check_blocking()
        return self.apply_async(function, payload, **options).result(self.timeout)

    def cancel(self, task, kill=False):
        """Cancels a task (a :class:`TaskFuture` or its ``task_id``).

        A queued task never runs and ends CANCELLED. A running one is asked
        to stop (plugin code sees ``Context::cancelled()``) and its result is
        whatever it returns, unless `kill`: then its worker is killed (the
        daemon replaces it) and the task ends CANCELLED. A finished task is
        not affected. Its future completes exactly once either way.
        """
        task_id = task.task_id if isinstance(task, TaskFuture) else task
        if task_id is None or self._session.broken is not None:
            return
        self._send([_wire.cancel_frame(task_id, kill)])

    def map(self, function, iterable, chunksize=1, *, return_exceptions=False,
            window=None, **options):
        """Runs `function` over every item; returns the outputs in input
        order (``Pool.map``).

        With `chunksize` > 1 each run of that many items is one task (a
        chunk): one worker runs the function on each item in turn and the
        outcomes come back together, which removes most of the cost per item
        for small tasks. The price is isolation within the chunk: a worker
        dying in it fails (or, with `retries`, re-runs) all its items;
        `timeout` still applies per item, `deadline`, `lock` and
        cancellation per chunk. At most `window` items are in flight at once
        (default sixteen chunks per worker).

        Raises the first TaskError seen (and cancels what is still queued),
        like Pool.map; with ``return_exceptions=True`` a failed item's place
        holds its TaskpoolError instead and nothing is raised for it.
        ConnectionLost (the daemon went away) is raised at once either way.
        """
        self._check_blocking()
        chunksize, opts, inputs = _map_arguments(function, chunksize, iterable, options)
        if not inputs:
            return []
        window = MapWindow(len(inputs), chunksize, self._window(chunksize, window),
                           return_exceptions)
        deadline = self._deadline()
        cond = threading.Condition(threading.Lock())

        def on_chunk(first, outcomes, first_error):
            with cond:
                if window.settle(first, outcomes, first_error):
                    cond.notify()

        finished = False
        try:
            while True:
                with cond:
                    while (step := window.step()) is WAIT:
                        wait = None if deadline is None else deadline - time.monotonic()
                        if wait is not None and wait <= 0:
                            raise window.timeout_error(self.timeout)
                        cond.wait(wait)
                    if step is DONE:
                        finished = True
                        return window.results
                    chunks = window.claim()
                frames = []
                try:
                    for first in chunks:
                        ids, chunk_frames = self._session.encode_items(
                            function, window.inputs_of(inputs, first), opts,
                            lambda outcomes, error, first=first: on_chunk(first, outcomes, error))
                        # Before the frames are sent, only a broken
                        # connection can complete the chunk.
                        with cond:
                            window.sent(first, ids)
                        frames += chunk_frames
                finally:
                    # Also when an item is not a payload (TypeError): the
                    # chunks registered before it are sent, then cancelled
                    # below, so none stays pending forever.
                    self._send(frames)
        finally:
            if not finished and self._session.broken is None:
                # Given up early (a failed item, a timeout, an exception
                # such as KeyboardInterrupt): what is still queued need not
                # run.
                with cond:
                    unfinished = window.unfinished_ids()
                self._send([_wire.cancel_frame(i, False) for i in unfinished])

    def imap(self, function, iterable, chunksize=1, *, return_exceptions=False,
             window=None, **options):
        """Lazy ``map`` (``Pool.imap``): an iterator of outputs in input
        order, each as soon as it and those before it are done.

        Inputs are pulled from `iterable` only as results are consumed, and
        at most `window` items (default sixteen chunks per worker) are
        submitted and not yet consumed, so memory stays bounded for any
        input length. A failed item raises its TaskError when reached (the
        iteration may go on after it), or is yielded with
        ``return_exceptions=True``. See :class:`ResultIterator`.
        """
        return ResultIterator(self, function, iterable, chunksize, window,
                              _wire.Options(**options), True, return_exceptions)

    def imap_unordered(self, function, iterable, chunksize=1, *, return_exceptions=False,
                       window=None, **options):
        """As :meth:`imap`, but outputs in completion order
        (``Pool.imap_unordered``)."""
        return ResultIterator(self, function, iterable, chunksize, window,
                              _wire.Options(**options), False, return_exceptions)

    def status(self):
        """The daemon's workers, queue and counters: a
        ``taskpool.v1.StatusReply`` message (see the .proto for its fields;
        ``google.protobuf.json_format.MessageToDict`` makes it a dict)."""
        return self._request(_wire.status_frame()).status

    def ping(self):
        """A round trip to the daemon; returns its duration in seconds."""
        nonce = next(self._nonce)
        start = time.monotonic()
        reply = self._request(_wire.ping_frame(nonce))
        if reply.pong.nonce != nonce:
            raise ConnectionLost(f"taskpoold answered ping {nonce} with pong {reply.pong.nonce}",
                                 self.socket_path)
        return time.monotonic() - start


class ResultIterator:
    """The outputs of :meth:`Client.imap` or :meth:`Client.imap_unordered`.

    Iterate it (``for output in it``) or call :meth:`next` with a timeout,
    like ``Pool.imap``'s iterator. Nothing is submitted before the first
    item is asked for. :meth:`close` (or leaving a ``with`` block) stops
    submitting and cancels what is still queued.

    Thread-safety: one thread iterates it at a time.
    """

    def __init__(self, client, function, iterable, chunksize, window, options,
                 ordered, return_exceptions):
        self._client = client
        self._function = _check_function(function)
        chunksize = _check_chunksize(chunksize)
        self._chunks = ReadyChunks(chunksize, client._window(chunksize, window), ordered)
        self._options = options
        self._return_exceptions = return_exceptions
        self._inputs = iter(iterable)
        self._closed = False
        self._buffer = collections.deque()  # outcomes ready to yield
        self._cond = threading.Condition(threading.Lock())

    def __iter__(self):
        return self

    def __next__(self):
        return self.next()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def next(self, timeout=None):
        """The next output. Raises its TaskError (unless
        return_exceptions), StopIteration at the end, or TimeoutError when
        none is ready within `timeout` seconds (default: the client's
        timeout); the iterator stays usable after a timeout."""
        if self._closed:
            raise StopIteration
        if not self._buffer:
            self._client._check_blocking()
            if timeout is None:
                timeout = self._client.timeout
            self._next_chunk(timeout)
        value = self._buffer.popleft()
        self._chunks.yielded()
        if ends_iteration(value, self._return_exceptions):
            raise value
        return value

    def close(self):
        """Stops submitting inputs and cancels the tasks still queued;
        their results are discarded."""
        if self._closed:
            return
        self._closed = True
        with self._cond:
            unfinished = self._chunks.close()
        if self._client._session.broken is None:
            self._client._send([_wire.cancel_frame(i, False) for i in unfinished])

    def _next_chunk(self, timeout):
        deadline = None if timeout is None else time.monotonic() + timeout
        self._fill()
        with self._cond:
            while (outcomes := self._chunks.take()) is None:
                if self._chunks.outstanding == 0:
                    raise StopIteration
                wait = None if deadline is None else deadline - time.monotonic()
                if wait is not None and wait <= 0:
                    raise TimeoutError(f"no result within {timeout} s")
                self._cond.wait(wait)
        self._buffer.extend(outcomes)

    def _fill(self):
        """Submits chunks while the window has room for one."""
        if self._closed:
            return
        frames = []
        try:
            while self._chunks.has_room():
                items = list(itertools.islice(self._inputs, self._chunks.chunksize))
                first = self._chunks.start(items)
                if first is None:
                    break
                ids, chunk_frames = self._client._session.encode_items(
                    self._function, items, self._options,
                    lambda outcomes, error, first=first: self._on_chunk(first, outcomes))
                # Before the frames are sent, only a broken connection can
                # complete the chunk; its ids then do no harm.
                with self._cond:
                    self._chunks.sent(first, ids)
                frames += chunk_frames
        finally:
            self._client._send(frames)

    def _on_chunk(self, first, outcomes):
        with self._cond:
            if self._chunks.settle(first, outcomes):
                self._cond.notify()
