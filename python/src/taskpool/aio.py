"""The asyncio client: :class:`taskpool.Client`'s calls as coroutines.

::

    import asyncio
    import taskpool.aio

    async def main():
        async with taskpool.aio.Client() as client:   # $TASKPOOL_SOCKET or the default
            print(await client.apply("is_prime", "454577"))       # b'true'
            print(await client.map("is_prime", ["222377", "3334"], chunksize=64))
            async for verdict in client.imap_unordered("is_prime", ["7", "8"]):
                print(verdict)

    asyncio.run(main())

The connection lives on the event loop (an ``asyncio.Protocol``, no
threads): results are read and matched to their calls as the loop runs.
Payloads, outputs, submit options (``timeout``, ``deadline``, ``retries``,
``lock``, ``fail_if_full``) and errors are those of :class:`taskpool.Client`.
Cancelling a coroutine that awaits a task (``asyncio.Task.cancel``, a
``wait_for`` timeout) also asks the daemon to cancel the task (without
killing a running one; :meth:`Client.cancel` with ``kill=True`` does).

Thread-safety: like every asyncio object, a client belongs to the loop
that connected it; use it from that loop's thread only.
"""
import asyncio
import collections
import itertools
import time

from . import _wire
from ._windows import DONE, WAIT, MapWindow, ReadyChunks, ends_iteration, window_size
from .client import CONNECT_TIMEOUT, REQUEST_TIMEOUT, _check_chunksize, _check_function, \
    _map_arguments
from .errors import ConnectionLost, DaemonNotRunning, ErrorCode, TaskError, TaskpoolError

__all__ = ["AsyncResultIterator", "Client", "TaskFuture", "connect"]


class TaskFuture(asyncio.Future):
    """The pending result of one task (from :meth:`Client.apply_async`):
    an ``asyncio.Future`` whose result is the output (bytes), or which
    raises the task's :class:`taskpool.TaskError`.

    Attributes:
        task_id: the task's id on its connection (None if never sent).
        worker_pid: pid of the worker that ran it, once done (0 if none).
        node: the node that ran it with taskpoold --cluster, else "".
    """

    task_id = None
    worker_pid = 0
    node = ""

    def _complete(self, result):
        if self.done():  # cancelled by its awaiter
            return
        value = _wire.outcome(result)
        self.worker_pid = getattr(result, "worker_pid", 0)
        self.node = getattr(result, "node", "")
        if isinstance(value, BaseException):
            self.set_exception(value)
        else:
            self.set_result(value)


class _Protocol(asyncio.Protocol):
    """The connection's transport side: feeds the session, tracks write
    flow control, and fails everything when the connection ends."""

    def __init__(self, path, loop):
        self.path = path
        self.session = None
        self.transport = None
        self.hello = loop.create_future()
        self.closed = loop.create_future()
        self._hello_decoder = _wire.FrameDecoder(_wire.MAX_HELLO_FRAME)
        self._paused = False
        self._drain_waiters = collections.deque()
        self._loop = loop

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        if self.session is not None:
            if not self.session.feed(data):
                self.transport.close()
            return
        if self.hello.done():
            return
        try:
            messages = self._hello_decoder.feed(data)
        except TaskpoolError as error:
            self.hello.set_exception(error)
            return
        if messages:
            self.hello.set_result(messages[0])

    def connection_lost(self, exc):
        reason = "taskpoold closed the connection" if exc is None else \
            f"reading from taskpoold: {exc}"
        error = ConnectionLost(reason, self.path)
        if not self.hello.done():
            self.hello.set_exception(ConnectionLost(
                f"taskpoold at {self.path} closed the connection during hello", self.path))
        if self.session is not None:
            self.session.fail(error)
        self._paused = False
        self._wake_writers()
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self):
        self._paused = True

    def resume_writing(self):
        self._paused = False
        self._wake_writers()

    def _wake_writers(self):
        while self._drain_waiters:
            waiter = self._drain_waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    async def drain(self):
        """Waits while the daemon is not reading (its queue is full, or this
        connection has its maximum of tasks in flight)."""
        if not self._paused:
            return
        waiter = self._loop.create_future()
        self._drain_waiters.append(waiter)
        await waiter


