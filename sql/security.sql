-- Privileges: nothing for PUBLIC except previewing next times with schedule_next.
-- Runs last, after every function exists. Grant the rest to your application role explicitly.

REVOKE ALL ON ALL TABLES IN SCHEMA workflow_scheduler FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA workflow_scheduler FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA workflow_scheduler FROM PUBLIC;
GRANT USAGE ON SCHEMA workflow_scheduler TO PUBLIC;
GRANT EXECUTE ON FUNCTION workflow_scheduler.schedule_next(text, text, integer, timestamptz, text, timestamptz) TO PUBLIC;
