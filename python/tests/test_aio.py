"""taskpool.aio: the same calls as coroutines."""
import asyncio
import functools
import os
import signal

import pytest

import taskpool
import taskpool.aio
from taskpool import ErrorCode, TaskError

from conftest import BUSY, EVENT_BOUND, FOREVER_MS


def run(coroutine_function):
    """Runs an `async def` test body in a fresh event loop, bounded."""
    @functools.wraps(coroutine_function)
    def wrapper(*args, **kwargs):
        return asyncio.run(asyncio.wait_for(coroutine_function(*args, **kwargs),
                                            EVENT_BOUND * 4))
    return wrapper


async def wait_until(predicate, what):
    """The asyncio form of conftest.wait_until: awaits predicate()."""
    loop = asyncio.get_running_loop()
    until = loop.time() + EVENT_BOUND
    while True:
        value = await predicate()
        if value:
            return value
        if loop.time() > until:
            pytest.fail(f"timed out after {EVENT_BOUND} s waiting for {what}")
        await asyncio.sleep(0.01)


async def wait_busy(client, count, function="sleep"):
    async def busy():
        workers = [w for w in (await client.status()).workers
                   if w.worker_state == BUSY and w.current_function == function]
        return workers if len(workers) >= count else None
    return await wait_until(busy, f"{count} worker(s) running {function}")


@run
async def test_apply_map_and_streams(daemon):
    async with taskpool.aio.Client(daemon.socket) as client:
        assert await client.apply("echo", "aio") == b"aio"
        assert await client.apply("is_prime", b"454577") == b"true"
        inputs = [str(i).encode() for i in range(3000)]
        for chunksize in (1, 7, 64):
            assert await client.map("echo", inputs, chunksize=chunksize, window=100) == inputs
        assert [x async for x in client.imap("echo", inputs, chunksize=5)] == inputs
        outputs = [x async for x in client.imap_unordered("echo", iter(inputs), chunksize=3)]
        assert sorted(outputs) == sorted(inputs)
        assert await client.map("echo", []) == []


@run
async def test_imap_takes_an_async_iterable_lazily(daemon):
    pulled = []

    async def inputs():
        for i in range(300):
            pulled.append(i)
            yield str(i)

    async with taskpool.aio.Client(daemon.socket) as client:
        stream = client.imap("echo", inputs(), chunksize=4, window=16)
        assert await stream.__anext__() == b"0"
        assert len(pulled) <= 16
        rest = [x async for x in stream]
        assert rest == [str(i).encode() for i in range(1, 300)]


@run
async def test_many_concurrent_calls(daemon):
    async with taskpool.aio.Client(daemon.socket) as client:
        outputs = await asyncio.gather(*(client.apply("echo", str(i)) for i in range(500)))
        assert outputs == [str(i).encode() for i in range(500)]


@run
async def test_errors(daemon):
    async with taskpool.aio.Client(daemon.socket) as client:
        with pytest.raises(TaskError) as error:
            await client.apply("fail", "aio broke")
        assert error.value.code == ErrorCode.TASK_FAILED and error.value.message == "aio broke"
        with pytest.raises(TaskError):
            await client.map("is_prime", ["7", "bad"], chunksize=2)
        outcomes = await client.map("is_prime", ["7", "bad"], return_exceptions=True)
        assert outcomes[0] == b"true" and outcomes[1].code == ErrorCode.INVALID_ARGUMENT
        with pytest.raises(TaskError):
            async for _ in client.imap("is_prime", ["bad"]):
                pass
        seen = []
        future = await client.apply_async("fail", "cb", error_callback=seen.append)
        with pytest.raises(TaskError):
            await future
        await asyncio.sleep(0)  # done callbacks run on the loop's next turn
        assert seen and seen[0].message == "cb"
        with pytest.raises(TaskError) as error:
            await client.apply("crash", "segv")
        assert error.value.code == ErrorCode.WORKER_DIED


@run
async def test_status_ping_and_server_info(daemon):
    client = await taskpool.aio.connect(daemon.socket)
    try:
        assert client.server_info.workers == 2
        pings = await asyncio.gather(*(client.ping() for _ in range(20)))
        assert all(p >= 0 for p in pings)
        status = await client.status()
        assert status.daemon_pid == daemon.pid
    finally:
        await client.close()
    assert not client.connected
    with pytest.raises(taskpool.ConnectionLost):
        await client.apply("echo", "closed")


