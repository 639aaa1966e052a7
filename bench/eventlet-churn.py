"""eventlet's spawn+wait churn: the baseline of bench/green-start.ts.

    /usr/bin/python3 bench/eventlet-churn.py [--cycles 20000] [--drivers 50] [--pool 50]

`--drivers` green threads (outside the pool) each loop `pool.spawn(noop).wait()`
on one GreenPool(`--pool`) until `--cycles` spawns were made in all. Prints
one JSON line: {"us_per_cycle": ..., "seconds": ..., "cycles": ...}.
"""
import argparse
import json
import time

import eventlet


def noop():
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=20000)
    parser.add_argument("--drivers", type=int, default=50)
    parser.add_argument("--pool", type=int, default=50)
    args = parser.parse_args()

    pool = eventlet.GreenPool(args.pool)
    issued = [0]

    def driver():
        while issued[0] < args.cycles:
            issued[0] += 1
            pool.spawn(noop).wait()

    # Warm-up, as the Node side warms its pool.
    for _ in range(args.drivers):
        pool.spawn(noop).wait()

    started = time.perf_counter()
    drivers = [eventlet.spawn(driver) for _ in range(args.drivers)]
    for thread in drivers:
        thread.wait()
    seconds = time.perf_counter() - started
    print(json.dumps({"us_per_cycle": seconds * 1e6 / args.cycles, "seconds": seconds, "cycles": issued[0]}))


if __name__ == "__main__":
    main()
