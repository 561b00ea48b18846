-- The sessions holding locks on the tables of schema $1, oldest transaction first: whom a migration that could
-- not get its lock in time waited behind. What identifies a session, never what it runs.
SELECT l.pid, string_agg(DISTINCT c.relname || ' (' || l.mode || ')', ', ') AS locks,
       coalesce(a.application_name, '') AS application, coalesce(a.state, '') AS state,
       coalesce(extract(epoch FROM now() - a.xact_start)::bigint, 0) AS seconds
FROM pg_locks l
JOIN pg_class c ON c.oid = l.relation
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_stat_activity a ON a.pid = l.pid
WHERE n.nspname = $1::text AND c.relkind IN ('r', 'p') AND l.granted AND l.pid <> pg_backend_pid()
GROUP BY l.pid, a.application_name, a.state, a.xact_start
ORDER BY a.xact_start NULLS LAST, l.pid
LIMIT 3
