-- Deletes up to $3 finished jobs: completed and cancelled ones older than $1 microseconds, failed ones
-- older than $2. Returns how many.
WITH doomed AS (
    SELECT id FROM @schema@.jobs
    WHERE finished_at < now() - least($1::bigint, $2::bigint) * interval '1 microsecond'
      AND ((state IN ('completed', 'cancelled') AND finished_at < now() - $1::bigint * interval '1 microsecond')
           OR (state = 'failed' AND finished_at < now() - $2::bigint * interval '1 microsecond'))
    LIMIT $3::integer
    FOR UPDATE SKIP LOCKED
)
DELETE FROM @schema@.jobs AS job USING doomed WHERE job.id = doomed.id
