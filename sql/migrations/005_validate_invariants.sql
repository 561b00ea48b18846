-- Checks the rows that were there before 004 against job_invariants. VALIDATE takes SHARE UPDATE EXCLUSIVE,
-- which lets every read and write of pq.jobs go on while it scans; pq::PQ::create() runs each migration in a
-- transaction of its own, so 004's ACCESS EXCLUSIVE is gone by now. A constraint already valid (a new
-- install's, or one that reached version 4 by an earlier form of 004) is not scanned again.
ALTER TABLE @schema@.jobs VALIDATE CONSTRAINT job_invariants;
