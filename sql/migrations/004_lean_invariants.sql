-- The invariants of 001's CHECK constraints, in a shape PostgreSQL checks cheaply. A table's CHECK constraints
-- are read back from their stored node text and planned again by every statement that writes the table, which
-- for a one-row statement cost more than the write itself (20,000 one-row inserts in a server-side loop: 10 µs
-- each without pq.jobs' constraints, 32 µs with them). A domain's constraints are planned once per session and
-- cached, so every rule about one column moves into a domain; the rules that tie columns together stay a
-- table CHECK, one, as small as it can be said.
CREATE DOMAIN @schema@.queue_name AS text CONSTRAINT queue_length CHECK (octet_length(VALUE) BETWEEN 1 AND 128);
CREATE DOMAIN @schema@.kind_name AS text CONSTRAINT kind_length CHECK (octet_length(VALUE) <= 128);
CREATE DOMAIN @schema@.attempt_count AS integer CONSTRAINT attempt_not_negative CHECK (VALUE >= 0);
CREATE DOMAIN @schema@.attempt_limit AS integer CONSTRAINT max_attempts_positive CHECK (VALUE > 0);
CREATE DOMAIN @schema@.error_list AS jsonb CONSTRAINT errors_is_array CHECK (jsonb_typeof(VALUE) = 'array');

ALTER TABLE @schema@.jobs
    DROP CONSTRAINT queue_length,
    DROP CONSTRAINT kind_length,
    DROP CONSTRAINT attempt_in_range,
    DROP CONSTRAINT finished_iff_terminal,
    DROP CONSTRAINT leased_iff_running,
    DROP CONSTRAINT errors_is_array,
    ALTER COLUMN queue TYPE @schema@.queue_name,
    ALTER COLUMN kind TYPE @schema@.kind_name,
    ALTER COLUMN attempt TYPE @schema@.attempt_count,
    ALTER COLUMN max_attempts TYPE @schema@.attempt_limit,
    ALTER COLUMN errors TYPE @schema@.error_list,
    -- The terminal states are the last three of job_state (completed, failed, cancelled), so one comparison
    -- says "terminal": finished_at is set iff the state is terminal; locked_by, and with it lease_until, iff
    -- running. That locked_by alone says "running" lets the guarded statements name a running job by
    -- (id, attempt, locked_by) without naming its state (see queue/complete_many.sql).
    ADD CONSTRAINT job_invariants CHECK (
        attempt <= max_attempts
        AND (state >= 'completed') = (finished_at IS NOT NULL)
        AND (state = 'running') = (locked_by IS NOT NULL)
        AND (locked_by IS NULL) = (lease_until IS NULL));
