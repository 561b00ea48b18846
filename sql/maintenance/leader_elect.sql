-- Takes the leadership for holder $1 for $2 microseconds when it is free or expired, or renews it when $1
-- holds it already. Returns the holder on success, no row otherwise.
INSERT INTO @schema@.leader AS leader (name, holder, expires_at)
VALUES ('scheduler', $1::text, now() + $2::bigint * interval '1 microsecond')
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE leader.holder = excluded.holder OR leader.expires_at < now()
RETURNING holder
