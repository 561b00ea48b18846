-- Wakes the listeners of queues $1 (text[]): one NOTIFY each, the queue's name as payload. Sent in a
-- transaction of its own after the commit that made their jobs available, so that it never waits for another
-- transaction's WAL flush: it writes nothing, and a transaction that only notifies commits without one.
SELECT pg_notify(@channel@, queue) FROM unnest($1::text[]) AS wanted(queue)
