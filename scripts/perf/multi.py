#!/usr/bin/env python3
"""multi.py ROUNDS MODE BIN...: every round runs every binary once (rotating order); mean/median rate and CPU per binary."""
import os, sys, tempfile, shutil, statistics
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "bench"))
import peers
AB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ab.py")
src = open(AB).read().replace("\nmain()\n", "\n")
ab = {"__file__": AB}
exec(compile(src, "ab.py", "exec"), ab)
rounds, mode, bins = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
n = int(os.environ.get("N", "50000"))
d = tempfile.mkdtemp(prefix="multi-")
ng, url = peers.start_nginx(d)
res = {b: [] for b in bins}
try:
    for i in range(rounds):
        order = bins[i % len(bins):] + bins[:i % len(bins)]
        for b in order:
            rp, port, _ = peers.start_redis(d)
            try:
                r = ab["drain"](os.path.abspath(b), mode, n, 128, port, url, d, rp.pid)
            finally:
                rp.terminate(); rp.wait()
            res[b].append(r)
            print(f"round {i} {os.path.basename(b)}: {r[0]}/s redis {r[1]:.1f} worker {r[2]:.1f}", flush=True)
finally:
    ng.terminate(); shutil.rmtree(d, ignore_errors=True)
base = statistics.mean(x[0] for x in res[bins[0]])
for b in bins:
    xs = res[b]
    m = statistics.mean(x[0] for x in xs)
    print(f"{os.path.basename(b):14s} mean {m:7.0f} med {statistics.median(x[0] for x in xs):7.0f} ({100*(m/base-1):+.1f}%)  redis {statistics.mean(x[1] for x in xs):5.1f}  worker {statistics.mean(x[2] for x in xs):5.1f} us/job")
