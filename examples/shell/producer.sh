#!/bin/sh
# Puts one job per line of stdin (each line a JSON document) into a queue through pq's SQL API (docs/sql.md),
# in one transaction: every line's job or none. psql quotes the input as a literal (:'lines') and the schema
# as an identifier (:"schema"); nothing is spliced into the SQL text. Prints the new jobs' ids in input order.
#   usage: producer.sh DATABASE_URL QUEUE [SCHEMA]   (SCHEMA: pq)
set -eu
url=$1 queue=$2 schema=${3:-pq}
lines=$(cat)
echo "SELECT id FROM :\"schema\".put_many(:'queue', ARRAY(
          SELECT line::jsonb FROM regexp_split_to_table(:'lines', E'\\n') WITH ORDINALITY AS input(line, n)
          WHERE line <> '' ORDER BY n)) AS id;" |
  psql -X -q -At -v ON_ERROR_STOP=1 -v schema="$schema" -v queue="$queue" -v lines="$lines" "$url"
