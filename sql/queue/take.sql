-- available → completed in one step: the job is done the moment it is returned (pq's plain get), or, inside
-- a caller's transaction, the moment that transaction commits; a rollback leaves it untouched. $1 queue.
-- The update finds the locked row by its ctid, a direct heap fetch, instead of a second descent of the
-- primary key: a one-row take costs a tenth less. One case returns nothing although a row was locked: the row
-- was updated and committed by another transaction after this statement's snapshot (the lock then follows it
-- to a version the update cannot see). The caller runs take_by_id.sql when this finds nothing.
UPDATE @schema@.jobs AS job
SET state = 'completed', attempt = job.attempt + 1, attempted_at = now(), finished_at = now()
WHERE job.ctid = (
    SELECT ctid FROM @schema@.jobs
    WHERE state = 'available' AND queue = $1::text
    ORDER BY priority, expected_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED)
RETURNING job.*
