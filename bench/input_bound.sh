#!/usr/bin/env bash
# The slowest calls of schedule_next, schedule_add and schedule_update on adversarial inputs of
# at most 10 KB: long lists, wrap-around ranges, steps, dates that rarely or never come, zones
# with odd DST rules, deep and wide JSON. Each call is timed inside the server
# (clock_timestamp() around it, errors caught): the first call (cold: the expression is not in
# the backend's cache yet) and the best of ROUNDS. The report is the slowest input per
# function and, as a peer in the same run, the time of a trivial call.
# Then statement_timeout = 1 ms is set and the slowest input is run again, to show a call
# can be cancelled (57014).
#
# Usage: bench/input_bound.sh   (needs the extension installed: make install)
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-5}
dir=${WS_BENCH_DIR:-/tmp/ws-bench-input}
# The cluster listens only on its own socket directory, so a fixed port cannot clash.
port=${WS_PORT:-54324}
psql=(/usr/lib/postgresql/15/bin/psql -X -q -At -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1)

trap 'bash scripts/cluster.sh stop "$dir"' EXIT
bash scripts/cluster.sh start "$dir" "$port" "workflow_scheduler.enabled = off" >/dev/null

"${psql[@]}" <<SQL
CREATE EXTENSION workflow_scheduler;
CREATE TABLE inputs (label text, fn text, arg1 text, arg2 text);

-- Cron expressions (schedule_next and schedule_add): at most 1,024 bytes are accepted, so the
-- longest ones are exactly that long; longer ones must be refused at once.
INSERT INTO inputs
SELECT label, 'cron', left(expr, n), tz FROM (VALUES
  ('minute list, 1 KB',        (SELECT string_agg((i % 60)::text, ',') FROM generate_series(1, 400) i) || ' * * * *', 1024),
  ('ranges with steps, 1 KB',  (SELECT string_agg('0-59/' || (i % 59 + 1), ',') FROM generate_series(1, 150) i) || ' * * * *', 1024),
  ('wrap-around lists, 1 KB',  '0 0 ' || (SELECT string_agg((i % 31 + 1) || '-' || (i % 28 + 1), ',') FROM generate_series(1, 150) i) || ' * *', 1024),
  ('29 Feb on a Monday',       '0 0 29 2 mon', 1024),
  ('31 Feb (never)',           '0 0 31 2 *', 1024),
  ('30 Feb or 31 Apr (never)', '0 0 30,31 2,4 *', 1024),
  ('empty minute list',        ', * * * *', 1024),
  ('every field a list',       (SELECT string_agg(i::text, ',') FROM generate_series(0, 59) i) || ' ' ||
                               (SELECT string_agg(i::text, ',') FROM generate_series(0, 23) i) || ' ' ||
                               (SELECT string_agg(i::text, ',') FROM generate_series(1, 31) i) || ' ' ||
                               (SELECT string_agg(i::text, ',') FROM generate_series(1, 12) i) || ' ' ||
                               (SELECT string_agg(i::text, ',') FROM generate_series(0, 7) i), 1024),
  ('10 KB expression',         repeat('1,', 5119) || '1 * * * *', 10240),
  ('10 KB of junk',            repeat('*/ -,', 2048), 10240)
) AS v(label, expr, n),
LATERAL (VALUES ('UTC'), ('Australia/Lord_Howe'), ('Pacific/Chatham')) AS z(tz);

-- JSON (schedule_add and schedule_update): context_data up to 10 KB, deep and wide.
INSERT INTO inputs VALUES
  ('context 127 deep', 'context', repeat('{"a":', 126) || '1' || repeat('}', 126), NULL),
  ('context 2,000 deep', 'context', '{"a":' || repeat('[', 2000) || repeat(']', 2000) || '}', NULL),
  ('context 1,000 keys', 'context', (SELECT '{' || string_agg(format('"k%s":%s', i, i), ',') || '}' FROM generate_series(1, 1000) i), NULL),
  ('context 10 KB string', 'context', '{"s":"' || repeat('x', 10200) || '"}', NULL),
  ('config 2,000 deep', 'config', '{"schedule_type":"interval","interval_seconds":5,"x":' || repeat('[', 2000) || repeat(']', 2000) || '}', NULL),
  ('config 10 KB timezone', 'config', '{"schedule_type":"interval","interval_seconds":5,"timezone":"' || repeat('A/', 5000) || '"}', NULL);

CREATE TABLE timings (label text, fn text, tz text, first_ms float8, best_ms float8, outcome text);
SQL

