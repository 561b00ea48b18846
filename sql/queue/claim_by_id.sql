-- claim.sql, joined on the primary key: it also finds rows that claim.sql locked but could not see (updated
-- after that statement's snapshot; this statement's snapshot is newer). Parameters as claim.sql's.
-- The locking select sits in a CTE so it runs once: an IN (subquery) may be re-run by the planner and lock
-- more than LIMIT rows (PostgreSQL bug #15715).
WITH next AS (
    SELECT id FROM @schema@.jobs
    WHERE state = 'available' AND queue = $1::text
    ORDER BY priority, expected_at, id
    LIMIT $2::integer
    FOR UPDATE SKIP LOCKED
)
UPDATE @schema@.jobs AS job
SET state = 'running', attempt = job.attempt + 1, attempted_at = now(),
    lease_until = now() + $3::bigint * interval '1 microsecond', locked_by = $4::text
FROM next
WHERE job.id = next.id
RETURNING job.*
