-- Per queue, in name order: jobs by state, the microseconds the oldest available job has waited since it fell
-- due (NULL when none is available), and how many jobs finished within the last $1 microseconds. An
-- operator's view: it reads the whole table.
SELECT queue,
       count(*) FILTER (WHERE state = 'scheduled') AS scheduled,
       count(*) FILTER (WHERE state = 'available') AS available,
       count(*) FILTER (WHERE state = 'running') AS running,
       count(*) FILTER (WHERE state = 'completed') AS completed,
       count(*) FILTER (WHERE state = 'failed') AS failed,
       count(*) FILTER (WHERE state = 'cancelled') AS cancelled,
       floor(extract(epoch FROM now() - min(schedule_at) FILTER (WHERE state = 'available')) * 1000000)::bigint
           AS oldest_available,
       count(*) FILTER (WHERE finished_at > now() - $1::bigint * interval '1 microsecond') AS finished
FROM @schema@.jobs
GROUP BY queue
ORDER BY queue
