-- Deletes every job of queue $1, whatever its state (pq's clear). A worker still running one of them finds
-- its completion guarded away and logs a lost lease.
DELETE FROM @schema@.jobs WHERE queue = $1::text
