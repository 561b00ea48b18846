-- The claim index keyed by coalesce(expected_at, 'infinity') in place of expected_at: the same order (a job
-- without expected_at after those with one), with no NULL in the key. A claim can then start after a given
-- job's place with a row comparison the index seeks to (a comparison with a NULL is NULL). A worker claims
-- after the last job it claimed, and so skips the index entries of the jobs claimed before, which vacuum
-- cannot remove while a session holds the xmin horizon back and which a claim from the head walks one by one
-- (docs/architecture.md, "Claiming from a key"). The table is locked against writes while the index builds;
-- it covers only the available jobs, but the build reads the whole table.
DROP INDEX @schema@.jobs_claim_idx;
CREATE INDEX jobs_claim_idx ON @schema@.jobs (queue, priority, (coalesce(expected_at, 'infinity')), id)
    WHERE state = 'available';
