-- Gives up the leadership held by $1.
DELETE FROM @schema@.leader WHERE name = 'scheduler' AND holder = $1::text
