-- ∅ → available / scheduled. $1 queue, $2 kind, $3 data, $4 priority, $5 max_attempts,
-- $6/$7 schedule_at as epoch microseconds / microseconds from now, $8/$9 expected_at likewise (NULL = unset).
-- Times relative to "now" are the database's now(), never the client's clock. Returns the id, and whether the
-- job is available now: then the caller sends queue/notify once this transaction has committed. A NOTIFY
-- inside this writing transaction would hold the database's notify lock across its commit's WAL flush, so
-- concurrent producers would commit one flush at a time instead of sharing flushes (group commit).
INSERT INTO @schema@.jobs AS job (queue, kind, data, priority, max_attempts, schedule_at, expected_at, state)
VALUES ($1::text, $2::text, $3::jsonb, $4::smallint, $5::integer,
        coalesce(timestamptz 'epoch' + $6::bigint * interval '1 microsecond',
                 now() + coalesce($7::bigint, 0) * interval '1 microsecond'),
        coalesce(timestamptz 'epoch' + $8::bigint * interval '1 microsecond',
                 now() + $9::bigint * interval '1 microsecond'),
        CASE WHEN coalesce(timestamptz 'epoch' + $6::bigint * interval '1 microsecond',
                           now() + coalesce($7::bigint, 0) * interval '1 microsecond') > now()
             THEN 'scheduled' ELSE 'available' END::@schema@.job_state)
RETURNING job.id, job.state = 'available' AS available
