-- How many jobs admin/purge would delete with the same parameters (`pq purge --dry-run`); deletes nothing.
SELECT count(*) FROM @schema@.jobs
WHERE queue = $1::text
  AND CASE WHEN $2::text IS NULL THEN state IN ('completed', 'failed', 'cancelled')
           ELSE state::text = $2::text END
  AND ($3::bigint IS NULL OR coalesce(finished_at, enqueued_at) < now() - $3::bigint * interval '1 microsecond')
