-- Jobs of queue $1 in state $2, whatever their schedule.
SELECT count(*) FROM @schema@.jobs WHERE queue = $1::text AND state = $2::text::@schema@.job_state
