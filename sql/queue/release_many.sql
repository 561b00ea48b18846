-- running → available for jobs a stopping worker could not finish within its grace period. The interrupted
-- attempt does not count. Guarded like queue/complete_many; one NOTIFY per queue. Returns the ids released.
WITH released AS (
    UPDATE @schema@.jobs AS job
    SET state = 'available', attempt = job.attempt - 1, lease_until = NULL, locked_by = NULL
    FROM (SELECT wanted.*, $3::text AS worker FROM unnest($1::bigint[], $2::integer[]) AS wanted(id, attempt)
          OFFSET 0) AS stopped
    WHERE job.id = stopped.id AND job.attempt = stopped.attempt AND job.locked_by = stopped.worker
    RETURNING job.id, job.queue
), notified AS (
    SELECT pg_notify(@channel@, queue || E'\tbefore') FROM (SELECT DISTINCT queue FROM released) AS queues
)
SELECT released.id, (SELECT count(*) FROM notified) AS notified FROM released
