-- take.sql, joined on the primary key: it also finds a row that take.sql locked but could not see (updated
-- after that statement's snapshot; this statement's snapshot is newer). $1 queue.
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
