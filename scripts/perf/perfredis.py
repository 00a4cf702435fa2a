#!/usr/bin/env python3
"""perfredis.py BIN MODE OUT [n]: one drain with redis-server under perf record; OUT.txt has samples per symbol."""
import os, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrapped
binary, mode, out = sys.argv[1], sys.argv[2], sys.argv[3]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 50000


def worker_line(b, redis_pid, d):
    # perf attaches to Redis as the worker starts, so it records the drain only.
    return (f'perf record -F 2999 -p {redis_pid} -o {out}.data >/dev/null 2>&1 & echo $! > {d}/perf.pid; '
            f'sleep 0.3; exec {b} "$@"')


wrapped.drain(binary, mode, n, worker_line,
              after=lambda d: subprocess.run(f"kill -INT $(cat {d}/perf.pid)", shell=True), settle=2)
subprocess.run(f"perf report -i {out}.data --no-children --sort symbol --percent-limit 0.3 --stdio -n 2>/dev/null"
               f" | grep -v '^#' | grep -v '^$' | sed -E 's/ +/ /g' > {out}.txt", shell=True)
