-- Whether the migrations table exists; $1 is its quoted, schema-qualified name.
SELECT to_regclass($1::text) IS NOT NULL AS installed
