-- Deletes the jobs of queue $1 in state $2 (NULL: every finished state) that finished, or when unfinished
-- were enqueued, more than $3 microseconds ago (NULL: any age). A worker still running a deleted job finds
-- its completion guarded away and logs a lost lease.
DELETE FROM @schema@.jobs
WHERE queue = $1::text
  AND CASE WHEN $2::text IS NULL THEN state IN ('completed', 'failed', 'cancelled')
           ELSE state::text = $2::text END
  AND ($3::bigint IS NULL OR coalesce(finished_at, enqueued_at) < now() - $3::bigint * interval '1 microsecond')
