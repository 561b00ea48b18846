-- The newest applied migration.
SELECT coalesce(max(version), 0) AS version FROM @schema@.migrations
