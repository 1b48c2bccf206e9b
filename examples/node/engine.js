#!/usr/bin/env node
// A workflow engine loop with node-postgres (docs/delivery.md).
//
// LISTEN is the wake-up hint; execution_claim is the durable source of work, called before the
// first wait too, so a restarted engine finds every fire it missed; execution_complete reports
// each outcome.
//
//   node examples/node/engine.js MAX_EXECUTIONS SECONDS
//
// Stops after MAX_EXECUTIONS executions (0: no limit) or SECONDS seconds, whichever comes first.
// The connection comes from PGHOST (a host or a socket directory), PGPORT, PGDATABASE and
// PGUSER, like psql's. Prints one line per execution and a summary.
'use strict';

const { Client } = require('pg');

// Without a hint, claim anyway this often: a NOTIFY can be lost, a claim cannot.
const IDLE_CLAIM_EVERY_MS = 30000;
const WORKER = `node-engine-${process.pid}`;

// Stands in for starting the workflow. A long run calls execution_heartbeat before its lease
// runs out; false means the scheduler gave the execution up (it timed out).
async function runWorkflow(client, executionId, trigger) {
  const { rows } = await client.query(
    "SELECT workflow_scheduler.execution_heartbeat($1, '5 minutes') AS still_ours",
    [executionId],
  );
  return { workflow_id: trigger.workflow_id, still_ours: rows[0].still_ours, engine: 'node' };
}

async function main() {
  if (process.argv.length !== 4) {
    console.error('usage: engine.js MAX_EXECUTIONS SECONDS');
    process.exit(2);
  }
  const limit = Number(process.argv[2]);
  const deadline = Date.now() + Number(process.argv[3]) * 1000;
  let done = 0;

  const client = new Client(); // reads PGHOST, PGPORT, PGDATABASE, PGUSER
  await client.connect();
  // A notification only wakes the waiting loop; the work comes from execution_claim.
  let wake = null;
  client.on('notification', () => wake && wake());
  await client.query('LISTEN workflow_scheduler');

  while (Date.now() < deadline && (limit === 0 || done < limit)) {
    // Drain: claim until nothing is left, then wait for the next hint.
    while (limit === 0 || done < limit) {
      const batch = limit === 0 ? 10 : Math.min(10, limit - done);
      const { rows } = await client.query(
        `SELECT execution_id, workflow_id, attempt, trigger_data
           FROM workflow_scheduler.execution_claim($1, '5 minutes', $2)`,
        [batch, WORKER],
      );
      if (rows.length === 0) break;
      for (const row of rows) {
        let status;
        let result;
        try {
          status = 'completed';
          result = await runWorkflow(client, row.execution_id, row.trigger_data);
        } catch (err) {
          status = 'failed';
          result = { error: String(err) };
        }
        await client.query('SELECT workflow_scheduler.execution_complete($1, $2, $3)', [
          row.execution_id,
          status,
          JSON.stringify(result),
        ]);
        done += 1;
        console.log(`${status} ${row.execution_id} workflow ${row.workflow_id} attempt ${row.attempt}`);
      }
    }
    if (limit !== 0 && done >= limit) break;
    const wait = Math.min(IDLE_CLAIM_EVERY_MS, deadline - Date.now());
    if (wait > 0) {
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, wait);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  }
  await client.end();
  console.log(`engine stopped after ${done} executions`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
