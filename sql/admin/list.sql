-- Jobs of queue $1 in state $2 of kind $3 (NULL matches any), newest first, at most $4.
SELECT * FROM @schema@.jobs
WHERE ($1::text IS NULL OR queue = $1::text)
  AND ($2::text IS NULL OR state::text = $2::text)
  AND ($3::text IS NULL OR kind = $3::text)
ORDER BY id DESC
LIMIT $4::bigint
