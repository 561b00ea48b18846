-- scheduled → available for up to $1 due jobs of every queue, one NOTIFY per queue. Returns the count per
-- queue.
WITH due AS (
    SELECT id FROM @schema@.jobs
    WHERE state = 'scheduled' AND schedule_at <= now()
    ORDER BY schedule_at
    LIMIT $1::integer
    FOR UPDATE SKIP LOCKED
), promoted AS (
    UPDATE @schema@.jobs AS job SET state = 'available'
    FROM due
    WHERE job.id = due.id
    RETURNING job.queue
), notified AS (
    SELECT pg_notify(@channel@, queue || E'\tbefore') FROM (SELECT DISTINCT queue FROM promoted) AS queues
)
SELECT queue, count(*) AS promoted, (SELECT count(*) FROM notified) AS notified
FROM promoted
GROUP BY queue
