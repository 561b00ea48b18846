-- Pauses: durable, fleet-wide stops of the starts of a queue's jobs (kind '') or of one kind in it, until
-- resumed or until a time. Every statement that starts jobs (queue/claim.sql, claim_completing.sql, take.sql,
-- take_delete.sql and the SQL API's take) reads this table inside itself, so neither a worker that missed a
-- notification nor one that started before the pause can start a paused job with a statement that began after
-- the pause committed. A pause stops starts only: running jobs finish, puts and promotions go on. It may name
-- a queue that has no jobs or workers yet. A row whose `until` has passed pauses nothing; pause and resume
-- delete such rows.
CREATE TABLE @schema@.pauses (
    queue text NOT NULL,
    kind text NOT NULL DEFAULT '',
    until timestamptz,
    reason text NOT NULL DEFAULT '',
    paused_by text NOT NULL DEFAULT current_user,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (queue, kind)
);

-- The SQL API's take (007_sql_api.sql) with the pause check of queue/take.sql.
CREATE OR REPLACE FUNCTION @schema@.take(queue text, max_jobs integer DEFAULT 1, keep_completed boolean DEFAULT true)
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
              AND NOT EXISTS (SELECT FROM @schema@.pauses AS pause
                              WHERE pause.queue = take.queue AND pause.kind = ''
                                AND (pause.until IS NULL OR pause.until > now()))
              AND (NOT EXISTS (SELECT FROM @schema@.pauses AS pause
                               WHERE pause.queue = take.queue AND pause.kind <> ''
                                 AND (pause.until IS NULL OR pause.until > now()))
                   OR NOT EXISTS (SELECT FROM @schema@.pauses AS pause
                                  WHERE pause.queue = take.queue AND pause.kind = jobs.kind
                                    AND (pause.until IS NULL OR pause.until > now())))
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