@run
async def test_daemon_not_running(tmp_path):
    missing = str(tmp_path / "nobody.sock")
    with pytest.raises(taskpool.DaemonNotRunning, match="nobody.sock"):
        await taskpool.aio.connect(missing)


@run
async def test_cancel_and_timeouts(start_daemon):
    daemon = start_daemon(1)
    async with taskpool.aio.Client(daemon.socket) as client:
        running = await client.apply_async("sleep", FOREVER_MS)
        await wait_busy(client, 1)
        queued = await client.apply_async("echo", "never")
        await client.cancel(queued)
        with pytest.raises(TaskError) as error:
            await queued
        assert error.value.code == ErrorCode.CANCELLED
        await client.cancel(running, kill=True)
        with pytest.raises(TaskError) as error:
            await running
        assert error.value.code == ErrorCode.CANCELLED
        with pytest.raises(TaskError) as error:
            await client.apply("sleep", FOREVER_MS, timeout=0.2)
        assert error.value.code == ErrorCode.TIMEOUT


@run
async def test_cancelling_the_awaiting_coroutine_cancels_the_task(start_daemon):
    daemon = start_daemon(1)
    async with taskpool.aio.Client(daemon.socket) as client:
        blocker = await client.apply_async("sleep", FOREVER_MS)
        await wait_busy(client, 1)
        waiting = asyncio.ensure_future(client.apply("echo", "queued"))

        async def submitted():
            return (await client.status()).queue_depth == 1
        await wait_until(submitted, "the echo to be queued")
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting

        async def cancelled_in_daemon():
            status = await client.status()
            return status.queue_depth == 0 and any(
                f.name == "echo" and f.cancelled > 0
                for f in status.functions)
        await wait_until(cancelled_in_daemon, "the daemon to cancel the queued echo")
        await client.cancel(blocker, kill=True)
        with pytest.raises(TaskError):
            await blocker


@run
async def test_a_daemon_killed_mid_map_fails_every_pending_call(daemon):
    async with taskpool.aio.Client(daemon.socket) as client, \
            taskpool.aio.Client(daemon.socket) as watcher:
        futures = [await client.apply_async("sleep", FOREVER_MS) for _ in range(3)]
        mapping = asyncio.ensure_future(client.map("sleep", [FOREVER_MS] * 12, chunksize=2,
                                                window=12))

        async def streaming():
            return [x async for x in client.imap_unordered("sleep", [FOREVER_MS] * 4)]
        stream = asyncio.ensure_future(streaming())
        await wait_busy(watcher, 2)

        async def all_submitted():
            # The daemon counts a chunk as its items: 3 futures, the
            # stream's 4 inputs and the map's window of 12; without the
            # stream's it would be 15, without the map's 7.
            return (await watcher.status()).tasks_submitted >= 19
        await wait_until(all_submitted, "the calls to be submitted")
        os.kill(daemon.pid, signal.SIGKILL)
        daemon.process.wait()
        for future in futures:
            with pytest.raises(taskpool.ConnectionLost):
                await asyncio.wait_for(future, EVENT_BOUND)
        with pytest.raises(taskpool.ConnectionLost):
            await asyncio.wait_for(mapping, EVENT_BOUND)
        with pytest.raises(taskpool.ConnectionLost):
            await asyncio.wait_for(stream, EVENT_BOUND)
        assert not client.connected
        with pytest.raises(taskpool.ConnectionLost):
            await client.apply("echo", "x")


@run
async def test_the_clients_timeout_bounds_the_wait_not_the_task(start_daemon):
    daemon = start_daemon(1)
    async with taskpool.aio.Client(daemon.socket, timeout=0.2) as client:
        with pytest.raises(TimeoutError):
            await client.apply("sleep", FOREVER_MS)
        # Still running; its worker's status names its id.
        [worker] = await wait_busy(client, 1)
        await client.cancel(worker.current_task_id, kill=True)

        async def idle():
            return not [w for w in (await client.status()).workers if w.worker_state == BUSY]
        await wait_until(idle, "the killed task's worker to be idle")
        assert await client.apply("echo", "x") == b"x"
