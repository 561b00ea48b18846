-- Pauses the starts of queue $1's jobs of kind $2 ('': every kind) for $3 microseconds (NULL: until resumed),
-- for reason $4. Pausing what is paused already replaces its end and reason. With $5, running jobs in scope get
-- a cancel request, as admin/cancel.sql makes it. Returns how many running jobs got one and how many run in
-- scope, by this statement's snapshot. Expired pauses of other scopes go.
WITH expired AS (
    DELETE FROM @schema@.pauses
    WHERE until <= now() AND (queue, kind) <> ($1::text, $2::text)
), paused AS (
    INSERT INTO @schema@.pauses AS pause (queue, kind, until, reason)
    VALUES ($1::text, $2::text, now() + $3::bigint * interval '1 microsecond', $4::text)
    ON CONFLICT (queue, kind) DO UPDATE
    SET until = excluded.until, reason = excluded.reason, paused_by = excluded.paused_by,
        created_at = excluded.created_at
), asked AS (
    UPDATE @schema@.jobs SET cancel_requested = true
    WHERE $5::boolean AND state = 'running' AND queue = $1::text AND ($2::text = '' OR kind = $2::text)
      AND NOT cancel_requested
    RETURNING id
)
SELECT (SELECT count(*) FROM asked) AS cancel_requested,
       (SELECT count(*) FROM @schema@.jobs
        WHERE state = 'running' AND queue = $1::text AND ($2::text = '' OR kind = $2::text)) AS running
