"""The cluster section of the benchmark (taskpoold --cluster, issue 13):
what a task pays for going through NATS JetStream to another node.

Two nodes on one nats-server, all on loopback: the origin has one worker,
kept busy by a long `sleep`, so every task its clients submit is published
and runs on the other node; the same workloads run against the other node
directly give the one-machine figures they are compared with.

  remote round trip     echo 1 B, one at a time, through the origin
  local round trip      the same against the running node itself
  overhead per task     remote p50 - local p50
  remote map            map(echo) chunked through the origin, items/s
  local map             the same map on the running node itself
"""
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time

from daemon import Daemon


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class NatsServer:
    """nats-server -js on a free loopback port with a temporary store."""

    def __init__(self):
        self.directory = tempfile.mkdtemp(prefix="taskpool-bench-nats-")
        self.port = free_port()
        self.log = open(os.path.join(self.directory, "log"), "w+")
        self.process = subprocess.Popen(
            ["/usr/sbin/nats-server", "-js", "-a", "127.0.0.1", "-p", str(self.port),
             "-sd", os.path.join(self.directory, "store")],
            stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            self.log.seek(0)
            if "Server is ready" in self.log.read():
                return
            if self.process.poll() is not None:
                raise RuntimeError("nats-server exited at start")
            time.sleep(0.02)
        raise RuntimeError("nats-server not ready within 30 s")

    @property
    def url(self):
        return f"nats://127.0.0.1:{self.port}"

    def stop(self):
        self.process.kill()
        self.process.wait()
        self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def status(cli, daemon):
    out = subprocess.run([cli, "--socket", daemon.socket, "status", "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def wait_for(what, condition, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise RuntimeError(f"cluster bench: timed out waiting for {what}")


def run(runner, workers):
    """Returns {row name: [value per repetition]} and the unit of each."""
    p = runner.p
    cli = os.path.join(os.path.dirname(runner.taskpoold), "../cli/taskpool")
    nats = NatsServer()
    cluster = ["--cluster", nats.url, "--cluster-queue", "bench"]
    origin = Daemon(runner.taskpoold, 1, *cluster, "--node-name", "origin")
    runner_node = Daemon(runner.taskpoold, workers, *cluster, "--node-name", "runner")
    blocker = None
    rows = {}
    try:
        for node in (origin, runner_node):
            wait_for("two nodes", lambda node=node: len(
                status(cli, node).get("cluster", {}).get("nodes", [])) == 2)
        blocker = subprocess.Popen([cli, "--socket", origin.socket, "call", "sleep",
                                    "3600000"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        wait_for("the origin's worker busy", lambda: status(cli, origin)["running"] == 1)
        for rep in range(p["reps"]):
            remote = runner.tp(origin, "latency", size=1, count=p["cluster_lat_count"])
            local = runner.tp(runner_node, "latency", size=1, count=p["cluster_lat_count"])
            for name, result in (("remote round trip", remote), ("local round trip", local)):
                rows.setdefault((name, "p50 µs"), []).append(result["p50_us"])
                rows.setdefault((name, "p99 µs"), []).append(result["p99_us"])
            rows.setdefault(("overhead per remote task", "µs"), []).append(
                remote["p50_us"] - local["p50_us"])
            for name, daemon in (("remote map (chunksize 64)", origin),
                                 ("local map (chunksize 64)", runner_node)):
                result = runner.tp(daemon, "map", items=p["cluster_map_items"], chunksize=64)
                rows.setdefault((name, "items/s"), []).append(result["items_per_s"])
        published = status(cli, origin)["cluster"]["published"]
        if published == 0:
            raise RuntimeError("cluster bench: nothing went through the queue")
    finally:
        if blocker:
            blocker.kill()
            blocker.wait()
        # The blocker's sleep would hold the origin's drain: a second
        # SIGTERM cancels it (and the shared memory is still cleaned up).
        origin.process.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        origin.stop()
        runner_node.stop()
        nats.stop()
    return rows


def markdown(rows, workers):
    lines = [
        "## Cluster (taskpoold --cluster)",
        "",
        "Two nodes on one nats-server 2.9, loopback: the origin's only worker "
        "is busy, so each task goes through the work queue (JetStream "
        "publish, fetch by the other node, a result published back) and runs "
        f"on the other node ({workers} workers); *local* is the same workload "
        "against that node directly. Median, with min–max over the repetitions.",
        "",
        "| workload | metric | value |",
        "|---|---|---|",
    ]
    for (name, unit), values in rows.items():
        median = statistics.median(values)
        spread = f" ({min(values):.0f}–{max(values):.0f})" if len(values) > 1 else ""
        lines.append(f"| {name} | {unit} | {median:.0f}{spread} |")
    return "\n".join(lines) + "\n"
