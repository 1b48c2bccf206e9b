#!/usr/bin/env python3
"""The stack workflow_scheduler replaces, as a firing-benchmark peer (examples/fire_bench.rs).

The seed's ScheduleService (shared seed schedule_service.md) runs APScheduler 3's
AsyncIOScheduler, registers interval and date jobs with it, and reaches PostgreSQL through an
async DAL with at most MAX_CONCURRENT_WORKFLOWS=10 workflows at once. This harness keeps those
parts and nothing else: an AsyncIOScheduler in UTC, a job per schedule whose coroutine sends
`SELECT pg_catalog.pg_notify(channel, payload)` through a psycopg 3 async pool of 10 connections.
croniter, the seed's other library, only computes next_execution_at for its table; no job
here is a cron job, so it is pinned in requirements.txt but not on the firing path.

  apscheduler_peer.py burst  --dsn DSN --channel CH --count N --at EPOCH_S
  apscheduler_peer.py steady --dsn DSN --channel CH --count C --interval S --first EPOCH_S
                             --duration D

Both print `ready` once every job is added and the scheduler runs. burst: job i (0..N-1) sends
str(i) once at EPOCH_S; prints `done fired=<k> errors=<e>` when all ran (or at EPOCH_S + 600 s).
steady: job i runs every S s from EPOCH_S + i*S/C; prints `done` after D s.
Runs under bench/peers/.venv (scripts/setup.sh) when the system Python lacks the packages.
"""

import os
import sys

try:
    import apscheduler  # noqa: F401
    import psycopg_pool  # noqa: F401
except ImportError:
    # A venv's python is a symlink to the system's: tell them apart by sys.prefix.
    venv = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".venv")
    venv_python = os.path.join(venv, "bin", "python")
    if os.path.exists(venv_python) and os.path.realpath(sys.prefix) != os.path.realpath(venv):
        os.execv(venv_python, [venv_python, os.path.abspath(__file__), *sys.argv[1:]])
    sys.exit("apscheduler_peer: APScheduler/psycopg_pool missing; run scripts/setup.sh")

import argparse
import asyncio
import time
from datetime import datetime, timezone

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from psycopg_pool import AsyncConnectionPool

# The seed's MAX_CONCURRENT_WORKFLOWS and SCHEDULER_JOB_DEFAULTS_MAX_INSTANCES.
POOL_SIZE = 10
MAX_INSTANCES = 3
BURST_TIMEOUT_S = 600


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    burst = sub.add_parser("burst")
    steady = sub.add_parser("steady")
    for p in (burst, steady):
        p.add_argument("--dsn", required=True)
        p.add_argument("--channel", required=True)
        p.add_argument("--count", type=int, required=True)
    burst.add_argument("--at", type=float, required=True)
    steady.add_argument("--interval", type=float, required=True)
    steady.add_argument("--first", type=float, required=True)
    steady.add_argument("--duration", type=float, required=True)
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be >= 1")
    if args.mode == "steady" and (args.interval <= 0 or args.duration <= 0):
        parser.error("--interval and --duration must be > 0")
    return args


async def run(args):
    pool = AsyncConnectionPool(
        args.dsn,
        min_size=POOL_SIZE,
        max_size=POOL_SIZE,
        kwargs={"autocommit": True},
        open=False,
    )
    # Connect every connection now, so that a bad DSN fails the setup rather than the jobs.
    await pool.open(wait=True, timeout=30)

    in_flight = [0]

    async def fire(payload):
        in_flight[0] += 1
        try:
            async with pool.connection() as conn:
                await conn.execute("SELECT pg_catalog.pg_notify(%s, %s)", (args.channel, payload))
        finally:
            in_flight[0] -= 1

    async def stop():
        # shutdown() cancels the running coroutines: stop starting new runs, let those finish
        # (the first sleep lets runs already handed to the event loop start).
        scheduler.pause()
        await asyncio.sleep(0.05)
        for _ in range(100):
            if not in_flight[0]:
                break
            await asyncio.sleep(0.1)
        scheduler.shutdown(wait=False)
        await pool.close()

    # Neither kind of run may lose a fire: a burst of thousands makes most jobs run after their
    # due instant, which APScheduler's default misfire_grace_time (1 s) would skip, and
    # coalesce would fold a late interval job's missed runs into one. Lateness is what we
    # measure, so every run happens however late (None = no grace limit).
    job_defaults = {"misfire_grace_time": None, "coalesce": False, "max_instances": MAX_INSTANCES}
    scheduler = AsyncIOScheduler(timezone=timezone.utc, job_defaults=job_defaults)

    counts = {"fired": 0, "errors": 0}
    finished = asyncio.Event()

    def on_event(event):
        if event.code == EVENT_JOB_EXECUTED:
            counts["fired"] += 1
        else:
            counts["errors"] += 1
            if event.code == EVENT_JOB_ERROR:
                print(f"apscheduler_peer: job failed: {event.exception!r}", file=sys.stderr)
            else:
                print(f"apscheduler_peer: job {event.job_id} skipped a run", file=sys.stderr)
        if args.mode == "burst" and counts["fired"] + counts["errors"] >= args.count:
            finished.set()

    # A missed run, or one skipped because MAX_INSTANCES were still running, is a lost fire.
    scheduler.add_listener(
        on_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
    )

    if args.mode == "burst":
        due = datetime.fromtimestamp(args.at, timezone.utc)
        for i in range(args.count):
            scheduler.add_job(fire, DateTrigger(run_date=due), args=[str(i)], id=str(i))
    else:
        for i in range(args.count):
            start = datetime.fromtimestamp(args.first + i * args.interval / args.count, timezone.utc)
            trigger = IntervalTrigger(seconds=args.interval, start_date=start, timezone=timezone.utc)
            scheduler.add_job(fire, trigger, args=[str(i)], id=str(i))

    scheduler.start()
    print("ready", flush=True)

    if args.mode == "burst":
        try:
            await asyncio.wait_for(finished.wait(), max(0.0, args.at + BURST_TIMEOUT_S - time.time()))
        except asyncio.TimeoutError:
            pass
        await stop()
        print(f"done fired={counts['fired']} errors={counts['errors']}", flush=True)
    else:
        await asyncio.sleep(args.duration)
        await stop()
        if counts["errors"]:
            print(f"apscheduler_peer: {counts['errors']} runs failed or missed", file=sys.stderr)
        print("done", flush=True)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
