#!/usr/bin/env python3
"""netstats.py MODE BIN...: one drain each; Redis reads/writes processed and net bytes per job (INFO stats), drain only."""
import os, sys, tempfile, shutil, socket
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "bench"))
import peers
exec(compile(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ab.py")).read().replace("\nmain()\n", "\n"), "ab.py", "exec"))
mode, bins = sys.argv[1], sys.argv[2:]
n = 50000
d = tempfile.mkdtemp(prefix="ns-")
ng, url = peers.start_nginx(d)
def info(port):
    s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"INFO stats\r\n")
    data = b""
    while not data.endswith(b"\r\n\r\n") and b"\r\n" in data[:20] and len(data) < int(data[1:data.index(b"\r\n")]) + 10 if data else True:
        data += s.recv(65536)
        if len(data) > 5 and data.count(b"\r\n") > 30: break
    out = {}
    for line in data.decode().splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            try: out[k] = int(v)
            except ValueError: pass
    return out
try:
    for b in bins:
        rp, port, _ = peers.start_redis(d)
        # enqueue first via drain(); measure stats around the whole drain() minus enqueue: take stats after enqueue by wrapping
        import subprocess
        before = {}
        orig_popen = subprocess.Popen
        def popen(*a, **k):
            global before
            if "worker" in a[0]:
                before = info(port)
            return orig_popen(*a, **k)
        subprocess.Popen = popen
        r = drain(os.path.abspath(b), mode, n, 128, port, url, d, rp.pid)
        subprocess.Popen = orig_popen
        after = info(port)
        rp.terminate(); rp.wait()
        keys = ["total_reads_processed", "total_writes_processed", "total_net_input_bytes", "total_net_output_bytes", "total_commands_processed"]
        print(os.path.basename(b), r[0], "/s", " ".join(f"{k.replace('total_','')}={(after[k]-before.get(k,0))/n:.2f}" for k in keys))
finally:
    ng.terminate(); shutil.rmtree(d, ignore_errors=True)
