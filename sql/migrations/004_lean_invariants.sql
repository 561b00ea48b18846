-- The invariants of 001's CHECK constraints, in a shape PostgreSQL checks cheaply. A table's CHECK constraints
-- are read back from their stored node text and planned again by every statement that writes the table, which
-- for a one-row statement cost more than the write itself (20,000 one-row inserts in a server-side loop: 10 µs
-- each without pq.jobs' constraints, 32 µs with them). A domain's constraints are planned once per session and
-- cached, so the rules about one column move into domains; the rules that tie columns together stay a table
-- CHECK, one, as small as it can be said.
--
-- Nothing here may rewrite or scan pq.jobs, since it holds ACCESS EXCLUSIVE on it until it commits. A column
-- changed to a domain with constraints is rewritten row by row (2M rows: 6.5 s with every get and put
-- waiting); to a domain without constraints, only the catalog changes. So the domains start bare, and their
-- constraints are added NOT VALID: checked on every value written from now on, without a scan. The rows
-- already there satisfy them: they passed 001's validated constraints, which this drops in the same
-- transaction. job_invariants, stricter than 001's rules about state, is added NOT VALID too, and 005
-- validates it in a transaction of its own, which lets reads and writes go on.
--
-- queue keeps 001's queue_length: its type cannot change without rebuilding the two partial indexes on it,
-- under the same lock (databases that reached version 4 with an earlier form of this migration have it as the
-- domain queue_name; see docs/upgrading.md).
CREATE DOMAIN @schema@.kind_name AS text;
CREATE DOMAIN @schema@.attempt_count AS integer;
CREATE DOMAIN @schema@.attempt_limit AS integer;
CREATE DOMAIN @schema@.error_list AS jsonb;

ALTER TABLE @schema@.jobs
    DROP CONSTRAINT kind_length,
    DROP CONSTRAINT attempt_in_range,
    DROP CONSTRAINT finished_iff_terminal,
    DROP CONSTRAINT leased_iff_running,
    DROP CONSTRAINT errors_is_array,
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
        AND (locked_by IS NULL) = (lease_until IS NULL)) NOT VALID;

ALTER DOMAIN @schema@.kind_name ADD CONSTRAINT kind_length CHECK (octet_length(VALUE) <= 128) NOT VALID;
ALTER DOMAIN @schema@.attempt_count ADD CONSTRAINT attempt_not_negative CHECK (VALUE >= 0) NOT VALID;
ALTER DOMAIN @schema@.attempt_limit ADD CONSTRAINT max_attempts_positive CHECK (VALUE > 0) NOT VALID;
ALTER DOMAIN @schema@.error_list ADD CONSTRAINT errors_is_array CHECK (jsonb_typeof(VALUE) = 'array') NOT VALID;
