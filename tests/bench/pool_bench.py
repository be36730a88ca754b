#!/usr/bin/python3
"""The Python side of tests/bench/run: the same workloads as taskpool_bench,
run on multiprocessing.Pool (standard library only). One workload per
invocation, one JSON line per result, same arguments:

  pool_bench.py latency    size=1 count=2000 workers=2
  pool_bench.py map        items=20000 chunksize=64 size=1 workers=2
  pool_bench.py concurrent clients=16 count=200 workers=2
  pool_bench.py primes     file=numbers.txt workers=2 chunksize=1
  pool_bench.py startup    workers=2
  pool_bench.py footprint  workers=2

The Pool is created before timing starts (except in `startup`), as
taskpoold is already running when taskpool_bench starts timing.
"""
import json
import multiprocessing
import sys
import threading
import time


def echo(data):
    return data


def is_prime(n):
    """The tutorial's trial division, as daemon/builtins.cc IsPrime."""
    if n < 2:
        return False
    if n < 4:
        return True
    if n % 2 == 0 or n % 3 == 0:
        return False
    i = 5
    while i * i <= n:
        if n % i == 0 or n % (i + 2) == 0:
            return False
        i += 6
    return True


def percentiles(samples_us):
    samples = sorted(samples_us)

    def rank(p):
        index = max(0, -(-len(samples) * p // 100) - 1)  # nearest rank
        return samples[min(int(index), len(samples) - 1)]

    return {"p50_us": rank(50), "p90_us": rank(90), "p99_us": rank(99)}


def emit(workload, **fields):
    print(json.dumps({"workload": workload, **fields}), flush=True)


def latency(pool, args):
    payload = b"x" * int(args.get("size", 1))
    count = int(args.get("count", 2000))
    warmup = count // 10 + 1
    samples = []
    for i in range(warmup + count):
        start = time.monotonic_ns()
        pool.apply_async(echo, (payload,)).get()
        if i >= warmup:
            samples.append((time.monotonic_ns() - start) / 1e3)
    emit("latency", size=len(payload), **percentiles(samples))


def map_items(pool, args):
    items = int(args.get("items", 20000))
    size = int(args.get("size", 1))
    chunksize = int(args.get("chunksize", 1))
    inputs = [b"x" * size] * items
    start = time.monotonic()
    pool.map(echo, inputs, chunksize=chunksize)
    seconds = time.monotonic() - start
    emit("map", items=items, size=size, chunksize=chunksize, seconds=seconds,
         items_per_s=items / seconds,
         mib_per_s=items * size / seconds / (1 << 20))


def concurrent(pool, args):
    """`clients` threads sharing the Pool, each calling one task at a time:
    the closest Pool analogue of independent clients of one daemon."""
    clients = int(args.get("clients", 4))
    count = int(args.get("count", 200))
    per_client = [[] for _ in range(clients)]

    def run(samples):
        for i in range(count + count // 10 + 1):
            start = time.monotonic_ns()
            pool.apply_async(echo, (b"x",)).get()
            if i > count // 10:
                samples.append((time.monotonic_ns() - start) / 1e3)

    threads = [threading.Thread(target=run, args=(s,)) for s in per_client]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    emit("concurrent", clients=clients,
         **percentiles([x for s in per_client for x in s]))


def primes(pool, args):
    with open(args["file"]) as f:
        numbers = [int(line) for line in f if line.strip()]
    start = time.monotonic()
    chunksize = int(args.get("chunksize", 1))
    found = sum(pool.map(is_prime, numbers, chunksize=chunksize))
    emit("primes", mode="pool", threads=int(args.get("workers", 2)),
         numbers=len(numbers), primes=found,
         seconds=time.monotonic() - start)


def startup(args):
    start = time.monotonic_ns()
    with multiprocessing.Pool(int(args.get("workers", 2))) as pool:
        pool.apply_async(echo, (b"x",)).get()
        emit("startup", first_result_ms=(time.monotonic_ns() - start) / 1e6)


def footprint(pool, args):
    """The Pool's parent RSS and each worker's PSS, idle after one task."""
    def kib(path, field):
        with open(path) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0
    workers = [kib(f"/proc/{child.pid}/smaps_rollup", "Pss")
               for child in multiprocessing.active_children()]
    emit("footprint", parent_rss_kib=kib("/proc/self/status", "VmRSS"),
         worker_pss_kib=sum(workers) / max(1, len(workers)))


def main():
    workload = sys.argv[1]
    args = dict(arg.split("=", 1) for arg in sys.argv[2:])
    if workload == "startup":
        return startup(args)
    handlers = {"latency": latency, "map": map_items,
                "concurrent": concurrent, "primes": primes,
                "footprint": footprint}
    with multiprocessing.Pool(int(args.get("workers", 2))) as pool:
        pool.apply_async(echo, (b"x",)).get()  # workers up before timing
        handlers[workload](pool, args)


if __name__ == "__main__":
    main()
