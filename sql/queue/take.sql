-- available → completed in one step: the job is done the moment it is returned (pq's plain get), or, inside
-- a caller's transaction, the moment that transaction commits; a rollback leaves it untouched. $1 queue.
-- The update finds the locked row by its ctid, a direct heap fetch, instead of a join through the primary
-- key. One case returns nothing although a row was locked: another transaction updated the row and committed
-- after this statement's snapshot, so the lock follows it to a version the update cannot see. The caller
-- runs the statement once more when it finds nothing: with a newer snapshot it sees that version (and, in a
-- caller's transaction, already holds its lock). Paused jobs are not taken, as in claim.sql.
UPDATE @schema@.jobs AS job
SET state = 'completed', attempt = job.attempt + 1, attempted_at = now(), finished_at = now()
WHERE job.ctid = (
    SELECT ctid FROM @schema@.jobs
    WHERE state = 'available' AND queue = $1::text
      AND NOT EXISTS (SELECT FROM @schema@.pauses AS pause
                      WHERE pause.queue = $1::text AND pause.kind = ''
                        AND (pause.until IS NULL OR pause.until > now()))
      AND (NOT EXISTS (SELECT FROM @schema@.pauses AS pause
                       WHERE pause.queue = $1::text AND pause.kind <> ''
                         AND (pause.until IS NULL OR pause.until > now()))
           OR NOT EXISTS (SELECT FROM @schema@.pauses AS pause
                          WHERE pause.queue = $1::text AND pause.kind = jobs.kind
                            AND (pause.until IS NULL OR pause.until > now())))
    ORDER BY priority, coalesce(expected_at, 'infinity'), id
    LIMIT 1
    FOR UPDATE SKIP LOCKED)
RETURNING job.*
