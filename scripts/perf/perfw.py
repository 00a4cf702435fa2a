#!/usr/bin/env python3
"""perfw.py BIN MODE OUT [n]: one drain with the worker under `perf record` (flat), report to OUT."""
import os, sys, tempfile, shutil, subprocess, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "bench"))
import peers
binary, mode, out = sys.argv[1], sys.argv[2], sys.argv[3]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 100000
d = tempfile.mkdtemp(prefix="pf-")
ng, url = peers.start_nginx(d)
rp, port, _ = peers.start_redis(d)
wrapper = os.path.join(d, "wrap.sh")
open(wrapper, "w").write(f"""#!/bin/sh
if [ "$3" = worker ]; then exec perf record -F 4999 -o {out}.data -- {binary} "$@"; fi
exec {binary} "$@"
""")
os.chmod(wrapper, 0o755)
try:
    print(peers.run_deleteq(wrapper, mode, n, 128, port, url, d))
finally:
    rp.terminate(); ng.terminate(); time.sleep(1)
    shutil.rmtree(d, ignore_errors=True)
subprocess.run(f"perf report -i {out}.data --no-children --sort dso,symbol --percent-limit 0.2 --stdio -n 2>/dev/null | grep -v '^#' | grep -v '^$' > {out}.txt", shell=True)
