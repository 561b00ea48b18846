-- The job a get on queue $1 would take next, left as it is. A get takes an available job first and promotes
-- due scheduled ones only when there is none, so those come after; each group in dequeue order.
SELECT * FROM @schema@.jobs
WHERE queue = $1::text AND (state = 'available' OR (state = 'scheduled' AND schedule_at <= now()))
ORDER BY state <> 'available', priority, expected_at, id
LIMIT 1
