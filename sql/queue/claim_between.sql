-- claim.sql for the jobs between two places in dequeue order only: after the place of $7-$10 and up to and
-- including the one of $11-$14 (priority, expected_at as epoch microseconds or, when it is not a finite time,
-- as text, id). A worker's claims from the head of the claim index stop at the place its other claims go on
-- from, so that a claim that reads a long run of dead entries first never holds the newest jobs meanwhile.
-- Both row comparisons are index conditions: the scan starts at one place and ends at the other.
UPDATE @schema@.jobs AS job
SET state = 'running', attempt = job.attempt + 1, attempted_at = now(),
    lease_until = now() + $3::bigint * interval '1 microsecond', locked_by = $4::text
WHERE job.ctid = ANY (ARRAY(
    SELECT ctid FROM @schema@.jobs
    WHERE state = 'available' AND queue = $1::text AND ($5::text[] IS NULL OR kind = ANY ($5::text[]))
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
