-- Jobs of queue $1 that a get could take now, as the pq seed's len() counts them: available, and scheduled
-- ones already due, which a blocking get promotes before it takes.
SELECT count(*) FROM @schema@.jobs
WHERE queue = $1::text AND (state = 'available' OR (state = 'scheduled' AND schedule_at <= now()))
