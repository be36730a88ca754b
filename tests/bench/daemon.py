"""Starting, measuring and stopping a private taskpoold for the benchmarks."""
import os
import signal
import socket
import subprocess
import tempfile
import time


class Daemon:
    """One taskpoold on a socket in its own temporary directory."""

    def __init__(self, binary, workers, *extra):
        self.directory = tempfile.mkdtemp(prefix="taskpool-bench-")
        self.socket = os.path.join(self.directory, "tp.sock")
        self.process = subprocess.Popen(
            [binary, "--socket", self.socket, "--workers", str(workers),
             "--log-level", "warning", *map(str, extra)])
        self.pid = self.process.pid
        self._wait_ready()

    def _wait_ready(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"taskpoold exited with {self.process.returncode}")
            try:
                with socket.socket(socket.AF_UNIX) as probe:
                    probe.connect(self.socket)
                return
            except OSError:
                time.sleep(0.01)
        raise RuntimeError("taskpoold did not start listening within 30 s")

    def status_kib(self, field, pid=None):
        """A field of /proc/PID/status (VmRSS, RssAnon, ...) in KiB."""
        with open(f"/proc/{pid or self.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def worker_pids(self):
        with open(f"/proc/{self.pid}/task/{self.pid}/children") as f:
            return [int(p) for p in f.read().split()]

    def context_switches(self):
        """Voluntary and involuntary context switches so far of every
        thread of the supervisor and of its workers."""
        total = 0
        for pid in [self.pid, *self.worker_pids()]:
            try:
                tasks = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue  # a worker that just exited
            for tid in tasks:
                try:
                    with open(f"/proc/{pid}/task/{tid}/status") as f:
                        for line in f:
                            if "ctxt_switches:" in line:
                                total += int(line.split()[1])
                except OSError:
                    pass
        return total

    def stop(self):
        """SIGTERM drains; a second SIGTERM cancels what is queued."""
        for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
            if self.process.poll() is not None:
                break
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.rmdir(self.directory)
        except OSError:
            pass


def pss_kib(pid):
    """Proportional set size from /proc/PID/smaps_rollup, in KiB."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0
