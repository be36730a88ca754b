#!/usr/bin/python3
"""Runs every benchmark workload on taskpool and on multiprocessing.Pool,
alternating, several repetitions, and writes results.md (+ results.png).
Called by tests/bench/run, which builds the binaries first."""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

from daemon import Daemon, pss_kib
import cluster_bench
import report

HERE = os.path.dirname(os.path.abspath(__file__))

# payload_items: (payload bytes, chunksize) -> items mapped. lat_1mib_count:
# calls of the 1 MiB round trip. cli_items: stdin lines for `taskpool map`.
FULL = dict(reps=5, lat_count=2000, lat_1mib_count=200, map_items=20000, conc_count=200,
            primes=200, payload_items={(16, 16): 20000, (1024, 16): 20000,
                                       (65536, 16): 2000, (1 << 20, 16): 200,
                                       (16 << 20, 16): 24, (65536, 1): 2000,
                                       (1 << 20, 1): 200, (16 << 20, 1): 24},
            queued=[0, 10_000, 100_000], startup_reps=5, py_client_items=100_000,
            cli_items=100_000, cluster_lat_count=1000, cluster_map_items=20000)
QUICK = dict(reps=1, lat_count=100, lat_1mib_count=10, map_items=1000, conc_count=10,
             primes=20, payload_items={(16, 16): 500, (1024, 16): 500,
                                       (65536, 16): 100, (1 << 20, 16): 10,
                                       (16 << 20, 16): 2, (65536, 1): 100,
                                       (1 << 20, 1): 10, (16 << 20, 1): 2},
             queued=[0, 1000], startup_reps=1, py_client_items=2000,
             cli_items=2000, cluster_lat_count=50, cluster_map_items=500)


def run_json(command, env=None):
    """Runs one benchmark process; returns its JSON lines as dicts."""
    out = subprocess.run(command, check=True, capture_output=True, text=True,
                         env=env).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


