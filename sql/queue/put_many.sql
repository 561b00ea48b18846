-- ∅ → available / scheduled for many jobs of one queue in one statement. $3 is a text[] of JSON documents;
-- the other parameters are those of queue/put. Ids come back in input order, each with whether it is available now
-- (all are, or none) (see queue/put: the caller notifies after the commit).
WITH times AS (
    SELECT coalesce(timestamptz 'epoch' + $6::bigint * interval '1 microsecond',
                    now() + coalesce($7::bigint, 0) * interval '1 microsecond') AS schedule_at,
           coalesce(timestamptz 'epoch' + $8::bigint * interval '1 microsecond',
                    now() + $9::bigint * interval '1 microsecond') AS expected_at
), jobs AS (
    INSERT INTO @schema@.jobs (queue, kind, data, priority, max_attempts, schedule_at, expected_at, state)
    SELECT $1::text, $2::text, input.data::jsonb, $4::smallint, $5::integer, times.schedule_at,
           times.expected_at,
           CASE WHEN times.schedule_at > now() THEN 'scheduled' ELSE 'available' END::@schema@.job_state
    FROM times, unnest($3::text[]) WITH ORDINALITY AS input(data, n)
    ORDER BY input.n
    RETURNING id, state
)
SELECT jobs.id, jobs.state = 'available' AS available FROM jobs ORDER BY jobs.id
