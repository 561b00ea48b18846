-- failed / cancelled → available (`pq retry`): job $1, or the jobs of queue $2 in state $3 (NULL matches any
-- of the two). Due now; max_attempts is raised when the attempts are used up, so the job gets one more; the
-- error history stays. NOTIFY once per queue that received jobs. Returns how many were requeued.
WITH requeued AS (
    UPDATE @schema@.jobs
    SET state = 'available', finished_at = NULL, schedule_at = now(), lease_until = NULL, locked_by = NULL,
        cancel_requested = false, max_attempts = greatest(max_attempts, attempt + 1)
    WHERE state IN ('failed', 'cancelled')
      AND ($1::bigint IS NULL OR id = $1::bigint)
      AND ($2::text IS NULL OR queue = $2::text)
      AND ($3::text IS NULL OR state::text = $3::text)
    RETURNING queue
), notified AS (
    SELECT pg_notify(@channel@, queue || E'\tbefore') FROM (SELECT DISTINCT queue FROM requeued) AS queues
)
SELECT (SELECT count(*) FROM requeued) AS requeued, (SELECT count(*) FROM notified) AS notified
