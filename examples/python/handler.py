#!/usr/bin/python3
"""A pq-worker --exec handler: the job's JSON on stdin, PQ_JOB_ID in the environment (README, pq-worker).

usage: pq-worker --exec confirm='/usr/bin/python3 handler.py OUTDIR'

Writes OUTDIR/<job id>.json with what it did; a job whose data says "fail" exits 1 with the reason on stderr,
which the worker records as the attempt's error.
"""
import json
import os
import sys


def main() -> int:
    job = json.load(sys.stdin)
    if job.get("fail"):
        print(f"order {job.get('order')} cannot be confirmed", file=sys.stderr)
        return 1
    out = os.path.join(sys.argv[1], os.environ["PQ_JOB_ID"] + ".json")
    with open(out, "w", encoding="utf-8") as file:
        json.dump({"confirmed": job["order"], "attempt": int(os.environ["PQ_JOB_ATTEMPT"])}, file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
