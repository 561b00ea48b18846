-- Deletes the jobs of queue $1 in state $2 (NULL: every finished state) that finished, or when unfinished
-- were enqueued, more than $3 microseconds ago (NULL: any age). A worker still running a deleted job finds
-- its completion guarded away and logs a lost lease. Rows another transaction holds (a transactional task,
-- a get inside a transaction) are skipped rather than waited for. Returns how many were deleted and how
-- many matched but were skipped.
WITH unlocked AS (
    SELECT id FROM @schema@.jobs
    WHERE queue = $1::text
      AND CASE WHEN $2::text IS NULL THEN state IN ('completed', 'failed', 'cancelled')
               ELSE state::text = $2::text END
      AND ($3::bigint IS NULL OR coalesce(finished_at, enqueued_at) < now() - $3::bigint * interval '1 microsecond')
    FOR UPDATE SKIP LOCKED
), deleted AS (
    DELETE FROM @schema@.jobs AS job USING unlocked WHERE job.id = unlocked.id RETURNING job.id
)
SELECT (SELECT count(*) FROM deleted) AS deleted,
       greatest(0, (SELECT count(*) FROM @schema@.jobs
        WHERE queue = $1::text
          AND CASE WHEN $2::text IS NULL THEN state IN ('completed', 'failed', 'cancelled')
                   ELSE state::text = $2::text END
          AND ($3::bigint IS NULL
               OR coalesce(finished_at, enqueued_at) < now() - $3::bigint * interval '1 microsecond'))
        - (SELECT count(*) FROM deleted)) AS skipped
