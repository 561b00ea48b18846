-- The SQL API: put, put_many, take, cancel and retry as functions in pq's schema, so that any client of the
-- database (psql, Python, a C++ service on libpqxx) enqueues and takes jobs inside its own transaction
-- (docs/sql.md is the reference). They check their arguments as pq::Queue does and raise 22023
-- (invalid_parameter_value) with the same wording, before anything is written; JSON syntax is checked by the
-- cast to jsonb (22P02). They run with the caller's privileges (docs/sql.md lists what a role needs), on a
-- search_path of pg_catalog alone, so that no object of the caller's can stand in for one they use.
--
-- A put notifies inside the caller's transaction, the only place SQL can: PostgreSQL delivers a NOTIFY at
-- the commit, and a rolled-back put wakes nobody. A NOTIFY holds the database's notify lock from the commit
-- until its WAL flush, so producers that commit at once do so one flush at a time (docs/architecture.md,
-- "Wake-ups"); notify => false leaves the wake-up to the workers' poll, or to a pq.notify(queue) after the
-- commit, in a transaction that writes nothing.

-- Raises 22023 unless `name` is a name pq accepts: 1 to `max_bytes` bytes, no control characters (names
-- are printed in logs and tables). PostgreSQL's text holds no NUL and, in a UTF8 database, only UTF-8.
CREATE FUNCTION @schema@.check_name(what text, name text, max_bytes integer, empty_ok boolean DEFAULT false)
RETURNS void LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $pq$
DECLARE
    bad integer;
    code integer;
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION '% name is NULL', what USING ERRCODE = '22023';
    END IF;
    IF name = '' AND NOT empty_ok THEN
        RAISE EXCEPTION '% name is empty', what USING ERRCODE = '22023';
    END IF;
    IF octet_length(name) > max_bytes THEN
        RAISE EXCEPTION '% name is % bytes long; the limit is %', what, octet_length(name), max_bytes
            USING ERRCODE = '22023';
    END IF;
    bad := regexp_instr(name, '[\x01-\x1f\x7f\u0080-\u009f]');
    IF bad > 0 THEN
        -- As pq::log_safe prints it, at its byte offset, as pq::Queue says it.
        code := ascii(substr(name, bad, 1));
        RAISE EXCEPTION '% name contains the control character % at byte %', what,
            CASE code WHEN 10 THEN '\n' WHEN 13 THEN '\r' WHEN 9 THEN '\t'
                      ELSE CASE WHEN code < 128 THEN '\x' || lpad(to_hex(code), 2, '0')
                                ELSE '\u' || lpad(to_hex(code), 4, '0') END END,
            octet_length(substr(name, 1, bad - 1))
            USING ERRCODE = '22023';
    END IF;
END
$pq$;

-- Inserts one job per element of `data`, in order, and returns their ids in that order. `schedule_at` or
-- `run_in` (database time) makes them scheduled; neither: available now. `expected_at` or `expected_in`
-- orders jobs of equal priority.
CREATE FUNCTION @schema@.put_many(
    queue text, data jsonb[], kind text DEFAULT '', priority integer DEFAULT 0,
    schedule_at timestamptz DEFAULT NULL, run_in interval DEFAULT NULL,
    expected_at timestamptz DEFAULT NULL, expected_in interval DEFAULT NULL,
    max_attempts integer DEFAULT 25, notify boolean DEFAULT true)
RETURNS SETOF bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $pq$
#variable_conflict use_column
DECLARE
    due timestamptz;
    expected timestamptz;
    ids bigint[];
    missing integer;
