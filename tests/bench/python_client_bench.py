#!/usr/bin/python3
"""The taskpool Python client's side of tests/bench/run (python/): the same
echo map as pool_bench.py's, through taskpool.Client against a running
taskpoold. One JSON line, like pool_bench.py:

  python_client_bench.py map socket=PATH items=100000 chunksize=64 size=1

The driver runs it with PYTHONPATH at the build's package. The client is
connected before timing starts, as the Pool is created before it.
"""
import json
import sys
import time

import taskpool


def main():
    workload = sys.argv[1]
    if workload != "map":
        raise SystemExit(f"unknown workload {workload!r}")
    args = dict(arg.split("=", 1) for arg in sys.argv[2:])
    items = int(args.get("items", 100000))
    size = int(args.get("size", 1))
    chunksize = int(args.get("chunksize", 64))
    inputs = [b"x" * size] * items
    with taskpool.Client(args["socket"]) as client:
        client.apply("echo", b"x")
        start = time.monotonic()
        outputs = client.map("echo", inputs, chunksize=chunksize)
        seconds = time.monotonic() - start
    if outputs != inputs:
        raise SystemExit("python client map: wrong outputs")
    print(json.dumps({"workload": "map", "items": items, "size": size,
                      "chunksize": chunksize, "seconds": seconds,
                      "items_per_s": items / seconds}), flush=True)


if __name__ == "__main__":
    main()
