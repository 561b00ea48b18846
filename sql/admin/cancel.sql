-- scheduled / available → cancelled for job $1, finished now (`pq cancel`). A running job stays running with
-- cancel_requested set: its worker sees the request at its next heartbeat and stops. Returns the job's state
-- when the statement changed it (NULL otherwise), whether the job exists, and whether another transaction
-- holds its row: a transactional task or a get inside a transaction. SKIP LOCKED, so that cancel answers at
-- once instead of waiting for that transaction, which may last as long as the task's timeout.
WITH target AS (
    SELECT id FROM @schema@.jobs
    WHERE id = $1::bigint AND state IN ('scheduled', 'available', 'running')
    FOR UPDATE SKIP LOCKED
), changed AS (
    UPDATE @schema@.jobs AS job
    SET state = CASE WHEN job.state = 'running' THEN job.state ELSE 'cancelled' END,
        finished_at = CASE WHEN job.state = 'running' THEN NULL ELSE now() END,
        cancel_requested = (job.state = 'running')
    FROM target
    WHERE job.id = target.id
    RETURNING job.state
)
SELECT (SELECT state::text FROM changed) AS state,
       EXISTS (SELECT FROM @schema@.jobs WHERE id = $1::bigint) AS found,
       NOT EXISTS (SELECT FROM target)
           AND EXISTS (SELECT FROM @schema@.jobs WHERE id = $1::bigint
                       AND state IN ('scheduled', 'available', 'running')) AS locked
