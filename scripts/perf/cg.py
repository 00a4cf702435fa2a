#!/usr/bin/env python3
"""cg.py BIN MODE OUT [n]: one drain with the worker under callgrind; OUT.cg is the callgrind file."""
import os, sys, tempfile, shutil, subprocess, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "bench"))
import peers
binary, mode, out = sys.argv[1], sys.argv[2], sys.argv[3]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
d = tempfile.mkdtemp(prefix="cg-")
ng, url = peers.start_nginx(d)
rp, port, _ = peers.start_redis(d)
wrapper = os.path.join(d, "wrap.sh")
open(wrapper, "w").write(f"""#!/bin/sh
if [ "$3" = worker ]; then exec valgrind --tool=callgrind --callgrind-out-file={out}.cg -- {binary} "$@"; fi
exec {binary} "$@"
""")
os.chmod(wrapper, 0o755)
try:
    print(peers.run_deleteq(wrapper, mode, n, 128, port, url, d))
finally:
    time.sleep(3)
    rp.terminate(); ng.terminate(); time.sleep(1)
    shutil.rmtree(d, ignore_errors=True)
