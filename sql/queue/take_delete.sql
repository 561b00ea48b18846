-- take.sql for a pq::PQ that keeps no completed jobs (ConnectionOptions::keep_completed false): the job is
-- deleted the moment it is returned, or, inside a caller's transaction, when that transaction commits; a
-- rollback leaves it available. $1 queue. Same order, same locked row found by its ctid and same second run
-- when it finds nothing as take.sql. RETURNING says what take.sql's update would have stored, so the job
-- returned reads the same either way: its attempt counted and its state completed.
DELETE FROM @schema@.jobs AS job
WHERE job.ctid = (
    SELECT ctid FROM @schema@.jobs
    WHERE state = 'available' AND queue = $1::text
      AND NOT EXISTS (SELECT FROM @schema@.pauses AS pause
                      WHERE pause.queue = $1::text AND pause.kind = ''
                        AND (pause.until IS NULL OR pause.until > now()))
      AND (NOT EXISTS (SELECT FROM @schema@.pauses AS pause
                       WHERE pause.queue = $1::text AND pause.kind <> ''
                         AND (pause.until IS NULL OR pause.until > now()))
           OR NOT EXISTS (SELECT FROM @schema@.pauses AS pause
                          WHERE pause.queue = $1::text AND pause.kind = jobs.kind
                            AND (pause.until IS NULL OR pause.until > now())))
    ORDER BY priority, coalesce(expected_at, 'infinity'), id
    LIMIT 1
    FOR UPDATE SKIP LOCKED)
RETURNING job.id, job.queue, job.kind, job.data, 'completed'::@schema@.job_state AS state, job.priority,
    job.attempt + 1 AS attempt, job.max_attempts, job.enqueued_at, job.schedule_at, job.expected_at,
    now() AS attempted_at, job.lease_until, now() AS finished_at, job.locked_by, job.cancel_requested,
    job.errors
