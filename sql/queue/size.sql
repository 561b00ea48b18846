-- Jobs of queue $1 not yet taken: available now or scheduled for later.
SELECT count(*) FROM @schema@.jobs WHERE queue = $1::text AND state IN ('available', 'scheduled')
