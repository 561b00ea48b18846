-- scheduled → available for the due jobs of one queue ($1), as a blocking get does before it sleeps.
-- Returns how many were promoted and the microseconds until the queue's next scheduled job falls due or one
-- of its timed pauses ends, whichever comes first (NULL: neither), measured by the database's clock so that a
-- skewed client never sleeps past it.
WITH due AS (
    SELECT id FROM @schema@.jobs
    WHERE state = 'scheduled' AND queue = $1::text AND schedule_at <= now()
    ORDER BY schedule_at
    LIMIT 1000
    FOR UPDATE SKIP LOCKED
), promoted AS (
    UPDATE @schema@.jobs AS job SET state = 'available'
    FROM due
    WHERE job.id = due.id
    RETURNING job.id
), notified AS (
    SELECT pg_notify(@channel@, $1::text || E'\tbefore') WHERE EXISTS (SELECT FROM promoted)
)
SELECT (SELECT count(*) FROM promoted) AS promoted,
       (SELECT count(*) FROM notified) AS notified,
       (SELECT floor(extract(epoch FROM least(
                   (SELECT min(schedule_at) FROM @schema@.jobs
                    WHERE state = 'scheduled' AND queue = $1::text AND schedule_at > now()),
                   (SELECT min(until) FROM @schema@.pauses WHERE queue = $1::text AND until > now()))
               - now()) * 1000000)::bigint) AS next_due_in
