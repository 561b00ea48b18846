-- Ends the pauses of queue $1 (NULL: every queue) of kind $2 ('': the queue's own; NULL: every kind), and
-- wakes the workers of each queue resumed, marked as jobs that sort before their places: the jobs that waited
-- meanwhile may. Returns how many pauses that still paused something ended. Expired pauses go too.
WITH resumed AS (
    DELETE FROM @schema@.pauses
    WHERE (queue = $1::text OR $1::text IS NULL) AND (kind = $2::text OR $2::text IS NULL)
       OR until <= now()
    RETURNING queue, until
), notified AS (
    SELECT pg_notify(@channel@, queue || E'\tbefore')
    FROM (SELECT DISTINCT queue FROM resumed WHERE until IS NULL OR until > now()) AS woken
)
SELECT (SELECT count(*) FROM resumed WHERE until IS NULL OR until > now()) AS resumed,
       (SELECT count(*) FROM notified) AS notified
