#!/usr/bin/env python3
"""cgredis_drain.py MODE N BIN...: redis-server under callgrind, counters zeroed once the enqueue is done, so what
is counted is the drain alone (startup script loads included); Redis instructions per drained job, and the top
functions in /tmp/cgrd-BIN.txt."""
import os, sys, tempfile, shutil, subprocess, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "bench"))
import peers
mode, n, bins = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
d = tempfile.mkdtemp(prefix="cgrd-")
ng, url = peers.start_nginx(d)
for b in bins:
    port = peers.free_port()
    out = f"/tmp/cgrd-{os.path.basename(b)}.cg"
    rp = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "redis-server", "--port",
                           str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", d],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            peers.Redis(port).cmd("PING"); break
        except OSError:
            time.sleep(0.1)
    wrapper = os.path.join(d, "wrap.sh")
    with open(wrapper, "w") as f:
        f.write(f'#!/bin/sh\nif [ "$3" = enqueue ]; then {os.path.abspath(b)} "$@"; rc=$?; '
                f'callgrind_control -z {rp.pid} >/dev/null; exit $rc; fi\nexec {os.path.abspath(b)} "$@"\n')
    os.chmod(wrapper, 0o755)
    r = peers.run_deleteq(wrapper, mode, n, 128, port, url, d)
    rp.terminate(); rp.wait()
    total = 0
    for line in open(out):
        if line.startswith("summary:") or line.startswith("totals:"):
            total = int(line.split()[1])
    ann = subprocess.run(["callgrind_annotate", "--inclusive=no", out], capture_output=True, text=True).stdout
    open(f"/tmp/cgrd-{os.path.basename(b)}.txt", "w").write(ann)
    print(os.path.basename(b), r["drain_per_s"], "/s under valgrind;", f"{total/n:.0f} Ir/job (drain)", flush=True)
ng.terminate(); shutil.rmtree(d, ignore_errors=True)
