-- available → completed in one step: the job is done the moment it is returned (pq's plain get), or, inside
-- a caller's transaction, the moment that transaction commits; a rollback leaves it untouched. $1 queue.
WITH next AS (
    SELECT id FROM @schema@.jobs
    WHERE state = 'available' AND queue = $1::text
    ORDER BY priority, expected_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE @schema@.jobs AS job
SET state = 'completed', attempt = job.attempt + 1, attempted_at = now(), finished_at = now()
FROM next
WHERE job.id = next.id
RETURNING job.*
