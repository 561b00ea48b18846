-- scheduled / available → cancelled for job $1, finished now (`pq cancel`). A running job stays running with
-- cancel_requested set: its worker sees the request at its next heartbeat and stops. Returns the job's state
-- when the statement changed it (NULL otherwise) and whether the job exists.
WITH changed AS (
    UPDATE @schema@.jobs
    SET state = CASE WHEN state = 'running' THEN state ELSE 'cancelled' END,
        finished_at = CASE WHEN state = 'running' THEN NULL ELSE now() END,
        cancel_requested = (state = 'running')
    WHERE id = $1::bigint AND state IN ('scheduled', 'available', 'running')
    RETURNING state
)
SELECT (SELECT state::text FROM changed) AS state,
       EXISTS (SELECT FROM @schema@.jobs WHERE id = $1::bigint) AS found
