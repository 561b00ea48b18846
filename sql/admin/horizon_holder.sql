-- What holds the xmin horizon back the most, as far as this role can see (pg_read_all_stats sees every
-- session): the session, prepared transaction or replication slot with the oldest transaction id, described
-- for a log line. No row when nothing holds it back beyond this session.
SELECT format('%s, %s transactions behind', holder, age) AS holder
FROM (
    SELECT format('session pid %s (%s, %s%s)', pid, coalesce(nullif(application_name, ''), 'no application_name'),
                  state, ', transaction open ' || (now() - xact_start)::text) AS holder,
           greatest(age(backend_xid), age(backend_xmin)) AS age
    FROM pg_stat_activity
    WHERE pid <> pg_backend_pid() AND (backend_xid IS NOT NULL OR backend_xmin IS NOT NULL)
    UNION ALL
    SELECT format('prepared transaction %L, prepared at %s', gid, prepared), age(transaction)
    FROM pg_prepared_xacts
    UNION ALL
    SELECT format('replication slot %L', slot_name), age(xmin)
    FROM pg_replication_slots
    WHERE xmin IS NOT NULL
) AS holders
ORDER BY age DESC
LIMIT 1
