"""Turns the driver's samples into the results table, results.md and the
chart. Every cell is the median over repetitions with min-max."""
import os
import shutil
import statistics
import subprocess
import tempfile

SIZE = {1: "1 B", 16: "16 B", 1024: "1 KiB", 65536: "64 KiB", 1 << 20: "1 MiB",
        16 << 20: "16 MiB"}


def fmt(x):
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


class Cell:
    """Median and range of one metric over the repetitions."""

    def __init__(self, values):
        self.values = values
        self.median = statistics.median(values)

    def __str__(self):
        lo, hi = min(self.values), max(self.values)
        if len(self.values) == 1 or fmt(lo) == fmt(hi):
            return fmt(self.median)
        return f"{fmt(self.median)} ({fmt(lo)}–{fmt(hi)})"


def build_table(samples, workers):
    def cell(key, metric):
        values = samples.get((key, metric))
        return Cell(values) if values else None

    rows = []

    def row(name, tp, pool=None, ref=None, lower_is_better=True,
            target="", met=None):
        ratio = None
        if tp and pool:
            ratio = (pool.median / tp.median if lower_is_better
                     else tp.median / pool.median)
        rows.append(dict(name=name, tp=tp, pool=pool, ref=ref, ratio=ratio,
                         target=target, met=met))

    for size in (1, 1024, 65536, 1 << 20):
        for pct in ("p50", "p90", "p99"):
            tp = cell((("latency", size), "taskpool"), pct + "_us")
            pool = cell((("latency", size), "pool"), pct + "_us")
            ref = cell(("latency", size, "ref"), pct + "_us")
            target, met = "", None
            if size == 1 and pct == "p50":
                target = "≤ 2.5× ping-pong"
                met = tp.median <= 2.5 * ref.median
            elif size == 1 and pct == "p99":
                target = "≥ 10× Pool"
                met = pool.median / tp.median >= 10
            elif size == 1 << 20 and pct == "p50":
                target = "≤ 2× ping-pong"
                met = tp.median <= 2 * ref.median
            row(f"round trip {SIZE[size]} {pct} (µs)", tp, pool, ref,
                target=target, met=met)
        client = cell(("switches", size), "client_switches_per_call")
        daemon = cell(("switches", size), "daemon_switches_per_call")
        floor = cell(("latency", size, "ref"), "switches_per_round_trip")
        if client and daemon and floor:
            rows.append(dict(
                name=f"round trip {SIZE[size]}: context switches per call, "
                     "client + daemon",
                tp=f"{fmt(client.median + daemon.median)} "
                   f"({fmt(client.median)} + {fmt(daemon.median)})",
                pool=None, ratio=None, ref=f"{fmt(floor.median)} (ping-pong)",
                target="", met=None))

    for chunk in (1, 64, 1024):
        tp = cell((("map", chunk), "taskpool"), "items_per_s")
        pool = cell((("map", chunk), "pool"), "items_per_s")
        goal = {1: 5, 64: 2, 1024: 2}.get(chunk)
        row(f"map echo chunksize {chunk} (tasks/s)", tp, pool,
            lower_is_better=False,
            target=f"≥ {goal}× Pool" if goal else "",
            met=(tp.median / pool.median >= goal) if goal else None)

    for chunk in (64, 1024):
        tp = cell(("map_outputs", chunk), "items_per_s")
        pool = cell((("map", chunk), "pool"), "items_per_s")
        if tp and pool:
            row(f"map_outputs echo chunksize {chunk} (tasks/s)", tp, pool,
                lower_is_better=False, target="≥ 2× Pool",
                met=tp.median / pool.median >= 2)

    tp = cell((("cli_map",), "taskpool"), "items_per_s")
    library = cell(("cli_map", "library"), "items_per_s")
    if tp and library:
        row("`taskpool map --chunksize 1 echo -`, stdin lines (tasks/s)", tp,
            cell((("cli_map",), "pool"), "items_per_s"), ref=f"{library} (library map)",
            lower_is_better=False, target="≥ 0.8× the library's map",
            met=tp.median >= 0.8 * library.median)

    tp = cell((("py_client_map", 64), "taskpool"), "items_per_s")
    if tp:
        pool = cell((("py_client_map", 64), "pool"), "items_per_s")
        row("python client map chunksize 64 (tasks/s)", tp, pool,
            lower_is_better=False, target="≥ 1× Pool",
            met=tp.median >= pool.median)

    serial = cell(("primes", "serial"), "seconds")
    threads = cell(("primes", "threads"), "seconds")
    tp1 = cell(("primes", "taskpool1"), "seconds")
    tpn = cell((("primes", "N"), "taskpool"), "seconds")
    pool = cell((("primes", "N"), "pool"), "seconds")
    row("primes: serial in-process C++ (s)", serial)
    row(f"primes: {workers} C++ threads in-process (s)", threads)
    row("primes: taskpool 1 worker (s)", tp1, ref=serial)
    row(f"primes: {workers} workers, wall time (s)", tpn, pool, ref=threads,
        target="≥ 8× Pool", met=pool.median / tpn.median >= 8)
    tp_speedup = serial.median / tpn.median
    thread_speedup = serial.median / threads.median
    rows.append(dict(
        name=f"primes: speedup over serial ({workers} workers)",
        tp=fmt(tp_speedup), pool=None, ratio=None,
        ref=f"{fmt(thread_speedup)} (threads)",
        target="≥ 0.95× threads' speedup",
        met=tp_speedup >= 0.95 * thread_speedup))
    rows.append(dict(
        name="primes: parallel efficiency", tp=f"{tp_speedup / workers:.0%}",
        pool=None, ratio=None, ref=f"{thread_speedup / workers:.0%} (threads)",
        target="", met=None))

    p99_1 = cell((("concurrent", 1), "taskpool"), "p99_us")
    for clients in (1, 4, 16, 64):
        for pct in ("p50", "p99"):
            tp = cell((("concurrent", clients), "taskpool"), pct + "_us")
            pool = cell((("concurrent", clients), "pool"), pct + "_us")
            # Every level better than Pool's; 64 clients also within 20×
            # of one client's p99.
            target, met = "better than Pool", tp.median < pool.median
            if clients == 64 and pct == "p99":
                target = "better than Pool; < 20× the 1-client p99"
                met = met and tp.median < 20 * p99_1.median
            row(f"{clients} concurrent clients, 1 B {pct} (µs)", tp, pool,
                target=target, met=met)

    # (size, chunksize) of every payload workload: chunksize 16 first, then
    # 1, each by size.
    payloads = sorted({key[0][1:] for (key, metric) in samples
                       if isinstance(key[0], tuple) and key[0][0] == "payload"},
                      key=lambda payload: (-payload[1], payload[0]))

    def rate(size, chunk):
        return cell((("payload", size, chunk), "taskpool"), "mib_per_s").median

    for size, chunk in payloads:
        tp = cell((("payload", size, chunk), "taskpool"), "mib_per_s")
        pool = cell((("payload", size, chunk), "pool"), "mib_per_s")
        target, met = "", None
        large = [s for s, c in payloads if c == chunk and s >= 65536]
        if size in large:
            target, met = "≥ 2× Pool", tp.median >= 2 * pool.median
        if len(large) > 1 and size == large[-1]:
            # "Throughput per byte flat": from 64 KiB up, a larger payload
            # must not make a byte dearer by more than 10 %.
            target += f"; MiB/s within 10 % of {SIZE[large[0]]}'s"
            met = met and all(rate(s, chunk) >= 0.9 * rate(large[0], chunk) for s in large)
        row(f"map echo {SIZE[size]} payloads, chunksize {chunk} (MiB/s)", tp, pool,
            lower_is_better=False, target=target, met=met)

    queued = sorted(k[1] for (k, m) in samples if k[0] == "queued" and m == "rss_kib")
    for count in queued:
        tp = cell(("queued", count), "rss_kib")
        row(f"supervisor RSS with {count:,} tasks queued (KiB)", tp,
            ref=f"anon {cell(('queued', count), 'anon_kib')}")
    if len(queued) > 1 and queued[0] == 0:
        # The supervisor's RSS counts the queue's shared pages it touched
        # (RssShmem) as well as its heap (RssAnon): their growth per task.
        most = queued[-1]
        grown = lambda metric: (cell(("queued", most), metric).median -
                                cell(("queued", 0), metric).median) * 1024 / most
        per_task = grown("rss_kib")
        rows.append(dict(
            name=f"memory per queued 16-byte task at {most:,} queued (bytes)",
            tp=fmt(per_task), pool=None, ratio=None,
            ref=f"heap {fmt(grown('anon_kib'))} + shared {fmt(per_task - grown('anon_kib'))}",
            target="≤ 512", met=per_task <= 512))

    rss = cell(("footprint", "taskpool"), "parent_rss_kib")
    row("supervisor / Pool parent RSS, idle (KiB)", rss,
        cell(("footprint", "pool"), "parent_rss_kib"),
        target="< 8 MiB", met=rss.median < 8 * 1024)
    row("per-worker PSS, idle (KiB)",
        cell(("footprint", "taskpool"), "worker_pss_kib"),
        cell(("footprint", "pool"), "worker_pss_kib"))
    tp = cell((("startup",), "taskpool"), "first_result_ms")
    pool = cell((("startup",), "pool"), "first_result_ms")
    row(f"start to first result, {workers} workers (ms)", tp, pool,
        target="≤ Pool", met=tp.median <= pool.median)
    return rows