BEGIN
    PERFORM @schema@.check_name('queue', put_many.queue, 128);
    PERFORM @schema@.check_name('kind', put_many.kind, 128, true);
    IF put_many.priority IS NULL OR put_many.priority NOT BETWEEN -32768 AND 32767 THEN
        RAISE EXCEPTION 'priority % is out of range [-32768, 32767]', coalesce(put_many.priority::text, 'NULL')
            USING ERRCODE = '22023';
    END IF;
    IF put_many.max_attempts IS NULL OR put_many.max_attempts < 1 THEN
        RAISE EXCEPTION 'max_attempts is %; a job needs at least 1 attempt', coalesce(put_many.max_attempts::text, 'NULL')
            USING ERRCODE = '22023';
    END IF;
    IF put_many.schedule_at IS NOT NULL AND put_many.run_in IS NOT NULL THEN
        RAISE EXCEPTION 'give schedule_at or run_in, not both' USING ERRCODE = '22023';
    END IF;
    IF put_many.expected_at IS NOT NULL AND put_many.expected_in IS NOT NULL THEN
        RAISE EXCEPTION 'give expected_at or expected_in, not both' USING ERRCODE = '22023';
    END IF;
    IF put_many.data IS NULL THEN
        RAISE EXCEPTION 'job data is NULL' USING ERRCODE = '22023';
    END IF;
    missing := array_position(put_many.data, NULL);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'job %: job data is NULL', missing - 1 USING ERRCODE = '22023';
    END IF;
    due := coalesce(put_many.schedule_at, now() + coalesce(put_many.run_in, interval '0'));
    expected := coalesce(put_many.expected_at, now() + put_many.expected_in);
    WITH inserted AS (
        INSERT INTO @schema@.jobs (queue, kind, data, priority, max_attempts, schedule_at, expected_at, state)
        SELECT put_many.queue, put_many.kind, input.data, put_many.priority, put_many.max_attempts, due, expected,
               CASE WHEN due > now() THEN 'scheduled' ELSE 'available' END::@schema@.job_state
        FROM unnest(put_many.data) WITH ORDINALITY AS input(data, n)
        ORDER BY input.n
        RETURNING id)
    SELECT array_agg(id ORDER BY id) INTO ids FROM inserted;
    -- The payload a worker reads (pg::wake_payload): new jobs of priority 0 without expected_at sort after
    -- every job with a lower id than theirs; others may sort anywhere.
    IF put_many.notify AND due <= now() AND cardinality(ids) > 0 THEN
        PERFORM pg_notify(@channel@, put_many.queue || E'\t' ||
            CASE WHEN put_many.priority <> 0 OR expected IS NOT NULL THEN 'before' ELSE ids[1]::text END);
    END IF;
    RETURN QUERY SELECT unnest(ids);
END
$pq$;

CREATE FUNCTION @schema@.put(
    queue text, data jsonb DEFAULT '{}', kind text DEFAULT '', priority integer DEFAULT 0,
    schedule_at timestamptz DEFAULT NULL, run_in interval DEFAULT NULL,
    expected_at timestamptz DEFAULT NULL, expected_in interval DEFAULT NULL,
    max_attempts integer DEFAULT 25, notify boolean DEFAULT true)
RETURNS bigint LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $pq$
    SELECT @schema@.put_many(queue, ARRAY[data], kind, priority, schedule_at, run_in, expected_at, expected_in,
                             max_attempts, notify)
$pq$;

-- Wakes the listeners of `queue` as if jobs of any place had been put there: for producers that put with
-- notify => false and announce once after their commit.
CREATE FUNCTION @schema@.notify(queue text) RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $pq$
BEGIN
    PERFORM @schema@.check_name('queue', notify.queue, 128);
    PERFORM pg_notify(@channel@, notify.queue || E'\tbefore');
END
$pq$;

-- The transactional get: up to `max_jobs` available jobs of `queue` in dequeue order, locked (SKIP LOCKED),
-- completed at once in the caller's transaction, so that they are done when it commits and available again
-- if it rolls back. keep_completed => false deletes them instead, as ConnectionOptions::keep_completed does;
-- they come back as completed either way. Scheduled jobs become available through the workers or pq-scheduler,
-- as for pq::Queue::get(tx). As queue/take: a row another transaction updated after a statement's snapshot
-- can be locked but not taken, so when nothing came back the whole runs once more, with new snapshots.
CREATE FUNCTION @schema@.take(queue text, max_jobs integer DEFAULT 1, keep_completed boolean DEFAULT true)
RETURNS SETOF @schema@.jobs LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $pq$
#variable_conflict use_column
DECLARE
    job @schema@.jobs;
    locked tid[];
