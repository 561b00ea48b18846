-- Replaces the data of job $1 in queue $2 while it has not been taken yet. Returns the id when it changed.
UPDATE @schema@.jobs SET data = $3::jsonb
WHERE id = $1::bigint AND queue = $2::text AND state IN ('available', 'scheduled')
RETURNING id
