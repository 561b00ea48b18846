-- Wakes the listeners of queues: one NOTIFY per payload in $1 (text[]), the queue's name, marked when its jobs
-- may sort before those waiting (pg::wake_payload; the other notifying statements mark theirs). Sent in a
-- transaction of its own after the commit that made their jobs available, so that it never waits for another
-- transaction's WAL flush: it writes nothing, and a transaction that only notifies commits without one.
SELECT pg_notify(@channel@, payload) FROM unnest($1::text[]) AS wanted(payload)
