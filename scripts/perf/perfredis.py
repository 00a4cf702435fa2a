#!/usr/bin/env python3
"""perfredis.py BIN MODE OUT [n]: one drain with redis-server under perf record; OUT.txt has samples per symbol."""
import os, sys, tempfile, shutil, subprocess, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "bench"))
import peers
binary, mode, out = sys.argv[1], sys.argv[2], sys.argv[3]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 50000
d = tempfile.mkdtemp(prefix="pr-")
ng, url = peers.start_nginx(d)
rp, port, _ = peers.start_redis(d)
# start perf only for the drain: wrap the worker so perf attaches as it starts
wrapper = os.path.join(d, "wrap.sh")
open(wrapper, "w").write(f"""#!/bin/sh
if [ "$3" = worker ]; then perf record -F 2999 -p {rp.pid} -o {out}.data >/dev/null 2>&1 & echo $! > {d}/perf.pid; sleep 0.3; exec {binary} "$@"; fi
exec {binary} "$@"
""")
os.chmod(wrapper, 0o755)
try:
    print(peers.run_deleteq(wrapper, mode, n, 128, port, url, d))
finally:
    subprocess.run(f"kill -INT $(cat {d}/perf.pid)", shell=True); time.sleep(2)
    rp.terminate(); ng.terminate(); time.sleep(1)
    shutil.rmtree(d, ignore_errors=True)
subprocess.run(f"perf report -i {out}.data --no-children --sort symbol --percent-limit 0.3 --stdio -n 2>/dev/null | grep -v '^#' | grep -v '^$' | sed -E 's/ +/ /g' > {out}.txt", shell=True)
