-- queue/claim.sql and, in the same statement and so in the same transaction and commit, queue/complete_many.sql
-- for the jobs $7 at attempts $8 that worker $4 finished: a worker that claims as its jobs finish pays one
-- commit per claim, not one for the claim and one for the results. Returns the claimed rows, and a row per
-- completed id whose job columns are NULL and whose `completed` holds the id.
WITH completed AS (
    UPDATE @schema@.jobs AS job
    SET state = 'completed', finished_at = now(), lease_until = NULL, locked_by = NULL
    FROM (SELECT wanted.*, $4::text AS worker FROM unnest($7::bigint[], $8::integer[]) AS wanted(id, attempt)
          OFFSET 0) AS done
    WHERE job.id = done.id AND job.attempt = done.attempt AND job.locked_by = done.worker
    RETURNING job.id
), claimed AS (
    UPDATE @schema@.jobs AS job
    SET state = 'running', attempt = job.attempt + 1, attempted_at = now(),
        lease_until = now() + $3::bigint * interval '1 microsecond', locked_by = $4::text
    WHERE job.ctid = ANY (ARRAY(
        SELECT ctid FROM @schema@.jobs
        WHERE state = 'available' AND queue = $1::text AND ($5::text[] IS NULL OR kind = ANY ($5::text[]))
          AND ($6::bigint[] IS NULL OR id <> ALL ($6::bigint[]))
        ORDER BY priority, expected_at, id
        LIMIT $2::integer
        FOR UPDATE SKIP LOCKED))
    RETURNING job.*
)
SELECT claimed.*, NULL::bigint AS completed FROM claimed
UNION ALL
SELECT (NULL::@schema@.jobs).*, completed.id FROM completed
