#!/usr/bin/env python3
"""A workflow engine loop with psycopg 3 (docs/delivery.md).

LISTEN is the wake-up hint; execution_claim is the durable source of work, called before the
first wait too, so a restarted engine finds every fire it missed; execution_complete reports
each outcome.

    python3 examples/python/engine.py MAX_EXECUTIONS SECONDS

Stops after MAX_EXECUTIONS executions (0: no limit) or SECONDS seconds, whichever comes first.
The connection comes from the libpq variables PGHOST (a host or a socket directory), PGPORT,
PGDATABASE and PGUSER, like psql's. Prints one line per execution and a summary.
"""
import os
import sys
import time

import psycopg
from psycopg.types.json import Jsonb

# Without a hint, claim anyway this often: a NOTIFY can be lost, a claim cannot.
IDLE_CLAIM_EVERY = 30.0
WORKER = f"python-engine-{os.getpid()}"


def run_workflow(conn, execution_id, trigger):
    # Stands in for starting the workflow. A long run calls execution_heartbeat before its
    # lease runs out; false means the scheduler gave the execution up (it timed out).
    still_ours = conn.execute(
        "SELECT workflow_scheduler.execution_heartbeat(%s, '5 minutes')", (execution_id,)
    ).fetchone()[0]
    return {"workflow_id": trigger["workflow_id"], "still_ours": still_ours, "engine": "python"}


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: engine.py MAX_EXECUTIONS SECONDS")
    limit, seconds = int(sys.argv[1]), float(sys.argv[2])
    deadline = time.monotonic() + seconds
    done = 0
    # An empty conninfo: libpq reads PGHOST, PGPORT, PGDATABASE and PGUSER.
    with psycopg.connect("", autocommit=True) as conn:
        conn.execute("LISTEN workflow_scheduler")
        while time.monotonic() < deadline and (limit == 0 or done < limit):
            # Drain: claim until nothing is left, then wait for the next hint.
            while limit == 0 or done < limit:
                batch = 10 if limit == 0 else min(10, limit - done)
                claimed = conn.execute(
                    "SELECT execution_id, workflow_id, attempt, trigger_data"
                    "  FROM workflow_scheduler.execution_claim(%s, '5 minutes', %s)",
                    (batch, WORKER),
                ).fetchall()
                if not claimed:
                    break
                for execution_id, workflow_id, attempt, trigger in claimed:
                    try:
                        status, result = "completed", run_workflow(conn, execution_id, trigger)
                    except Exception as err:  # the workflow's failure is its outcome
                        status, result = "failed", {"error": str(err)}
                    conn.execute(
                        "SELECT workflow_scheduler.execution_complete(%s, %s, %s)",
                        (execution_id, status, Jsonb(result)),
                    )
                    done += 1
                    print(f"{status} {execution_id} workflow {workflow_id} attempt {attempt}", flush=True)
            if limit and done >= limit:
                break
            wait = min(IDLE_CLAIM_EVERY, deadline - time.monotonic())
            if wait > 0:
                for _ in conn.notifies(timeout=wait, stop_after=1):
                    pass
    print(f"engine stopped after {done} executions", flush=True)


if __name__ == "__main__":
    main()
