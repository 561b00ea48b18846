-- running → failed (no attempts left, or an error that no retry can fix), with the error ($3) appended to
-- the job's history. Guarded like queue/complete_many. Returns the ids that changed.
UPDATE @schema@.jobs AS job
SET state = 'failed', finished_at = now(), lease_until = NULL, locked_by = NULL,
    errors = job.errors || jsonb_build_array(jsonb_build_object(
        'attempt', job.attempt, 'at', now(), 'error', failed.error, 'worker', job.locked_by))
FROM (SELECT wanted.*, $4::text AS worker
      FROM unnest($1::bigint[], $2::integer[], $3::text[]) AS wanted(id, attempt, error) OFFSET 0) AS failed
WHERE job.id = failed.id AND job.attempt = failed.attempt AND job.locked_by = failed.worker
RETURNING job.id
