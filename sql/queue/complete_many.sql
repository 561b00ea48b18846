-- running → completed for many jobs at once. Each is guarded by its (id, attempt) and the worker ($3): a
-- worker whose job was rescued and claimed again matches no row, so a late result never overwrites a newer
-- attempt's. Returns the ids that were completed.
-- The worker's name rides in the batch, behind OFFSET 0, so that the guard is a join condition: said as
-- `job.locked_by = $3` it restricts the table, and with statistics taken while no job ran the planner expects
-- one row and scans the whole table (pq-bench's W3: 16-38 ms for 400-3,000 ids); with a generic plan it may
-- even compare every row with every id. Joined, the plan is a primary-key lookup per id, or one hash join for
-- a large batch.
-- locked_by is set iff the job runs (job_invariants), so the guard needs no `state = 'running'`; saying it
-- would invite the partial index of running jobs. The worker's other guarded statements are written alike.
UPDATE @schema@.jobs AS job
SET state = 'completed', finished_at = now(), lease_until = NULL, locked_by = NULL
FROM (SELECT wanted.*, $3::text AS worker FROM unnest($1::bigint[], $2::integer[]) AS wanted(id, attempt)
      OFFSET 0) AS done
WHERE job.id = done.id AND job.attempt = done.attempt AND job.locked_by = done.worker
RETURNING job.id