async def connect(socket=None, timeout=None, *, client_name="taskpool-python-asyncio"):
    """A connected :class:`Client` (``await taskpool.aio.connect()``)."""
    client = Client(socket, timeout, client_name=client_name)
    await client.connect()
    return client


class Client:
    """An asyncio connection to taskpoold with Pool's calls as coroutines.

    Create it and ``await client.connect()``, or ``async with
    Client(...) as client``, or ``await taskpool.aio.connect(...)``. The
    arguments are those of :class:`taskpool.Client`; `timeout` bounds
    connecting and each awaited call (TimeoutError), None meaning 5 s for
    connecting, 10 s for ``status``/``ping`` and no limit for task calls.
    """

    def __init__(self, socket=None, timeout=None, *, client_name="taskpool-python-asyncio"):
        self.socket_path = _wire.resolve_socket(socket)
        self.timeout = timeout
        self._client_name = client_name
        self._protocol = None
        self._session = None
        self._nonce = itertools.count(1)

    async def __aenter__(self):
        await self.connect()
        return self

    async def __aexit__(self, *exc):
        await self.close()

    async def connect(self):
        """Connects and exchanges hellos. Raises DaemonNotRunning, or
        TaskpoolError for a refusal or WAIT_TIMEOUT."""
        if self._protocol is not None:
            raise RuntimeError("this taskpool.aio.Client is already connected")
        loop = asyncio.get_running_loop()
        wait = CONNECT_TIMEOUT if self.timeout is None else self.timeout
        path = self.socket_path
        protocol = _Protocol(path, loop)
        try:
            await asyncio.wait_for(
                loop.create_unix_connection(lambda: protocol, path), wait)
        except (FileNotFoundError, ConnectionRefusedError) as error:
            raise DaemonNotRunning(path, error.strerror) from None
        except asyncio.TimeoutError:
            raise TaskpoolError(ErrorCode.WAIT_TIMEOUT,
                                f"taskpoold at {path} accepted no connection in time") from None
        except OSError as error:
            if "too long" in str(error):
                raise DaemonNotRunning(path, "socket path too long") from None
            raise ConnectionLost(f"connect to {path}: {error}", path) from None
        try:
            protocol.transport.write(_wire.hello_frame(self._client_name))
            try:
                reply = await asyncio.wait_for(asyncio.shield(protocol.hello), wait)
            except asyncio.TimeoutError:
                raise TaskpoolError(ErrorCode.WAIT_TIMEOUT,
                                    f"taskpoold at {path} did not answer hello in time") from None
            hello = _wire.parse_hello_reply(reply)
        except BaseException:
            protocol.transport.close()
            raise
        protocol.session = self._session = _wire.Session(path, hello)
        self._protocol = protocol

    async def close(self):
        """Closes the connection; pending tasks end with TaskError CANCELLED
        for whoever awaits them, later calls raise ConnectionLost."""
        if self._protocol is None:
            return
        self._session.fail(
            TaskError(ErrorCode.CANCELLED, "the client was closed before the task finished"),
            later=ConnectionLost("the client is closed", self.socket_path))
        self._protocol.transport.close()
        await self._protocol.closed

    @property
    def connected(self):
        return self._session is not None and self._session.broken is None

    @property
    def server_info(self):
        """The daemon's ``taskpool.v1.HelloReply``."""
        return self._require().hello

    # ------------------------------------------------------------ plumbing

    def _require(self):
        if self._session is None:
            raise RuntimeError("taskpool.aio.Client is not connected: await connect() "
                               "or use `async with`")
        return self._session

    async def _send(self, frames):
        if frames and self._session.broken is None:
            self._protocol.transport.write(frames[0] if len(frames) == 1 else b"".join(frames))
            await self._protocol.drain()

    def _send_nowait(self, frames):
        if frames and self._session is not None and self._session.broken is None:
            self._protocol.transport.write(b"".join(frames))

    def _window(self, chunksize, window):
        return window_size(chunksize, window, self._session.hello.workers)

    async def _request(self, request_frame):
        session = self._require()
        future = asyncio.get_running_loop().create_future()

        def on_answer(message):
            if future.done():
                return
            if isinstance(message, BaseException):
                future.set_exception(message)
            else:
                future.set_result(message)

        # No await between the two: answers pair with requests in order.
        session.register_request(on_answer)
        self._protocol.transport.write(request_frame)
        wait = REQUEST_TIMEOUT if self.timeout is None else self.timeout
        try:
            return await asyncio.wait_for(asyncio.shield(future), wait)
        except asyncio.TimeoutError:
            raise TimeoutError(f"taskpoold did not answer within {wait} s") from None

    def _cancel_on_cancel(self, future):
        def done(f):
            if f.cancelled() and f.task_id is not None:
                self._send_nowait([_wire.cancel_frame(f.task_id, False)])
        future.add_done_callback(done)

    # ------------------------------------------------------------ calls

    async def apply_async(self, function, payload, callback=None, error_callback=None,
                          **options):
        """Submits one task; returns its :class:`TaskFuture` once sent.
        `callback(output)` / `error_callback(exception)` run on the loop
        when it completes."""
        session = self._require()
        _check_function(function)
        opts = _wire.Options(**options)
        data = _wire.to_payload(payload)
        future = TaskFuture(loop=asyncio.get_running_loop())
        if callback is not None or error_callback is not None:
            def chained(f):
                if f.cancelled():
                    return
                if f.exception() is None:
                    if callback is not None:
                        callback(f.result())
                elif error_callback is not None:
                    error_callback(f.exception())
            future.add_done_callback(chained)
        try:
            future.task_id, frames = session.encode_tasks(function, [data], opts,
                                                          [future._complete])
        except TaskpoolError as error:
            future._complete(error)
            return future
        self._cancel_on_cancel(future)
        await self._send(frames)
        return future

    async def apply(self, function, payload, **options):
        """Runs `function` on `payload` and returns its output; raises
        TaskError, ConnectionLost, or TimeoutError when the client's
        timeout passes (the task keeps running, as with the threaded
        client). Cancelling the coroutine cancels the task."""
        future = await self.apply_async(function, payload, **options)
        if self.timeout is None:
            return await future  # a cancelled await cancels the future
        try:
            done, _ = await asyncio.wait((future,), timeout=self.timeout)
        except asyncio.CancelledError:
            future.cancel()
            raise
        if not done:
            raise TimeoutError(f"task not done within {self.timeout} s")
        return future.result()

    async def cancel(self, task, kill=False):
        """Cancels a task (a :class:`TaskFuture` or its id), as
        :meth:`taskpool.Client.cancel`; its future still completes, with
        TaskError CANCELLED unless it finished first."""
        self._require()
        task_id = task.task_id if isinstance(task, TaskFuture) else task
        if task_id is not None:
            await self._send([_wire.cancel_frame(task_id, kill)])

    async def map(self, function, iterable, chunksize=1, *, return_exceptions=False,
                  window=None, **options):
        """Outputs of `function` over every item of an iterable, in input
        order; as :meth:`taskpool.Client.map` (chunks, window, errors)."""
        session = self._require()
        chunksize, opts, inputs = _map_arguments(function, chunksize, iterable, options)
        if not inputs:
            return []
        window = MapWindow(len(inputs), chunksize, self._window(chunksize, window),
                           return_exceptions)
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        wake = asyncio.Event()

        def on_chunk(first, outcomes, first_error):
            if window.settle(first, outcomes, first_error):
                wake.set()

        finished = False
        try:
            while True:
                while (step := window.step()) is WAIT:
                    wake.clear()
                    wait = None if deadline is None else deadline - time.monotonic()
                    if wait is not None and wait <= 0:
                        raise window.timeout_error(self.timeout)
                    await _wait_for(wake, wait)
                if step is DONE:
                    finished = True
                    return window.results
                frames = []
                try:
                    for first in window.claim():
                        ids, chunk_frames = session.encode_items(
                            function, window.inputs_of(inputs, first), opts,
                            lambda outcomes, error, first=first: on_chunk(first, outcomes, error))
                        window.sent(first, ids)
                        frames += chunk_frames
                finally:
                    # Registered chunks are sent even if a later item is not
                    # a payload, and then cancelled below.
                    self._send_nowait(frames)
                await self._protocol.drain()
        finally:
            if not finished:
                self._send_nowait([_wire.cancel_frame(i, False)
                                   for i in window.unfinished_ids()])

    def imap(self, function, iterable, chunksize=1, *, return_exceptions=False,
             window=None, **options):
        """``async for output in client.imap(...)``: outputs in input order,
        inputs (an iterable or an async iterable) pulled lazily, at most
        `window` items submitted and not yet consumed."""
        return AsyncResultIterator(self, function, iterable, chunksize, window,
                                   _wire.Options(**options), True, return_exceptions)

    def imap_unordered(self, function, iterable, chunksize=1, *, return_exceptions=False,
                       window=None, **options):
        """As :meth:`imap`, outputs in completion order."""
        return AsyncResultIterator(self, function, iterable, chunksize, window,
                                   _wire.Options(**options), False, return_exceptions)

    async def status(self):
        """The daemon's ``taskpool.v1.StatusReply``."""
        return (await self._request(_wire.status_frame())).status

    async def ping(self):
        """A round trip to the daemon; returns its duration in seconds."""
        nonce = next(self._nonce)
        start = time.monotonic()
        reply = await self._request(_wire.ping_frame(nonce))
        if reply.pong.nonce != nonce:
            raise ConnectionLost(f"taskpoold answered ping {nonce} with pong {reply.pong.nonce}",
                                 self.socket_path)
        return time.monotonic() - start


