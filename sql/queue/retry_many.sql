-- running → scheduled, to run again after a delay ($3, microseconds from now), with the error ($4) appended
-- to the job's history; a job whose cancellation was requested is cancelled instead. Guarded like
-- queue/complete_many. Returns the ids that changed, and whether each was cancelled.
UPDATE @schema@.jobs AS job
SET state = CASE WHEN job.cancel_requested THEN 'cancelled' ELSE 'scheduled' END::@schema@.job_state,
    schedule_at = CASE WHEN job.cancel_requested THEN job.schedule_at
                       ELSE now() + failed.delay * interval '1 microsecond' END,
    finished_at = CASE WHEN job.cancel_requested THEN now() END,
    lease_until = NULL,
    locked_by = NULL,
    errors = job.errors || jsonb_build_array(jsonb_build_object(
        'attempt', job.attempt, 'at', now(), 'error', failed.error, 'worker', job.locked_by))
FROM (SELECT wanted.*, $5::text AS worker
      FROM unnest($1::bigint[], $2::integer[], $3::bigint[], $4::text[]) AS wanted(id, attempt, delay, error)
      OFFSET 0) AS failed
WHERE job.id = failed.id AND job.attempt = failed.attempt AND job.locked_by = failed.worker
RETURNING job.id, job.state = 'cancelled'