"${psql[@]}" <<SQL
DO \$\$
DECLARE
  i inputs%ROWTYPE;
  began timestamptz;
  best float8;
  first float8;
  took float8;
  outcome text;
  target uuid;
BEGIN
  target := (workflow_scheduler.schedule_add(gen_random_uuid(), '{"schedule_type":"interval","interval_seconds":60}', 1, 1)->>'schedule_id')::uuid;
  FOR i IN SELECT * FROM inputs LOOP
    FOREACH outcome IN ARRAY CASE i.fn WHEN 'cron' THEN ARRAY['schedule_next', 'schedule_add']
                                       WHEN 'context' THEN ARRAY['schedule_add']
                                       ELSE ARRAY['schedule_add', 'schedule_update'] END LOOP
      DECLARE fn text := outcome;
      BEGIN
        best := NULL;
        first := NULL;
        FOR r IN 1..$rounds LOOP
          began := clock_timestamp();
          BEGIN
            IF i.fn = 'cron' AND fn = 'schedule_next' THEN
              PERFORM workflow_scheduler.schedule_next('cron', i.arg1, timezone => i.arg2, after => '2026-11-27 12:00+00');
            ELSIF i.fn = 'cron' THEN
              PERFORM workflow_scheduler.schedule_add(gen_random_uuid(), jsonb_build_object('schedule_type', 'cron', 'cron_expression', i.arg1, 'timezone', i.arg2), 1, 1);
            ELSIF i.fn = 'context' THEN
              PERFORM workflow_scheduler.schedule_add(gen_random_uuid(), '{"schedule_type":"interval","interval_seconds":60}', 1, 1, i.arg1::jsonb);
            ELSIF fn = 'schedule_add' THEN
              PERFORM workflow_scheduler.schedule_add(gen_random_uuid(), i.arg1::jsonb, 1, 1);
            ELSE
              PERFORM workflow_scheduler.schedule_update(target, i.arg1::jsonb, 1);
            END IF;
            outcome := 'ok';
          EXCEPTION WHEN OTHERS THEN
            outcome := SQLSTATE;
          END;
          took := extract(epoch FROM clock_timestamp() - began) * 1000;
          first := coalesce(first, took);
          best := least(best, took);
        END LOOP;
        INSERT INTO timings VALUES (i.label, fn, i.arg2, first, best, outcome);
      END;
    END LOOP;
  END LOOP;
  -- The peer: a trivial call of the same function, measured the same way.
  best := NULL;
  FOR r IN 1..$rounds LOOP
    began := clock_timestamp();
    PERFORM workflow_scheduler.schedule_next('cron', '* * * * *', after => '2026-11-27 12:00+00');
    best := least(best, extract(epoch FROM clock_timestamp() - began) * 1000);
  END LOOP;
  INSERT INTO timings VALUES ('peer: * * * * *', 'schedule_next', 'UTC', NULL, best, 'ok');
END
\$\$;
SQL

echo "slowest input per function: first (cold) call and best of $rounds, ms inside the server; outcome ok or the SQLSTATE:"
"${psql[@]}" -F ' | ' -c "SELECT DISTINCT ON (fn) fn, round(first_ms::numeric, 3), round(best_ms::numeric, 3), label, coalesce(tz, ''), outcome
                            FROM timings WHERE label NOT LIKE 'peer%' ORDER BY fn, greatest(first_ms, best_ms) DESC"
"${psql[@]}" -F ' | ' -c "SELECT 'inputs x functions: ' || count(*) || ', slowest cold call ' || round(max(first_ms)::numeric, 2) || ' ms, median best '
                                  || round((percentile_cont(0.5) WITHIN GROUP (ORDER BY best_ms))::numeric, 3) || ' ms; peer '
                                  || round((SELECT best_ms FROM timings WHERE label LIKE 'peer%')::numeric, 3) || ' ms'
                            FROM timings WHERE label NOT LIKE 'peer%'"

echo "1,000 calls of the slowest schedule_next input under statement_timeout = 1ms:"
"${psql[@]}" -v ON_ERROR_STOP=0 -c "SET statement_timeout = '1ms'" -c "
  WITH slowest AS MATERIALIZED (
      SELECT i.arg1, i.arg2 FROM inputs i JOIN timings t ON t.label = i.label AND t.tz = i.arg2
       WHERE t.fn = 'schedule_next' AND t.outcome = 'ok' ORDER BY t.best_ms DESC LIMIT 1)
  SELECT count(workflow_scheduler.schedule_next('cron', s.arg1, timezone => s.arg2, after => '2026-11-27 12:00+00'))
    FROM slowest s, generate_series(1, 1000)" 2>&1 | sed -n 's/^.*ERROR: *//p'
