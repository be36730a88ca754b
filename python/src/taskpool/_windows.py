"""The bookkeeping of map and imap, shared by the threaded and the asyncio
client.

Both clients submit a bounded window of chunks and settle them as results
arrive; they differ only in how they wait (a condition variable, an
asyncio event) and lock (a lock, the event loop's single thread). These
classes hold the state and the decisions and do neither: the caller holds
its lock around every call.
"""
import collections

from .errors import ConnectionLost

# What MapWindow.step() says the submitting side should do next.
SUBMIT, WAIT, DONE = "submit", "wait", "done"


def default_window(chunksize, workers):
    """Inputs in flight at once for map/imap when not given: sixteen chunks
    per worker. Bounded, so results held back for ordering cannot grow
    without limit; deep enough that the workers never wait for this
    process, which may be descheduled or busy decoding. That is four times
    the C++ client's window: on a loaded 2-core machine, a map of 100k echo
    items at chunksize 64 made a quarter of the context switches and used
    about a fifth less CPU than with four chunks per worker."""
    return 16 * chunksize * max(1, workers)


def window_size(chunksize, window, workers):
    """The window a map or imap uses: `window` items if given (checked),
    else default_window(); never less than one chunk."""
    if window is None:
        window = default_window(chunksize, workers)
    elif not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be a positive int, not {window!r}")
    return max(window, chunksize)


def ends_iteration(value, return_exceptions):
    """Whether an outcome taken from a result iterator is raised rather
    than yielded: every error unless `return_exceptions`, and a lost
    connection always."""
    return isinstance(value, BaseException) and not (
        return_exceptions and not isinstance(value, ConnectionLost))


class MapWindow:
    """One ``map`` over `total` inputs: the results in input order, how
    many are in flight and done, and the first error that ends it."""

    def __init__(self, total, chunksize, limit, return_exceptions):
        self.total = total
        self.chunksize = chunksize
        self.limit = limit
        self.return_exceptions = return_exceptions
        # Refill in batches of half the window (whole chunks): fewer
        # wake-ups of the submitting side, and half a window still keeps
        # every worker busy.
        self.refill = max(chunksize, (limit // 2) // chunksize * chunksize)
        self.results = [None] * total
        self.in_flight = 0
        self.done = 0
        self.error = None
        self.position = 0  # the first input not yet submitted
        self.chunk_ids = {}  # first input -> task ids, while unfinished

    def step(self):
        """SUBMIT when there is room for the next batch of chunks, DONE when
        every result is in, else WAIT; raises the error that ends the map."""
        if self.error is not None:
            raise self.error
        if self.position < self.total and (
                self.in_flight == 0 or
                self.limit - self.in_flight >= min(self.refill, self.total - self.position)):
            return SUBMIT
        return DONE if self.done == self.total else WAIT

    def claim(self):
        """The first inputs of the chunks to submit now, counted in flight."""
        room = max(self.limit - self.in_flight, self.chunksize)
        take = min(self.total - self.position, room // self.chunksize * self.chunksize)
        first = self.position
        self.in_flight += take
        self.position += take
        return range(first, first + take, self.chunksize)

    def inputs_of(self, inputs, first):
        return inputs[first:first + self.chunksize]

    def sent(self, first, ids):
        """The chunk at `first` is on its way as tasks `ids`."""
        if ids:
            self.chunk_ids[first] = ids

    def settle(self, first, outcomes, first_error):
        """A chunk's outcomes are in. Returns whether the submitting side
        should be woken (room for a refill, the end, or an error)."""
        count = len(outcomes)
        self.results[first:first + count] = outcomes
        self.in_flight -= count
        self.done += count
        self.chunk_ids.pop(first, None)
        if first_error is not None and self.error is None:
            if isinstance(first_error, ConnectionLost) or not self.return_exceptions:
                self.error = first_error
        return (self.limit - self.in_flight >= self.refill or self.done == self.total
                or self.error is not None)

    def unfinished_ids(self):
        """The tasks still queued or running, to cancel when giving up."""
        return [i for ids in self.chunk_ids.values() for i in ids]

    def timeout_error(self, timeout):
        return TimeoutError(f"map of {self.total} items not done within {timeout} s "
                            f"({self.done} done)")


class ReadyChunks:
    """The chunks of an ``imap`` (`ordered`) or ``imap_unordered``: which
    are submitted and not yet yielded, and which have results waiting."""

    def __init__(self, chunksize, window, ordered):
        self.chunksize = chunksize
        self.window = window
        self.ordered = ordered
        self.submitted = 0    # inputs submitted
        self.outstanding = 0  # submitted and not yet yielded
        self.exhausted = False  # the inputs have ended (or the iterator closed)
        self._expected = 0    # ordered: first input of the next chunk to yield
        self._ready = {}      # ordered: first input -> outcomes
        self._ready_queue = collections.deque()  # unordered: outcomes lists
        self.chunk_ids = {}   # first input -> task ids, while unfinished

    def has_room(self):
        """Whether another chunk may be submitted (always one when nothing
        is outstanding)."""
        return not self.exhausted and (
            self.outstanding == 0 or self.outstanding + self.chunksize <= self.window)

    def start(self, items):
        """Counts a chunk of `items` (pulled from the inputs) as submitted;
        returns its first input's number, or None when the inputs ended."""
        if len(items) < self.chunksize:
            self.exhausted = True
        if not items:
            return None
        first = self.submitted
        self.submitted += len(items)
        self.outstanding += len(items)
        return first

    def sent(self, first, ids):
        if ids:
            self.chunk_ids[first] = ids

    def settle(self, first, outcomes):
        """A chunk's outcomes are in. Returns whether the iterating side
        waits for them: it waits only for the next chunk in order."""
        self.chunk_ids.pop(first, None)
        if self.ordered:
            self._ready[first] = outcomes
            return first == self._expected
        self._ready_queue.append(outcomes)
        return True

    def take(self):
        """The next chunk's outcomes to yield, or None if not ready yet."""
        if self.ordered:
            outcomes = self._ready.pop(self._expected, None)
        else:
            outcomes = self._ready_queue.popleft() if self._ready_queue else None
        if outcomes is not None:
            self._expected += len(outcomes)
        return outcomes

    def yielded(self):
        self.outstanding -= 1

    def close(self):
        """Stops submitting; returns the tasks still unfinished, to cancel."""
        self.exhausted = True
        unfinished = [i for ids in self.chunk_ids.values() for i in ids]
        self.chunk_ids.clear()
        return unfinished