BEGIN
    PERFORM @schema@.check_name('queue', take.queue, 128);
    IF take.max_jobs IS NULL OR take.max_jobs NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'max_jobs is %; take between 1 and 10000 jobs at a time',
            coalesce(take.max_jobs::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    FOR round IN 1..2 LOOP
        locked := ARRAY(
            SELECT ctid FROM @schema@.jobs
            WHERE state = 'available' AND queue = take.queue
            ORDER BY priority, coalesce(expected_at, 'infinity'), id
            LIMIT take.max_jobs
            FOR UPDATE SKIP LOCKED);
        IF take.keep_completed IS DISTINCT FROM false THEN
            RETURN QUERY
            UPDATE @schema@.jobs AS taken
            SET state = 'completed', attempt = taken.attempt + 1, attempted_at = now(), finished_at = now()
            WHERE taken.ctid = ANY (locked)
            RETURNING taken.*;
        ELSE
            FOR job IN DELETE FROM @schema@.jobs AS taken WHERE taken.ctid = ANY (locked) RETURNING taken.* LOOP
                job.state := 'completed';
                job.attempt := job.attempt + 1;
                job.attempted_at := now();
                job.finished_at := now();
                RETURN NEXT job;
            END LOOP;
        END IF;
        IF FOUND THEN
            RETURN;
        END IF;
    END LOOP;
END
$pq$;

-- Job `id` with its row locked, for cancel and retry. Raises P0002 for an unknown id, and 55P03 when another
-- transaction holds the row (a transactional task, or a take in a transaction still open) rather than
-- waiting for it, which may take as long as that task's timeout.
CREATE FUNCTION @schema@.lock_job(id bigint) RETURNS @schema@.jobs LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $pq$
#variable_conflict use_column
DECLARE
    job @schema@.jobs;
BEGIN
    SELECT * INTO job FROM @schema@.jobs WHERE id = lock_job.id FOR UPDATE SKIP LOCKED;
    IF FOUND THEN
        RETURN job;
    END IF;
    IF EXISTS (SELECT FROM @schema@.jobs WHERE id = lock_job.id) THEN
        RAISE EXCEPTION 'job % is locked by another transaction (a transactional task, or a take in a '
                        'transaction still open); try again once it ends', lock_job.id USING ERRCODE = '55P03';
    END IF;
    RAISE EXCEPTION 'there is no job %', lock_job.id USING ERRCODE = 'P0002';
END
$pq$;

-- Cancels job `id` as `pq cancel` does: a scheduled or available job is cancelled now; a running one keeps
-- running with cancel_requested set, and its worker stops it at its next heartbeat; a finished one is left
-- as it is. Returns the job as it is then. Raises as lock_job does.
CREATE FUNCTION @schema@.cancel(id bigint) RETURNS @schema@.jobs LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $pq$
#variable_conflict use_column
DECLARE
    job @schema@.jobs := @schema@.lock_job(cancel.id);
BEGIN
    IF job.state IN ('scheduled', 'available') THEN
        UPDATE @schema@.jobs SET state = 'cancelled', finished_at = now() WHERE id = cancel.id RETURNING * INTO job;
    ELSIF job.state = 'running' THEN
        UPDATE @schema@.jobs SET cancel_requested = true WHERE id = cancel.id RETURNING * INTO job;
    END IF;
    RETURN job;
END
$pq$;

-- Requeues a failed or cancelled job as `pq retry` does: available now, with one more attempt if its
-- attempts are used up, its error history kept, its queue's listeners woken at the commit. Returns the job.
-- Raises 55000 for a job in any other state, and as lock_job does.
CREATE FUNCTION @schema@.retry(id bigint) RETURNS @schema@.jobs LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $pq$
#variable_conflict use_column
DECLARE
    job @schema@.jobs := @schema@.lock_job(retry.id);
BEGIN
    IF job.state NOT IN ('failed', 'cancelled') THEN
        RAISE EXCEPTION 'job % is %; only failed or cancelled jobs can be retried', retry.id, job.state
            USING ERRCODE = '55000';
    END IF;
    UPDATE @schema@.jobs
    SET state = 'available', finished_at = NULL, schedule_at = now(), lease_until = NULL, locked_by = NULL,
        cancel_requested = false, max_attempts = greatest(max_attempts, attempt + 1)
    WHERE id = retry.id
    RETURNING * INTO job;
    PERFORM pg_notify(@channel@, job.queue || E'\tbefore');
    RETURN job;
END
$pq$;
