-- available → running, up to $2 jobs of queue $1 in dequeue order, leased for $3 microseconds to worker $4,
-- of the kinds in $5 only (NULL: any kind). A worker names the kinds it has handlers for, so a kind it does not
-- know (a newer producer during a rolling deploy) stays available for a worker that knows it; the kind is no
-- index key, so jobs of other kinds ahead in the queue cost one index entry each to pass. Jobs in $6 are
-- skipped: the worker's own timed-out runs of them still go on. The claim starts after the place in dequeue
-- order of priority $7, expected_at $8 (epoch microseconds) or, when it is not a finite time, $9 ('infinity'
-- for none, '-infinity'), and id $10; the lowest place is the head. A worker claims after the last job it
-- claimed, which skips the index entries of the jobs claimed before (see migrations/006_claim_key.sql). It
-- ends at the place $11-$14, inclusive (the highest place: no end): a worker's claims from the head stop where
-- its other claims go on, so that one that reads a long run of dead entries first never holds the newest jobs
-- meanwhile. Both row comparisons are index conditions: the scan starts at one place and stops at the other.
-- The update finds the locked rows by their ctids, a direct heap fetch each, instead of a join through the
-- primary key. ARRAY(subquery) is an init plan, run once: an IN (subquery) may be re-run by the planner and
-- lock more than LIMIT rows (PostgreSQL bug #15715). A row that another transaction updated and committed
-- after this statement's snapshot is locked but not claimed (see take.sql); its lock ends with the claim's
-- transaction, and when nothing at all was claimed the caller runs the statement once more. Paused jobs
-- (migrations/008_pauses.sql) are not claimed: a pause of the whole queue is an uncorrelated probe, run once,
-- that stops the statement before its scan; so is whether any kind of the queue is paused, and only then
-- does each row meet the paused kinds (hashed, read once). A `kind <> ALL (paused kinds)` instead would be
-- estimated to keep no row of a queue whose jobs share one kind, and the planner would sort the whole queue.
UPDATE @schema@.jobs AS job
SET state = 'running', attempt = job.attempt + 1, attempted_at = now(),
    lease_until = now() + $3::bigint * interval '1 microsecond', locked_by = $4::text
WHERE job.ctid = ANY (ARRAY(
    SELECT ctid FROM @schema@.jobs
    WHERE state = 'available' AND queue = $1::text AND ($5::text[] IS NULL OR kind = ANY ($5::text[]))
      AND NOT EXISTS (SELECT FROM @schema@.pauses AS pause
                      WHERE pause.queue = $1::text AND pause.kind = ''
                        AND (pause.until IS NULL OR pause.until > now()))
      AND (NOT EXISTS (SELECT FROM @schema@.pauses AS pause
                       WHERE pause.queue = $1::text AND pause.kind <> ''
                         AND (pause.until IS NULL OR pause.until > now()))
           OR NOT EXISTS (SELECT FROM @schema@.pauses AS pause
                          WHERE pause.queue = $1::text AND pause.kind = jobs.kind
                            AND (pause.until IS NULL OR pause.until > now())))
      AND ($6::bigint[] IS NULL OR id <> ALL ($6::bigint[]))
      AND (priority, coalesce(expected_at, 'infinity'), id)
          > ($7::smallint, coalesce(timestamptz 'epoch' + $8::bigint * interval '1 microsecond', $9::timestamptz),
             $10::bigint)
      AND (priority, coalesce(expected_at, 'infinity'), id)
          <= ($11::smallint, coalesce(timestamptz 'epoch' + $12::bigint * interval '1 microsecond', $13::timestamptz),
              $14::bigint)
    ORDER BY priority, coalesce(expected_at, 'infinity'), id
    LIMIT $2::integer
    FOR UPDATE SKIP LOCKED))
RETURNING job.*
