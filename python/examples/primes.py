"""The tutorial's prime check through taskpool (README, "Python").

    TASKPOOL_SOCKET=/tmp/tp.sock python3 primes.py
"""
import taskpool

numbers = [222377, 3334, 2212, 3345, 23441, 454577, 341737, 565633]

with taskpool.Client() as client:  # $TASKPOOL_SOCKET, else /run/taskpool/taskpoold.sock
    # One verdict per number, in input order, four numbers per task.
    verdicts = client.map("is_prime", [str(n) for n in numbers], chunksize=4)
    for n, verdict in zip(numbers, verdicts):
        print(f"{n}: {verdict.decode()}")

    # Or one task each: a future per number names the worker that ran it.
    futures = [client.apply_async("is_prime", str(n)) for n in numbers]
    for n, future in zip(numbers, futures):
        print(f"{n}: {future.get().decode()} (worker {future.worker_pid})")
