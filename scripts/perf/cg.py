#!/usr/bin/env python3
"""cg.py BIN MODE OUT [n]: one drain with the worker under callgrind; OUT.cg is the callgrind file."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrapped
binary, mode, out = sys.argv[1], sys.argv[2], sys.argv[3]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
wrapped.drain(binary, mode, n, lambda b, _pid, _d: f'exec valgrind --tool=callgrind --callgrind-out-file={out}.cg -- {b} "$@"',
              settle=3)
