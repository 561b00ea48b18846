-- The running jobs' index, keyed by id instead of locked_by. Every statement that touches a running job names
-- it by id; keyed by locked_by, the index invited the planner (which believes, from statistics taken between
-- drains, that about one job runs) into a nested loop that compared each completed id with every running
-- job of the worker: 8 ms instead of 0.9 ms for a batch of 100. The rescuer only needs the partial
-- predicate, and lease_until stays out of the key so that heartbeats remain HOT updates.
DROP INDEX @schema@.jobs_running_idx;
CREATE INDEX jobs_running_idx ON @schema@.jobs (id) WHERE state = 'running';
