-- Whether queue $1 holds a job of kind $2, in any state: a pause of a kind it has never seen is as a rule a
-- misspelt name. Stops at the first such job; a kind the queue lacks reads all of its jobs once.
SELECT EXISTS (SELECT FROM @schema@.jobs WHERE queue = $1::text AND kind = $2::text)
