-- Locks a job that this worker ($3) still holds at this attempt, inside a transactional task's transaction,
-- so that its completion and the handler's writes commit together. No row: the lease has passed on.
SELECT id FROM @schema@.jobs
WHERE id = $1::bigint AND attempt = $2::integer AND locked_by = $3::text AND state = 'running'
FOR UPDATE
