-- One job by id.
SELECT * FROM @schema@.jobs WHERE id = $1::bigint