class AsyncResultIterator:
    """The outputs of :meth:`Client.imap` / :meth:`Client.imap_unordered`,
    for ``async for``. ``await it.aclose()`` (or ``async with``) stops
    submitting and cancels what is still queued."""

    def __init__(self, client, function, iterable, chunksize, window, options, ordered,
                 return_exceptions):
        self._client = client
        self._session = client._require()
        self._function = _check_function(function)
        chunksize = _check_chunksize(chunksize)
        self._chunks = ReadyChunks(chunksize, client._window(chunksize, window), ordered)
        self._options = options
        self._return_exceptions = return_exceptions
        if hasattr(iterable, "__aiter__"):
            self._ainputs, self._inputs = iterable.__aiter__(), None
        else:
            self._ainputs, self._inputs = None, iter(iterable)
        self._closed = False
        self._buffer = collections.deque()
        self._wake = asyncio.Event()

    def __aiter__(self):
        return self

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.aclose()

    async def __anext__(self):
        if self._closed:
            raise StopAsyncIteration
        if not self._buffer:
            await self._next_chunk()
        value = self._buffer.popleft()
        self._chunks.yielded()
        if ends_iteration(value, self._return_exceptions):
            raise value
        return value

    async def aclose(self):
        if self._closed:
            return
        self._closed = True
        unfinished = self._chunks.close()
        await self._client._send([_wire.cancel_frame(i, False) for i in unfinished])

    async def _take(self):
        size = self._chunks.chunksize
        if self._inputs is not None:
            return list(itertools.islice(self._inputs, size))
        items = []
        while len(items) < size:
            try:
                items.append(await self._ainputs.__anext__())
            except StopAsyncIteration:
                break
        return items

    async def _fill(self):
        frames = []
        try:
            while self._chunks.has_room():
                items = await self._take()
                first = self._chunks.start(items)
                if first is None:
                    break
                ids, chunk_frames = self._session.encode_items(
                    self._function, items, self._options,
                    lambda outcomes, error, first=first: self._on_chunk(first, outcomes))
                self._chunks.sent(first, ids)
                frames += chunk_frames
        finally:
            await self._client._send(frames)

    async def _next_chunk(self):
        timeout = self._client.timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        await self._fill()
        while (outcomes := self._chunks.take()) is None:
            if self._chunks.outstanding == 0:
                raise StopAsyncIteration
            self._wake.clear()
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                raise TimeoutError(f"no result within {timeout} s")
            await _wait_for(self._wake, wait)
        self._buffer.extend(outcomes)

    def _on_chunk(self, first, outcomes):
        self._chunks.settle(first, outcomes)
        self._wake.set()


async def _wait_for(event, timeout):
    """Waits until `event` is set or `timeout` seconds (None: forever) pass."""
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except asyncio.TimeoutError:
        pass
