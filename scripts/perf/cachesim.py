#!/usr/bin/env python3
"""cachesim.py BIN MODE [n]: one drain with the worker under cachegrind's cache simulation; prints instructions and
simulated D1 and last-level misses per job (a repeatable stand-in for the cache behaviour timed runs cannot resolve:
this machine has no hardware counters)."""
import os, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrapped
binary, mode = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 3000
out = f"/tmp/cachesim-{os.path.basename(binary)}-{mode}.out"
wrapped.drain(binary, mode, n, lambda b, _pid, _d: f'exec valgrind --tool=cachegrind --cache-sim=yes --cachegrind-out-file={out} -- {b} "$@"',
              settle=3)
events, totals = None, None
for line in open(out):
    if line.startswith("events:"):
        events = line.split()[1:]
    if line.startswith("summary:"):
        totals = [int(x) for x in line.split()[1:]]
per = dict(zip(events, totals))
print(os.path.basename(binary), mode, " ".join(f"{k}={v / n:.0f}" for k, v in per.items()), "per job")
