#!/usr/bin/env python3
"""ab.py BASE NEW ROUNDS [modes] [n]: alternate two deleteq binaries through peers.py's drain; print rates and CPU/job."""
import os, sys, json, tempfile, shutil, statistics, time, subprocess
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "bench"))
import peers

TCK = os.sysconf("SC_CLK_TCK")

def cpu(pid):
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / TCK
    except OSError:
        return 0.0

def detail(pid):
    """user s, sys s, ctx switches (all threads), syscalls r+w"""
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        ut, st = int(f[11]) / TCK, int(f[12]) / TCK
        cs = 0
        for t in os.listdir(f"/proc/{pid}/task"):
            for line in open(f"/proc/{pid}/task/{t}/status"):
                if "ctxt_switches" in line: cs += int(line.split()[1])
        io = dict(l.split(": ") for l in open(f"/proc/{pid}/io").read().splitlines())
        return (ut, st, cs, int(io["syscr"]) + int(io["syscw"]))
    except OSError:
        return None
DETAIL = []

def drain(binary, mode, n, conc, port, url, d, rpid):
    # like peers.run_deleteq, plus CPU of worker and redis during the drain
    cfg = os.path.join(d, f"deleteq-{mode}.toml")
    account = "nop" if mode == "noop" else "cc"
    open(cfg, "w").write(f"""[redis]
url = "redis://127.0.0.1:{port}"
prefix = "deleteq"
[worker]
concurrency = {conc}
lease = "30s"
shutdown_grace = "10s"
[retry]
max_attempts = 8
initial_backoff = "1s"
max_backoff = "1m"
[accounts.nop]
provider = "noop"
[accounts.cc]
provider = "cometchat"
base_url = "{url}"
api_key = "cc-secret-key-123"
rate_limit = "1000000/s"
""")
    jobs = os.path.join(d, f"jobs-{mode}.jsonl")
    with open(jobs, "w") as f:
        for i in range(n):
            f.write(json.dumps({"account": account, "message": f"m{i}", "permanent": True}) + "\n")
    env = dict(os.environ, RUST_LOG="warn", NO_COLOR="1")
    env.pop("REDIS_URL", None); env.pop("DELETEQ_CONFIG", None)
    p = subprocess.run([binary, "--config", cfg, "enqueue", "--file", jobs], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-500:])
    r = peers.Redis(port)
    r0 = cpu(rpid)
    rd0 = detail(rpid)
    t2 = time.perf_counter()
    w = subprocess.Popen([binary, "--config", cfg, "worker"], stdout=open(os.path.join(d, "w.log"), "w"), stderr=subprocess.STDOUT, env=env)
    done = 0
    wc = 0
    while w.poll() is None:
        done = r.cmd("XLEN", "{deleteq}:audit") or 0
        wc = cpu(w.pid) or wc
        if done >= n:
            break
        time.sleep(0.02)
    t3 = time.perf_counter()
    wc = cpu(w.pid) or wc
    wd, rd = detail(w.pid), detail(rpid)
    if wd and rd and os.environ.get("DETAIL"):
        print("   worker user %.0f sys %.0f us/job, ctxsw %.2f/job, syscalls %.2f/job | redis user %.0f sys %.0f, ctxsw %.2f, syscalls %.2f" % (
            wd[0]*1e6/n, wd[1]*1e6/n, wd[2]/n, wd[3]/n, (rd[0]-rd0[0])*1e6/n, (rd[1]-rd0[1])*1e6/n, (rd[2]-rd0[2])/n, (rd[3]-rd0[3])/n), flush=True)
    r1 = cpu(rpid)
    w.terminate(); w.wait(15)
    return round(min(done, n) / (t3 - t2)), (r1 - r0) * 1e6 / n, wc * 1e6 / n

def main():
    base, new, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    modes = (sys.argv[4] if len(sys.argv) > 4 else "noop,http").split(",")
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 50000
    d = tempfile.mkdtemp(prefix="ab-")
    ng, url = peers.start_nginx(d)
    res = {(b, m): [] for b in ("base", "new") for m in modes}
    try:
        for i in range(rounds):
            for mode in modes:
                order = [("base", base), ("new", new)] if i % 2 == 0 else [("new", new), ("base", base)]
                for name, b in order:
                    rp, port, _ = peers.start_redis(d)
                    try:
                        rate, rus, wus = drain(os.path.abspath(b), mode, n, 128, port, url, d, rp.pid)
                    finally:
                        rp.terminate(); rp.wait()
                    res[(name, mode)].append((rate, rus, wus))
                    print(f"round {i} {mode} {name}: {rate}/s redis {rus:.1f}us/job worker {wus:.1f}us/job", flush=True)
    finally:
        ng.terminate()
        shutil.rmtree(d, ignore_errors=True)
    for mode in modes:
        b = res[("base", mode)]; nw = res[("new", mode)]
        bm = statistics.mean(x[0] for x in b); nm = statistics.mean(x[0] for x in nw)
        bmed = statistics.median(x[0] for x in b); nmed = statistics.median(x[0] for x in nw)
        print(f"{mode}: base {bm:.0f} (med {bmed:.0f}) new {nm:.0f} (med {nmed:.0f}) change {100*(nm/bm-1):+.1f}% (med {100*(nmed/bmed-1):+.1f}%)"
              f" | redis us/job {statistics.mean(x[1] for x in b):.1f} -> {statistics.mean(x[1] for x in nw):.1f}"
              f" | worker us/job {statistics.mean(x[2] for x in b):.1f} -> {statistics.mean(x[2] for x in nw):.1f}")

main()
