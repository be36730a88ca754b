"""taskpool: a Python client for taskpoold, multiprocessing.Pool as a
system service.

::

    import taskpool

    with taskpool.Client() as client:  # socket from $TASKPOOL_SOCKET or the default
        numbers = ["222377", "3334", "454577"]
        for n, verdict in zip(numbers, client.map("is_prime", numbers, chunksize=64)):
            print(n, verdict.decode())

:class:`Client` is one connection to the daemon, safe to share between
threads, with Pool's calls: ``apply``, ``apply_async`` (a
``concurrent.futures.Future``), ``map``, ``imap``, ``imap_unordered``, and
``cancel``, ``status``, ``ping``. :mod:`taskpool.aio` has the same calls as
coroutines for asyncio. Errors are exceptions: :class:`TaskError` for a
task that failed, :class:`ConnectionLost`, :class:`DaemonNotRunning`, all
:class:`TaskpoolError`. The wire protocol's generated messages are in
:mod:`taskpool.v1`.
"""
from ._version import __version__
from .client import Client, ResultIterator, TaskFuture
from .errors import (ConnectionLost, DaemonNotRunning, ErrorCode, TaskError,
                     TaskpoolError)

__all__ = [
    "Client", "ConnectionLost", "DaemonNotRunning", "ErrorCode", "ResultIterator",
    "TaskError", "TaskFuture", "TaskpoolError", "__version__",
]
