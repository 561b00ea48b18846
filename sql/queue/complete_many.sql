-- running → completed for many jobs at once. Each is guarded by its (id, attempt) and the worker ($3): a
-- worker whose job was rescued and claimed again matches no row, so a late result never overwrites a newer
-- attempt's. Returns the ids that were completed.
UPDATE @schema@.jobs AS job
SET state = 'completed', finished_at = now(), lease_until = NULL, locked_by = NULL
FROM unnest($1::bigint[], $2::integer[]) AS done(id, attempt)
WHERE job.id = done.id AND job.attempt = done.attempt AND job.locked_by = $3::text AND job.state = 'running'
RETURNING job.id
