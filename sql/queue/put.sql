-- ∅ → available / scheduled. $1 queue, $2 kind, $3 data, $4 priority, $5 max_attempts,
-- $6/$7 schedule_at as epoch microseconds / microseconds from now, $8/$9 expected_at likewise (NULL = unset).
-- Times relative to "now" are the database's now(), never the client's clock.
WITH times AS (
    SELECT coalesce(timestamptz 'epoch' + $6::bigint * interval '1 microsecond',
                    now() + coalesce($7::bigint, 0) * interval '1 microsecond') AS schedule_at,
           coalesce(timestamptz 'epoch' + $8::bigint * interval '1 microsecond',
                    now() + $9::bigint * interval '1 microsecond') AS expected_at
), job AS (
    INSERT INTO @schema@.jobs (queue, kind, data, priority, max_attempts, schedule_at, expected_at, state)
    SELECT $1::text, $2::text, $3::jsonb, $4::smallint, $5::integer, times.schedule_at, times.expected_at,
           CASE WHEN times.schedule_at > now() THEN 'scheduled' ELSE 'available' END::@schema@.job_state
    FROM times
    RETURNING id, state
), notified AS (
    SELECT pg_notify(@channel@, $1::text) FROM job WHERE job.state = 'available'
)
SELECT job.id, (SELECT count(*) FROM notified) AS notified FROM job
