-- Extends the leases of a worker's running jobs by $4 microseconds from now, in one statement. Only
-- lease_until changes, and it is no index key, so these are HOT updates. Returns the jobs still held, with
-- whether someone asked to cancel them; a job missing from the result has passed to another attempt.
UPDATE @schema@.jobs AS job
SET lease_until = now() + $4::bigint * interval '1 microsecond'
FROM (SELECT wanted.*, $3::text AS worker FROM unnest($1::bigint[], $2::integer[]) AS wanted(id, attempt)
      OFFSET 0) AS held
WHERE job.id = held.id AND job.attempt = held.attempt AND job.locked_by = held.worker
RETURNING job.id, job.cancel_requested
