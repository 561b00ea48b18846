-- complete_many.sql for a pq::PQ that keeps no completed jobs (ConnectionOptions::keep_completed false):
-- the same guard by (id, attempt) and worker ($3), so a late result from a rescued attempt deletes nothing
-- of the newer attempt's; the row goes instead of turning completed. Returns the ids that were completed.
-- The worker's name rides in the batch behind OFFSET 0 for the reason complete_many.sql gives.
DELETE FROM @schema@.jobs AS job
USING (SELECT wanted.*, $3::text AS worker FROM unnest($1::bigint[], $2::integer[]) AS wanted(id, attempt)
       OFFSET 0) AS done
WHERE job.id = done.id AND job.attempt = done.attempt AND job.locked_by = done.worker
RETURNING job.id
