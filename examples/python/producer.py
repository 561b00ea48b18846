#!/usr/bin/python3
"""Puts a job in the same transaction as the order it belongs to, through pq's SQL API (docs/sql.md).

usage: producer.py DSN SCHEMA ORDER_ID [--fail]

With --fail the transaction fails after the put, and neither the order nor its job is written.
"""
import sys

import psycopg2
from psycopg2 import sql
from psycopg2.extras import Json


def main() -> int:
    dsn, schema, order = sys.argv[1], sys.argv[2], int(sys.argv[3])
    fail = "--fail" in sys.argv[4:]
    conn = psycopg2.connect(dsn)
    try:
        with conn:  # one transaction: committed at the end of the block, rolled back if it raises
            with conn.cursor() as cur:
                cur.execute("CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY, customer text)")
                cur.execute("INSERT INTO orders (id, customer) VALUES (%s, %s)", (order, "ada"))
                cur.execute(sql.SQL("SELECT {}.put(%s, %s, kind => %s)").format(sql.Identifier(schema)),
                            ("emails", Json({"order": order}), "confirm"))
                job_id = cur.fetchone()[0]
                if fail:
                    raise RuntimeError(f"order {order} failed after its job {job_id} was put")
        print(job_id)
        return 0
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
