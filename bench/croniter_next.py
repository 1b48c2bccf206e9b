#!/usr/bin/env python3
"""croniter's next-time cost on the mix that crates/scheduler_core/examples/bench_next.rs uses.

Prints, as medians over ROUNDS rounds:
  next_ns_median=...        ns per get_next() on an already-built croniter (set_current + get_next)
  parse_next_ns_median=...  ns per croniter(expr, start).get_next() (parse + next, the usual use)
  checksum=...              sum of the answers' Unix seconds (must equal the Rust benchmark's)
"""

import statistics
import sys
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from croniter import croniter

# Keep in sync with crates/scheduler_core/examples/bench_next.rs.
EXPRESSIONS = [
    "*/5 * * * *",
    "0 * * * *",
    "0 9 * * 1-5",
    "30 2 * * *",
    "0 0 1 * *",
    "15 14 1 * *",
    "0 22 * * 1-5",
    "*/15 9-17 * * 1-5",
    "0 0 * * 0",
    "0 6,18 * * *",
]
ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Sydney"]
STARTS = 32
FIRST_START = 1_704_067_200  # 2024-01-01T00:00:00Z
START_STRIDE = 1_972_837
ROUNDS = 7


def main() -> None:
    zones = [ZoneInfo(name) for name in ZONES]
    starts = [FIRST_START + i * START_STRIDE for i in range(STARTS)]
    # Aware starts in each zone (croniter evaluates in the start's zone).
    cases = [
        (expr, [datetime.fromtimestamp(s, tz=zone) for s in starts])
        for expr in EXPRESSIONS
        for zone in zones
    ]
    calls = len(EXPRESSIONS) * len(ZONES) * STARTS

    checksum = 0
    for expr, zoned_starts in cases:
        for start in zoned_starts:
            checksum += int(croniter(expr, start).get_next(datetime).timestamp())

    iterators = [(croniter(expr, zoned_starts[0]), zoned_starts) for expr, zoned_starts in cases]
    next_rounds = []
    for _ in range(ROUNDS):
        began = time.perf_counter_ns()
        for itr, zoned_starts in iterators:
            for start in zoned_starts:
                itr.set_current(start, force=True)
                itr.get_next(datetime)
        next_rounds.append((time.perf_counter_ns() - began) / calls)

    both_rounds = []
    for _ in range(ROUNDS):
        began = time.perf_counter_ns()
        for expr, zoned_starts in cases:
            for start in zoned_starts:
                croniter(expr, start).get_next(datetime)
        both_rounds.append((time.perf_counter_ns() - began) / calls)

    print("next ns/op per round:", [round(x) for x in next_rounds], file=sys.stderr)
    print("parse+next ns/op per round:", [round(x) for x in both_rounds], file=sys.stderr)
    print(f"next_ns_median={statistics.median(next_rounds):.0f}")
    print(f"parse_next_ns_median={statistics.median(both_rounds):.0f}")
    print(f"checksum={checksum}")


if __name__ == "__main__":
    main()
