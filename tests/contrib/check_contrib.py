#!/usr/bin/env python3
"""Every metric the alert rules and the Grafana dashboard in contrib/ query
exists in a live daemon's /metrics.

Usage: check_contrib.py TASKPOOLD TASKPOOL RULES.yml DASHBOARD.json

Starts taskpoold on a private socket with --http-listen 127.0.0.1:0,
runs one task so the per-function series exist, scrapes /metrics and
compares. Exits 0 when every name is found, 1 (naming the missing ones)
otherwise.
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

# Series Prometheus makes itself, never in an exposition.
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
METRIC = re.compile(r"\b(taskpool_[a-z0-9_]+|process_[a-z0-9_]+)\b")


def queried_names(rules_path, dashboard_path):
    """(file, name) for each metric named in an expression."""
    with open(rules_path) as f:
        rules = yaml.safe_load(f)
    exprs = []
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert "alert" in rule and "expr" in rule, f"rule without alert/expr: {rule}"
            exprs.append((rules_path, str(rule["expr"])))
    with open(dashboard_path) as f:
        dashboard = json.load(f)
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            exprs.append((dashboard_path, variable["query"]))
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            exprs.append((dashboard_path, target["expr"]))
    names = set()
    for path, expr in exprs:
        for name in METRIC.findall(expr):
            names.add((os.path.basename(path), name))
    return names


def wait_for(predicate, what, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    sys.exit(f"check_contrib: timed out waiting for {what}")


def scrape(taskpoold, taskpool):
    with tempfile.TemporaryDirectory(prefix="taskpool-contrib-") as directory:
        socket = os.path.join(directory, "taskpoold.sock")
        log_path = os.path.join(directory, "taskpoold.log")
        with open(log_path, "w") as log:
            daemon = subprocess.Popen(
                [taskpoold, "--socket", socket, "--workers", "1",
                 "--http-listen", "127.0.0.1:0"],
                stdout=subprocess.DEVNULL, stderr=log)
        try:
            def port():
                with open(log_path) as f:
                    found = re.search(r"serving HTTP on http://127\.0\.0\.1:(\d+)/",
                                      f.read())
                return found and found.group(1)
            metrics_port = wait_for(port, "the metrics port in the log")
            subprocess.run([taskpool, "--socket", socket, "call", "echo", "x"],
                           check=True, stdout=subprocess.DEVNULL, timeout=60)
            with urllib.request.urlopen(
                    f"http://127.0.0.1:{metrics_port}/metrics", timeout=30) as reply:
                return reply.read().decode()
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    taskpoold, taskpool, rules, dashboard = sys.argv[1:]
    wanted = queried_names(rules, dashboard)
    if not wanted:
        sys.exit("check_contrib: no metric found in the contrib files; is the pattern right?")
    exposed = set()
    for line in scrape(taskpoold, taskpool).splitlines():
        if line and not line.startswith("#"):
            exposed.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    missing = sorted((f, n) for f, n in wanted if n not in exposed and n not in PROMETHEUS_OWN)
    for file, name in missing:
        print(f"{file}: queries {name}, which /metrics does not have")
    print(f"check_contrib: {len(wanted)} metric names checked, {len(missing)} missing")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