def markdown(rows, quick, workers, reps, seconds, analysis):
    mode = "quick mode (numbers not meaningful)" if quick else "full run"
    lines = [
        "# taskpool vs multiprocessing.Pool",
        "",
        f"Produced by `tests/bench/run` ({mode}): {os.cpu_count()} CPUs, "
        f"{workers} workers on both sides, {reps} repetitions, "
        f"{seconds:.0f} s. Each cell is the median, with min–max over the "
        "repetitions. *Advantage* is how many times better taskpool is "
        "(Pool time / taskpool time, or taskpool rate / Pool rate); "
        "the reference is the machine's own limit where there is one "
        "(bare Unix-socket ping-pong, in-process C++).",
        "",
        "| workload | taskpool | Pool | advantage | reference | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        met = "" if r["met"] is None else ("yes" if r["met"] else "**no**")
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}×"
        lines.append("| " + " | ".join([
            r["name"], str(r["tp"] or ""), str(r["pool"] or ""), ratio,
            str(r["ref"] or ""), r["target"], met]) + " |")
    missed = [r["name"] for r in rows if r["met"] is False]
    lines += ["", f"Targets met: {sum(r['met'] is True for r in rows)} of "
              f"{sum(r['met'] is not None for r in rows)}."
              + (f" Missed: {'; '.join(missed)}." if missed else ""), ""]
    if os.path.exists(analysis):
        with open(analysis) as f:
            lines += [f.read()]
    return "\n".join(lines)


def chart(rows, path):
    """A log-scale bar per compared workload: taskpool's advantage."""
    if shutil.which("gnuplot") is None:
        print("bench: gnuplot not found, no chart")
        return
    compared = [r for r in rows if r["ratio"]]
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as data:
        for i, r in enumerate(compared):
            label = r["name"].replace('"', "'")
            data.write(f'{i} {r["ratio"]:.4f} "{label}"\n')
    script = f"""
set terminal pngcairo size 1400,800 font ",9"
set output "{path}"
set title "taskpool advantage over multiprocessing.Pool (× better, log scale; > 1 is taskpool faster)"
set logscale y
set yrange [0.01:100]
set style fill solid 0.8
set boxwidth 0.7
set grid ytics
set xtics rotate by -50 left
set bmargin 14
set rmargin 16
unset key
plot "{data.name}" using 1:2:xtic(3) with boxes lc rgb "#3070b0", \\
     1 with lines lc rgb "#c03030" dt 2
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    os.remove(data.name)