class Runner:
    def __init__(self, build_dir, workers, params):
        self.bench = os.path.join(build_dir, "tests/bench/taskpool_bench")
        self.pingpong = os.path.join(build_dir, "tests/bench/bench_pingpong")
        self.taskpoold = os.path.join(build_dir, "src/daemon/taskpoold")
        self.cli = os.path.join(build_dir, "src/cli/taskpool")
        # The interpreter running this driver: tests/bench/run picks
        # Debian's /usr/bin/python3.
        self.pool = [sys.executable, os.path.join(HERE, "pool_bench.py")]
        # The Python client (python/), as the build assembles it.
        self.py_client = [sys.executable, os.path.join(HERE, "python_client_bench.py")]
        self.py_client_path = os.path.join(build_dir, "python/lib")
        self.workers = workers
        self.p = params
        self.samples = {}  # (row key, metric) -> [values over repetitions]

    def record(self, key, result, *metrics):
        for metric in metrics:
            self.samples.setdefault((key, metric), []).append(result[metric])

    def tp(self, daemon, workload, **args):
        return run_json([self.bench, workload, f"socket={daemon.socket}",
                         *(f"{k}={v}" for k, v in args.items())])[0]

    def tp_latency(self, daemon, size, count):
        """The latency workload, with the context switches per call of the
        client (its own count) and of the daemon (supervisor and workers,
        around the whole run: that includes the warm-up calls)."""
        before = daemon.context_switches()
        result = self.tp(daemon, "latency", size=size, count=count)
        result["daemon_switches_per_call"] = (
            (daemon.context_switches() - before) / result["calls"])
        self.record(("switches", size), result, "client_switches_per_call",
                    "daemon_switches_per_call")
        return result

    def cli_map(self, daemon, items):
        """`taskpool map --chunksize 1 echo -` over `items` stdin lines,
        output to /dev/null, timed from start to exit."""
        lines = "".join(f"{i}\n" for i in range(items))
        start = time.monotonic()
        subprocess.run([self.cli, "--socket", daemon.socket, "map", "--chunksize", "1",
                        "--progress", "never", "--no-tag", "echo", "-"],
                       input=lines, text=True, stdout=subprocess.DEVNULL, check=True)
        return {"items_per_s": items / (time.monotonic() - start)}

    def py(self, workload, **args):
        return run_json([*self.pool, workload, f"workers={self.workers}",
                         *(f"{k}={v}" for k, v in args.items())])[0]

    def py_client_map(self, daemon, **args):
        env = dict(os.environ, PYTHONPATH=self.py_client_path)
        return run_json([*self.py_client, "map", f"socket={daemon.socket}",
                         *(f"{k}={v}" for k, v in args.items())], env=env)[0]

    def pair(self, rep, key, tp_call, py_call, *metrics):
        """Runs both sides, taskpool first on even repetitions, Pool first on
        odd ones, so neither always gets the warmer machine."""
        calls = [("taskpool", tp_call), ("pool", py_call)]
        for side, call in (calls if rep % 2 == 0 else calls[::-1]):
            if call is not None:
                self.record((key, side), call(), *metrics)

    def comparisons(self, rep, daemon, daemon1, numbers):
        p = self.p
        for size in (1, 1024, 65536, 1 << 20):
            count = p["lat_1mib_count"] if size == 1 << 20 else p["lat_count"]
            self.record(("latency", size, "ref"),
                        run_json([self.pingpong, f"size={size}", f"count={count}"])[0],
                        "p50_us", "p90_us", "p99_us", "switches_per_round_trip")
            self.pair(rep, ("latency", size),
                      lambda: self.tp_latency(daemon, size, count),
                      lambda: self.py("latency", size=size, count=count),
                      "p50_us", "p90_us", "p99_us")
        for chunk in (1, 64, 1024):
            self.pair(rep, ("map", chunk),
                      lambda: self.tp(daemon, "map", items=p["map_items"], chunksize=chunk),
                      lambda: self.py("map", items=p["map_items"], chunksize=chunk),
                      "items_per_s")
        # map_outputs, the same maps without a TaskResult per item; beside
        # the Pool.map of the rows above.
        for chunk in (64, 1024):
            self.record(("map_outputs", chunk),
                        self.tp(daemon, "map", items=p["map_items"], chunksize=chunk,
                                api="outputs"),
                        "items_per_s")
        # Issue 18: the Python client's map beside Pool.map, same items.
        if os.path.isdir(self.py_client_path):
            items = p["py_client_items"]
            self.pair(rep, ("py_client_map", 64),
                      lambda: self.py_client_map(daemon, items=items, chunksize=64),
                      lambda: self.py("map", items=items, chunksize=64),
                      "items_per_s")
        elif rep == 0:
            print(f"bench: no Python client in {self.py_client_path} "
                  "(TASKPOOL_PYTHON=OFF?); its row is left out", file=sys.stderr)
        # Issue 12: the CLI's map against the library's and Pool.map, the
        # same number of items at chunksize 1.
        items = p["cli_items"]
        self.record(("cli_map", "library"),
                    self.tp(daemon, "map", items=items, chunksize=1), "items_per_s")
        self.pair(rep, ("cli_map",),
                  lambda: self.cli_map(daemon, items),
                  lambda: self.py("map", items=items, chunksize=1),
                  "items_per_s")
        for (size, chunk), items in p["payload_items"].items():
            self.pair(rep, ("payload", size, chunk),
                      lambda: self.tp(daemon, "map", items=items, size=size, chunksize=chunk),
                      lambda: self.py("map", items=items, size=size, chunksize=chunk),
                      "mib_per_s")
        for clients in (1, 4, 16, 64):
            self.pair(rep, ("concurrent", clients),
                      lambda: self.tp(daemon, "concurrent", clients=clients,
                                      count=p["conc_count"]),
                      lambda: self.py("concurrent", clients=clients,
                                      count=p["conc_count"]),
                      "p50_us", "p99_us")
        # Primes: the in-process references, then both pools, each with the
        # chunksize Pool.map picks by default (len / (4 x workers), rounded
        # up; 25 for 200 numbers on 2 workers).
        chunksize = -(-p["primes"] // (4 * self.workers))
        for mode, threads in (("serial", 1), ("threads", self.workers)):
            self.record(("primes", mode), run_json(
                [self.bench, "primes", f"file={numbers}", f"mode={mode}",
                 f"threads={threads}"])[0], "seconds")
        self.record(("primes", "taskpool1"),
                    self.tp(daemon1, "primes", file=numbers, mode="taskpool",
                            chunksize=chunksize),
                    "seconds")
        self.pair(rep, ("primes", "N"),
                  lambda: self.tp(daemon, "primes", file=numbers, mode="taskpool",
                                  chunksize=chunksize),
                  lambda: self.py("primes", file=numbers, chunksize=chunksize),
                  "seconds")

    def startup(self, rep):
        self.pair(rep, ("startup",),
                  lambda: run_json([self.bench, "startup", f"daemon={self.taskpoold}",
                                    f"workers={self.workers}"])[0],
                  lambda: self.py("startup"), "first_result_ms")

    def footprint(self, daemon):
        """Idle supervisor RSS and per-worker PSS after one task each."""
        self.tp(daemon, "latency", size=1, count=10)
        workers = daemon.worker_pids()
        self.record(("footprint", "taskpool"), {
            "parent_rss_kib": daemon.status_kib("VmRSS"),
            "worker_pss_kib": statistics.mean(pss_kib(w) for w in workers)},
            "parent_rss_kib", "worker_pss_kib")
        self.record(("footprint", "pool"), self.py("footprint"),
                    "parent_rss_kib", "worker_pss_kib")

    def queued_rss(self):
        """Supervisor RSS with tasks held in the queue behind busy workers."""
        capacity = max(self.p["queued"]) + 64
        for count in self.p["queued"]:
            daemon = Daemon(self.taskpoold, self.workers,
                            "--queue-capacity", capacity,
                            "--max-in-flight", capacity)
            try:
                fill = None
                if count:
                    fill = subprocess.Popen(
                        [self.bench, "fill", f"socket={daemon.socket}",
                         f"count={count}"],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                    json.loads(fill.stdout.readline())
                self.record(("queued", count), {
                    "rss_kib": daemon.status_kib("VmRSS"),
                    "anon_kib": daemon.status_kib("RssAnon")},
                    "rss_kib", "anon_kib")
                if fill:
                    fill.stdin.close()
                    fill.wait()
            finally:
                daemon.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--out", default=HERE)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-chart", action="store_true")
    parser.add_argument("--reps", type=int)
    args = parser.parse_args()

    params = dict(QUICK if args.quick else FULL)
    if args.reps:
        params["reps"] = args.reps
    workers = os.cpu_count()
    runner = Runner(os.path.abspath(args.build_dir), workers, params)
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="taskpool-bench-")
    numbers = os.path.join(work, "numbers.txt")
    rng = random.Random(20240607)  # fixed: the same list in every run
    with open(numbers, "w") as f:
        for _ in range(params["primes"]):
            f.write(f"{rng.randrange(10**12, 10**13)}\n")

    started = time.monotonic()
    daemon = Daemon(runner.taskpoold, workers)
    daemon1 = Daemon(runner.taskpoold, 1)
    try:
        runner.footprint(daemon)
        for rep in range(params["reps"]):
            print(f"bench: repetition {rep + 1}/{params['reps']}", file=sys.stderr)
            runner.comparisons(rep, daemon, daemon1, numbers)
    finally:
        daemon.stop()
        daemon1.stop()
    for rep in range(params["startup_reps"]):
        runner.startup(rep)
    runner.queued_rss()
    print("bench: cluster", file=sys.stderr)
    cluster_rows = cluster_bench.run(runner, workers)
    os.remove(numbers)
    os.rmdir(work)

    table = report.build_table(runner.samples, workers)
    text = report.markdown(table, quick=args.quick, workers=workers,
                           reps=params["reps"],
                           seconds=time.monotonic() - started,
                           analysis=os.path.join(HERE, "analysis.md"))
    text += "\n" + cluster_bench.markdown(cluster_rows, workers)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(text)
    print(text)
    if not args.no_chart:
        report.chart(table, os.path.join(args.out, "results.png"))


if __name__ == "__main__":
    main()
