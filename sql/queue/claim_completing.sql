-- queue/claim.sql (its place $7–$10 is $10–$13 here) and, in the same statement and so in the same transaction
-- and commit, queue/complete_many.sql for the jobs $7 at attempts $8 that worker $4 finished (or, with $9
-- false, queue/delete_completed_many.sql: a pq::PQ that keeps no completed jobs): a worker that claims as its
-- jobs finish pays one commit per claim, not one for the claim and one for the results. Returns the claimed
-- rows, and a row per completed id whose job columns are NULL and whose `completed` holds the id.
-- Neither part waits for a lock. The claim skips locked rows; so do the completions, and the caller writes
-- those it did not get with complete_many. Waiting here, while holding the rows just claimed, could close a
-- cycle with a take or claim that holds a row it locked but could not claim (see take.sql).
WITH done AS (
    SELECT job.ctid
    FROM @schema@.jobs AS job,
         (SELECT wanted.*, $4::text AS worker FROM unnest($7::bigint[], $8::integer[]) AS wanted(id, attempt)
          OFFSET 0) AS finished
    WHERE job.id = finished.id AND job.attempt = finished.attempt AND job.locked_by = finished.worker
    FOR UPDATE OF job SKIP LOCKED
), kept AS (
    UPDATE @schema@.jobs AS job
    SET state = 'completed', finished_at = now(), lease_until = NULL, locked_by = NULL
    WHERE $9::boolean AND job.ctid = ANY (ARRAY(SELECT ctid FROM done))
    RETURNING job.id
), deleted AS (
    DELETE FROM @schema@.jobs AS job
    WHERE NOT $9::boolean AND job.ctid = ANY (ARRAY(SELECT ctid FROM done))
    RETURNING job.id
), claimed AS (
    UPDATE @schema@.jobs AS job
    SET state = 'running', attempt = job.attempt + 1, attempted_at = now(),
        lease_until = now() + $3::bigint * interval '1 microsecond', locked_by = $4::text
    WHERE job.ctid = ANY (ARRAY(
        SELECT ctid FROM @schema@.jobs
        WHERE state = 'available' AND queue = $1::text AND ($5::text[] IS NULL OR kind = ANY ($5::text[]))
          AND NOT EXISTS (SELECT FROM @schema@.pauses AS pause
                          WHERE pause.queue = $1::text AND pause.kind = ''
                            AND (pause.until IS NULL OR pause.until > now()))
          AND (NOT EXISTS (SELECT FROM @schema@.pauses AS pause
                           WHERE pause.queue = $1::text AND pause.kind <> ''
                             AND (pause.until IS NULL OR pause.until > now()))
               OR NOT EXISTS (SELECT FROM @schema@.pauses AS pause
                              WHERE pause.queue = $1::text AND pause.kind = jobs.kind
                                AND (pause.until IS NULL OR pause.until > now())))
          AND ($6::bigint[] IS NULL OR id <> ALL ($6::bigint[]))
          AND (priority, coalesce(expected_at, 'infinity'), id)
              > ($10::smallint,
                 coalesce(timestamptz 'epoch' + $11::bigint * interval '1 microsecond', $12::timestamptz),
                 $13::bigint)
        ORDER BY priority, coalesce(expected_at, 'infinity'), id
        LIMIT $2::integer
        FOR UPDATE SKIP LOCKED))
    RETURNING job.*
)
SELECT claimed.*, NULL::bigint AS completed FROM claimed
UNION ALL
SELECT (NULL::@schema@.jobs).*, kept.id FROM kept
UNION ALL
SELECT (NULL::@schema@.jobs).*, deleted.id FROM deleted
