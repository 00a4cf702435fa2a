#!/usr/bin/env python3
"""perfw.py BIN MODE OUT [n]: one drain with the worker under `perf record` (flat), report to OUT.txt."""
import os, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrapped
binary, mode, out = sys.argv[1], sys.argv[2], sys.argv[3]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 100000
wrapped.drain(binary, mode, n, lambda b, _pid, _d: f'exec perf record -F 4999 -o {out}.data -- {b} "$@"')
subprocess.run(f"perf report -i {out}.data --no-children --sort dso,symbol --percent-limit 0.2 --stdio -n 2>/dev/null"
               f" | grep -v '^#' | grep -v '^$' > {out}.txt", shell=True)
