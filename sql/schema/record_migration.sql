-- Records migration $1 named $2 as applied.
INSERT INTO @schema@.migrations (version, name) VALUES ($1::integer, $2::text)
