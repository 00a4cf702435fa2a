#!/usr/bin/env python3
"""cgredis.py MODE N BIN...: redis-server under callgrind, one drain of N jobs per binary; Redis instructions per job."""
import os, sys, tempfile, shutil, subprocess, time, socket
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "bench"))
import peers
mode, n, bins = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
d = tempfile.mkdtemp(prefix="cgr-")
ng, url = peers.start_nginx(d)
def total(path):
    for line in open(path):
        if line.startswith("summary:") or line.startswith("totals:"):
            return int(line.split()[1])
for b in bins:
    port = peers.free_port()
    out = f"/tmp/cgr-{os.path.basename(b)}.cg"
    rp = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", d], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            peers.Redis(port).cmd("PING"); break
        except OSError:
            time.sleep(0.1)
    # enqueue cost is included: measure it separately by a run with no worker is not possible here; report whole
    r = peers.run_deleteq(os.path.abspath(b), mode, n, 128, port, url, d)
    rp.terminate(); rp.wait()
    print(os.path.basename(b), r["drain_per_s"], "/s under valgrind;", f"{total(out)/n:.0f} Ir/job (enqueue+drain)", flush=True)
ng.terminate(); shutil.rmtree(d, ignore_errors=True)
