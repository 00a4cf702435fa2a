#!/usr/bin/env python3
"""slowlog.py BIN MODE [n]: one drain with SLOWLOG catching every command; Redis time per script (by its key count and first key)."""
import os, sys, tempfile, shutil, collections, socket
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "bench"))
import peers
binary, mode = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 50000

def resp(f):
    line = f.readline()
    t, rest = line[:1], line[1:-2]
    if t == b'*':
        k = int(rest)
        return None if k < 0 else [resp(f) for _ in range(k)]
    if t == b'$':
        k = int(rest)
        if k < 0: return None
        data = f.read(k + 2)[:-2]
        return data.decode(errors='replace')
    if t == b':': return int(rest)
    return rest.decode()

def cmd(sock, f, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = str(a).encode(); out += b"$%d\r\n%s\r\n" % (len(a), a)
    sock.sendall(out)
    return resp(f)

d = tempfile.mkdtemp(prefix="sl-")
ng, url = peers.start_nginx(d)
rp, port, _ = peers.start_redis(d)
s = socket.create_connection(("127.0.0.1", port)); f = s.makefile("rb")
cmd(s, f, "CONFIG", "SET", "slowlog-max-len", "2000000")
cmd(s, f, "CONFIG", "SET", "slowlog-log-slower-than", "0")
try:
    print(peers.run_deleteq(os.path.abspath(binary), mode, n, 128, port, url, d))
    entries = cmd(s, f, "SLOWLOG", "GET", "-1")
finally:
    rp.terminate(); ng.terminate()
    shutil.rmtree(d, ignore_errors=True)
agg = collections.defaultdict(lambda: [0, 0])
for e in entries:
    args = e[3]
    name = args[0].lower()
    if name in ("evalsha", "eval"):
        nk = int(args[2]); first = args[3] if nk else ''
        name = f"evalsha keys={nk} {first.split(':',1)[-1] if ':' in first else first}"
    agg[name][0] += 1; agg[name][1] += e[2]
total = sum(v[1] for v in agg.values())
for k, (c, us) in sorted(agg.items(), key=lambda kv: -kv[1][1]):
    print(f"{k:50s} calls {c:8d} ({c/n:6.3f}/job) total {us/1e3:8.1f} ms  {us/max(c,1):7.1f} us/call  {us/n:6.2f} us/job")
print(f"total {total/1e3:.1f} ms = {total/n:.2f} us/job")
