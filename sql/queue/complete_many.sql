-- running → completed for many jobs at once. Each is guarded by its (id, attempt) and the worker ($3): a
-- worker whose job was rescued and claimed again matches no row, so a late result never overwrites a newer
-- attempt's. Returns the ids that were completed.
-- locked_by is set iff the job runs (job_invariants), so the guard needs no `state = 'running'`; saying it
-- would let the planner scan the partial index of running jobs for every id of the batch, a nested loop
-- it picks whenever the statistics were taken while nothing ran (27 s for 17,000 ids in pq-bench's W5).
-- The worker's other guarded statements leave it unsaid for the same reason.
UPDATE @schema@.jobs AS job
SET state = 'completed', finished_at = now(), lease_until = NULL, locked_by = NULL
FROM unnest($1::bigint[], $2::integer[]) AS done(id, attempt)
WHERE job.id = done.id AND job.attempt = done.attempt AND job.locked_by = $3::text
RETURNING job.id
