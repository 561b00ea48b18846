-- The pauses in force, by queue and kind ('' first: the queue's own).
SELECT queue, kind, until, reason, paused_by, created_at
FROM @schema@.pauses
WHERE until IS NULL OR until > now()
ORDER BY queue, kind
