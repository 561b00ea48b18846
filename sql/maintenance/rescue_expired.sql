-- running → scheduled (to run at once), failed (no attempts left) or cancelled (cancel requested) for up to
-- $1 jobs whose lease expired, of the queues in $2 (NULL: every queue; a worker rescues its own queues'), with
-- "lease expired" appended to their errors. Honouring max_attempts means
-- a job that kills its worker cannot loop forever. Rows locked by a transactional task still at work are
-- skipped: their transaction is alive. Returns the rescued jobs.
WITH expired AS (
    SELECT id FROM @schema@.jobs
    WHERE state = 'running' AND lease_until < now() AND ($2::text[] IS NULL OR queue = ANY ($2::text[]))
    ORDER BY lease_until
    LIMIT $1::integer
    FOR UPDATE SKIP LOCKED
)
UPDATE @schema@.jobs AS job
SET state = CASE WHEN job.cancel_requested THEN 'cancelled'
                 WHEN job.attempt < job.max_attempts THEN 'scheduled'
                 ELSE 'failed' END::@schema@.job_state,
    schedule_at = CASE WHEN job.attempt < job.max_attempts THEN now() ELSE job.schedule_at END,
    finished_at = CASE WHEN job.cancel_requested OR job.attempt >= job.max_attempts THEN now() END,
    lease_until = NULL,
    locked_by = NULL,
    errors = job.errors || jsonb_build_array(jsonb_build_object(
        'attempt', job.attempt, 'at', now(), 'error', 'lease expired', 'worker', job.locked_by))
FROM expired
WHERE job.id = expired.id
RETURNING job.id, job.queue, job.state, job.attempt
