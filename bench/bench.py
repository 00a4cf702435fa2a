#!/usr/bin/env python3
"""`make bench`: deleteq's standard scenarios on a private redis-server, with the raw Redis limit of the same run.

Scenarios (N jobs each, default 100,000):
  raw        redis-rs pipelined LPUSH, RPOP in batches, one LMOVE per job (64 tasks): the ceiling
  enqueue    `deleteq enqueue --file` single (one transaction per job) and pipelined (20,000 per transaction)
  drain-noop N queued noop jobs drained by one worker (lease + audit record + ack per job)
  drain-http N queued CometChat jobs drained through the emulator (one HTTP DELETE per job)
  pickup     an idle worker: enqueue one job at a time, enqueue -> outcome latency
  quickblox  one bulk job of N QuickBlox ids through the emulator: provider calls made (ceil(N / 50) when nothing
             fails) and messages/s
  lanes      unsends behind a 100,000-message campaign on one account (1,000/s): their latency p50/p99, another
             account's, and a second campaign's share of the account's calls (bench.py --only-lanes)
  expansion  one bulk job of N ids on a one-id-per-call account (N children, N / 1000 expansion steps): the bytes
             Redis read and wrote while it was expanded and drained (INFO stats total_net_input_bytes and
             total_net_output_bytes, before and after), per id: linear in N when each step moves only its own ids
Accounts are configured with a rate limit far above any provider plan: this measures deleteq, not a plan's limit
(the limiter itself stays on). Each drain prints jobs/s, p50/p99 enqueue->outcome latency and the worker's peak RSS. Output: one JSON line per
scenario. Usage: bench.py [--n N] [--single-n N] [--concurrency C] [--bin PATH]
"""
import argparse, json, os, shutil, socket, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def ulid_ms(ulid):
    n = 0
    for ch in ulid[:10]:
        n = n * 32 + CROCKFORD.index(ch)
    return n


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


class Env:
    def __init__(self, binary, d):
        self.binary, self.d, self.procs = binary, d, []

    def redis(self):
        port = free_port()
        p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                              "no", "--dir", self.d], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout.strip() == b"PONG":
                return p, f"redis://127.0.0.1:{port}"
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def emulator(self, latency_ms=0):
        port = free_port()
        p = subprocess.Popen([self.binary, "emulator", "--addr", f"127.0.0.1:{port}", "--accept-unknown",
                              "--latency-ms", str(latency_ms)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        time.sleep(0.5)
        return p, f"http://127.0.0.1:{port}"

    def emulator_stats(self, emu):
        import urllib.request
        with urllib.request.urlopen(f"{emu}/_emulator/stats") as r:
            return json.loads(r.read())

    def config(self, url, emu, conc):
        path = os.path.join(self.d, f"bench-{time.time_ns()}.toml")
        with open(path, "w") as f:
            f.write(f"""[redis]\nurl = "{url}"\nprefix = "deleteq"\n\n[worker]\nconcurrency = {conc}\nlease = "30s"\n"""
                    f"""shutdown_grace = "10s"\n\n[accounts.nop]\nprovider = "noop"\n\n[accounts.cc]\n"""
                    f"""provider = "cometchat"\nbase_url = "{emu or 'http://127.0.0.1:9'}"\napi_key = "bench-key"\nrate_limit = "1000000/s"\n"""
                    f"""\n[accounts.qb]\nprovider = "quickblox"\nbase_url = "{emu or 'http://127.0.0.1:9'}"\n"""
                    f"""api_key = "bench-key"\nbatch_size = 50\nrate_limit = "1000000/s"\n""")
        return path

    def run(self, cfg, *args, stdin=None):
        out = subprocess.run([self.binary, "--config", cfg, *args], capture_output=True, text=True, input=stdin,
                             env=dict(os.environ, RUST_LOG="warn"))
        if out.returncode != 0:
            raise RuntimeError(f"deleteq {' '.join(args)} failed: {out.stderr[-400:]}")
        return out.stdout

    def stop(self):
        for p in self.procs:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()


def jobs_file(d, account, n, prefix="m"):
    path = os.path.join(d, f"jobs-{account}-{n}-{time.time_ns()}.jsonl")
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({"account": account, "message": f"{prefix}{i}", "permanent": True}) + "\n")
    return path


def xlen(url):
    port = url.rsplit(":", 1)[1]
    out = subprocess.run(["redis-cli", "-p", port, "XLEN", "{deleteq}:audit"], capture_output=True, text=True)
    return int(out.stdout.strip() or 0)


def latencies(env, cfg):
    lat = []
    for line in env.run(cfg, "audit", "export").splitlines():
        r = json.loads(line)
        if r["outcome"] == "retry_scheduled":
            continue
        at = time.mktime(time.strptime(r["at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        at_ms = at * 1000 + int(r["at"][20:23])
        lat.append(at_ms - ulid_ms(r["job"]))
    return lat


def drain(env, account, n, conc, latency_ms=0):
    _, url = env.redis()
    emu = env.emulator(latency_ms)[1] if account == "cc" else None
    cfg = env.config(url, emu, conc)
    env.run(cfg, "enqueue", "--file", jobs_file(env.d, account, n))
    log = open(os.path.join(env.d, "worker.log"), "w")
    t0 = time.perf_counter()
    w = subprocess.Popen([env.binary, "--config", cfg, "worker"], stdout=log, stderr=subprocess.STDOUT,
                         env=dict(os.environ, RUST_LOG="warn"))
    done, peak = 0, 0
    deadline = time.time() + 900
    while time.time() < deadline:
        done = xlen(url)
        if done >= n:
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - t0
    try:
        with open(f"/proc/{w.pid}/status") as st:
            for line in st:
                if line.startswith("VmHWM:"):
                    peak = int(line.split()[1])
    except OSError:
        pass
    w.terminate(); w.wait(15)
    lat = latencies(env, cfg)
    return {"done": done, "jobs_per_s": round(min(done, n) / elapsed), "seconds": round(elapsed, 2),
            "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "peak_rss_mb": round(peak / 1024, 1)}


def net_bytes(url):
    port = url.rsplit(":", 1)[1]
    out = subprocess.run(["redis-cli", "-p", port, "INFO", "stats"], capture_output=True, text=True).stdout
    stats = dict(l.split(":", 1) for l in out.splitlines() if ":" in l)
    return int(stats["total_net_input_bytes"]), int(stats["total_net_output_bytes"])


def expansion(env, n, conc):
    """One bulk job of n noop ids (one id per call): the bytes through Redis while it is expanded and drained."""
    _, url = env.redis()
    cfg = env.config(url, None, conc)
    path = os.path.join(env.d, f"bulk-{n}.jsonl")
    with open(path, "w") as f:
        f.write(json.dumps({"account": "nop", "messages": [f"{1_000_000_000 + i}" for i in range(n)]}) + "\n")
    env.run(cfg, "enqueue", "--file", path)
    before = net_bytes(url)
    t0 = time.perf_counter()
    w = subprocess.Popen([env.binary, "--config", cfg, "worker"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, RUST_LOG="warn"))
    while xlen(url) < n and time.perf_counter() - t0 < 900:
        time.sleep(0.05)
    dt = time.perf_counter() - t0
    after = net_bytes(url)
    w.terminate(); w.wait(15)
    bytes_in, bytes_out = after[0] - before[0], after[1] - before[1]
    return {"scenario": "expansion-bytes", "n": n, "done": xlen(url), "seconds": round(dt, 2),
            "redis_net_input_bytes": bytes_in, "redis_net_output_bytes": bytes_out,
            "input_bytes_per_id": round(bytes_in / n), "output_bytes_per_id": round(bytes_out / n),
            "note": "includes each child's lease, audit record and ack; the audit polling adds a few bytes"}


def redis_memory(url):
    port = url.rsplit(":", 1)[1]
    out = subprocess.run(["redis-cli", "-p", port, "INFO", "memory"], capture_output=True, text=True).stdout
    return int(next(l.split(":")[1] for l in out.splitlines() if l.startswith("used_memory:")))


def campaign(env, n, conc):
    """Submit an n-line campaign (one message per line), measure Redis memory per queued job, then drain it."""
    _, url = env.redis()
    cfg = env.config(url, None, conc)
    path = os.path.join(env.d, "campaign.jsonl")
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({"account": "nop", "conversation": "support-room", "message": f"{1_000_000_000 + i}",
                                "reason": "spam"}) + "\n")
    before = redis_memory(url)
    t0 = time.perf_counter()
    cid = json.loads(env.run(cfg, "campaign", "submit", path, "--name", "bench", "--json"))["id"]
    submit_s = time.perf_counter() - t0
    per_job = (redis_memory(url) - before) / n
    t0 = time.perf_counter()
    w = subprocess.Popen([env.binary, "--config", cfg, "worker"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, RUST_LOG="warn"))
    while time.perf_counter() - t0 < 900:
        st = json.loads(env.run(cfg, "campaign", "status", cid, "--json"))
        if st["pending"] == 0:
            break
        time.sleep(0.2)
    drain_s = time.perf_counter() - t0
    w.terminate(); w.wait(15)
    return {"scenario": "campaign", "n": n, "submit_lines_per_s": round(n / submit_s), "submit_s": round(submit_s, 2),
            "redis_bytes_per_queued_job": round(per_job), "drain_messages_per_s": round(n / drain_s),
            "deleted": st["deleted"], "pending": st["pending"], "concurrency": conc}


def redis_cluster(env, masters=3):
    """Three cluster-enabled masters (no replicas), joined with redis-cli --cluster create; returns seed URLs."""
    ports = []
    while len(ports) < masters:
        p = free_port()
        if p < 55000 and p not in ports:
            ports.append(p)
    for p in ports:
        d = os.path.join(env.d, f"cluster-{p}")
        os.makedirs(d, exist_ok=True)
        env.procs.append(subprocess.Popen(["redis-server", "--port", str(p), "--bind", "127.0.0.1", "--cluster-enabled",
                                           "yes", "--cluster-config-file", "nodes.conf", "--save", "", "--appendonly",
                                           "no", "--dir", d], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(0.5)
    subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports], "--cluster-yes"],
                   capture_output=True, check=True)
    for _ in range(100):
        infos = [subprocess.run(["redis-cli", "-p", str(p), "cluster", "info"], capture_output=True, text=True).stdout
                 for p in ports]
        if all("cluster_state:ok" in i for i in infos):
            break
        time.sleep(0.1)
    return [f"redis://127.0.0.1:{p}" for p in ports]


def sharded_drain(env, n, conc, shards, cluster):
    """Drain n noop jobs with `shards` shards on one Redis, or on a three-master cluster."""
    if cluster:
        urls = redis_cluster(env)
        redis_line = "url = [" + ", ".join(f'"{u}"' for u in urls) + "]\ncluster = true"
    else:
        urls = [env.redis()[1]]
        redis_line = f'url = "{urls[0]}"'
    cfg = os.path.join(env.d, f"sharded-{shards}-{cluster}.toml")
    with open(cfg, "w") as f:
        f.write(f'[redis]\n{redis_line}\nshards = {shards}\nprefix = "deleteq"\n\n[worker]\nconcurrency = {conc}\n'
                f'\n[accounts.nop]\nprovider = "noop"\n')
    env.run(cfg, "enqueue", "--file", jobs_file(env.d, "nop", n))
    t0 = time.perf_counter()
    w = subprocess.Popen([env.binary, "--config", cfg, "worker"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, RUST_LOG="warn"))
    while time.perf_counter() - t0 < 600:
        st = json.loads(env.run(cfg, "status", "--json"))
        if st["jobs"] == 0:
            break
        time.sleep(0.05)
    dt = time.perf_counter() - t0
    w.terminate(); w.wait(15)
    return {"scenario": "drain-noop-sharded", "n": n, "shards": shards, "cluster": cluster,
            "redis": "3-master cluster" if cluster else "one redis-server", "jobs_per_s": round(n / dt)}


def audit_records(env, cfg):
    """Every audit record, with its time as ms since the epoch (`at_ms`)."""
    out = []
    for line in env.run(cfg, "audit", "export").splitlines():
        r = json.loads(line)
        at = time.mktime(time.strptime(r["at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        r["at_ms"] = at * 1000 + int(r["at"][20:23])
        out.append(r)
    return out


def lanes(env, campaign_n, rate, shards=1):
    """Unsends behind a campaign on the same account (DESIGN §6 lanes): a `campaign_n`-message campaign saturates an
    account limited to `rate`/s; three seconds in, 50 `high` unsends on that account, one every 100 ms, and 50 jobs
    of another (idle) account; then a second campaign of 10,000 on the same account. Reports the unsends' and the
    other account's enqueue -> outcome latency, and the second campaign's share of the account's records in the 2 s
    and 10 s after its submission (the two flows of the `low` lane share the rate round-robin)."""
    _, url = env.redis()
    _, emu = env.emulator()
    path = os.path.join(env.d, f"lanes-{time.time_ns()}.toml")
    with open(path, "w") as f:
        f.write(f"""[redis]\nurl = "{url}"\nprefix = "deleteq"\nshards = {shards}\n\n[worker]\nconcurrency = 128\n\n"""
                f"""[accounts.cc]\nprovider = "cometchat"\nbase_url = "{emu}"\napi_key = "k"\nrate_limit = "{rate}/s"\n\n"""
                f"""[accounts.other]\nprovider = "cometchat"\nbase_url = "{emu}"\napi_key = "k"\nrate_limit = "{rate}/s"\n""")
    cfg = path

    def submit(prefix, n):
        jobs = os.path.join(env.d, f"campaign-{prefix}.jsonl")
        with open(jobs, "w") as f:
            for i in range(n):
                f.write(json.dumps({"account": "cc", "message": f"{prefix}{i}"}) + "\n")
        return json.loads(env.run(cfg, "campaign", "submit", jobs, "--json"))["id"]

    first = submit("a", campaign_n)
    w = subprocess.Popen([env.binary, "--config", cfg, "worker"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, RUST_LOG="warn"))
    time.sleep(3)
    second, submitted_ms = None, None
    for i in range(50):
        env.run(cfg, "enqueue", json.dumps({"account": "cc", "message": f"u{i}", "priority": "high"}))
        env.run(cfg, "enqueue", json.dumps({"account": "other", "message": f"o{i}"}))
        if i == 10:
            second = submit("b", 10_000)
            submitted_ms = time.time() * 1000
        time.sleep(0.1)
    time.sleep(max(0.0, submitted_ms / 1000 + 10.5 - time.time()))
    records = audit_records(env, cfg)
    for campaign in (first, second):
        env.run(cfg, "campaign", "cancel", campaign)
    w.terminate(); w.wait(15)

    def latency(prefix):
        return [r["at_ms"] - ulid_ms(r["job"]) for r in records
                if r.get("message", "").startswith(prefix) and r["outcome"] != "retry_scheduled"]

    def share(seconds):
        window = [r for r in records if r["account"] == "cc" and not r.get("message", "").startswith("u")
                  and submitted_ms <= r["at_ms"] < submitted_ms + seconds * 1000]
        ours = sum(1 for r in window if r.get("message", "").startswith("b"))
        return {"calls": len(window), "second_campaign": ours, "share": round(ours / len(window), 3) if window else None}

    unsend, other = latency("u"), latency("o")
    return {"scenario": "lanes", "campaign": campaign_n, "rate_per_s": rate, "shards": shards, "unsends": len(unsend),
            "unsend_p50_ms": pct(unsend, 50), "unsend_p99_ms": pct(unsend, 99), "unsend_max_ms": max(unsend, default=None),
            "other_account": len(other), "other_p50_ms": pct(other, 50), "other_p99_ms": pct(other, 99),
            "second_campaign_2s": share(2), "second_campaign_10s": share(10)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--single-n", type=int, default=20_000, help="jobs for the one-transaction-per-job enqueue")
    ap.add_argument("--concurrency", type=int, default=128)
    ap.add_argument("--campaign-n", type=int, default=1_000_000, help="lines of the campaign submit bench (0 skips)")
    ap.add_argument("--only-campaign", action="store_true", help="run only the campaign bench")
    ap.add_argument("--only-shards", action="store_true", help="run only the shards/cluster drain bench")
    ap.add_argument("--only-expansion", action="store_true", help="run only the bulk expansion bytes bench")
    ap.add_argument("--only-lanes", action="store_true", help="run only the lanes (unsend behind a campaign) bench")
    ap.add_argument("--lanes-n", type=int, default=100_000, help="messages of the campaign the unsends wait behind")
    ap.add_argument("--lanes-rate", type=int, default=1_000, help="the campaign's account's rate limit, per second")
    ap.add_argument("--lanes-shards", type=int, default=1, help="[redis] shards of the lanes bench")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "deleteq"))
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    d = tempfile.mkdtemp(prefix="deleteq-bench-")
    env = Env(binary, d)
    try:
        if a.only_lanes:
            print(json.dumps(lanes(env, a.lanes_n, a.lanes_rate, a.lanes_shards)), flush=True)
            return 0
        if a.only_expansion:
            print(json.dumps(expansion(env, a.n, a.concurrency)), flush=True)
            return 0
        if a.campaign_n and not a.only_shards:
            print(json.dumps(campaign(env, a.campaign_n, a.concurrency)), flush=True)
        if a.only_campaign:
            return 0
        for shards in (1, 4):
            print(json.dumps(sharded_drain(env, a.n, a.concurrency, shards, cluster=False)), flush=True)
        print(json.dumps(sharded_drain(env, a.n, a.concurrency, 6, cluster=True)), flush=True)
        if a.only_shards:
            return 0
        _, url = env.redis()
        raw = subprocess.run([os.path.join(ROOT, "target", "release", "examples", "raw_redis"), url, str(a.n)],
                             capture_output=True, text=True)
        print(raw.stdout.strip() or json.dumps({"raw_redis": {"error": raw.stderr[-300:]}}), flush=True)

        for label, n, batch in (("single", a.single_n, "1"), ("pipelined", a.n, "20000")):
            _, url = env.redis()
            cfg = env.config(url, None, a.concurrency)
            path = jobs_file(d, "nop", n)
            t0 = time.perf_counter()
            env.run(cfg, "enqueue", "--batch", batch, "--file", path)
            dt = time.perf_counter() - t0
            print(json.dumps({"scenario": f"enqueue-{label}", "n": n, "jobs_per_s": round(n / dt),
                              "note": "one deleteq process, validation included"}), flush=True)

        res = drain(env, "nop", a.n, a.concurrency)
        print(json.dumps({"scenario": "drain-noop", "n": a.n, "concurrency": a.concurrency, **res}), flush=True)
        res = drain(env, "cc", a.n, a.concurrency)
        print(json.dumps({"scenario": "drain-http-emulator", "n": a.n, "concurrency": a.concurrency, **res}), flush=True)

        _, url = env.redis()
        _, emu = env.emulator()
        cfg = env.config(url, emu, a.concurrency)
        path = os.path.join(d, "qb.jsonl")
        with open(path, "w") as f:
            f.write(json.dumps({"account": "qb", "messages": [f"5d76b949a0eb{i:012d}" for i in range(a.n)],
                                "permanent": True}) + "\n")
        env.run(cfg, "enqueue", "--file", path)
        t0 = time.perf_counter()
        w = subprocess.Popen([binary, "--config", cfg, "worker"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while xlen(url) < a.n and time.perf_counter() - t0 < 600:
            time.sleep(0.02)
        dt = time.perf_counter() - t0
        w.terminate(); w.wait(10)
        stats = env.emulator_stats(emu)
        print(json.dumps({"scenario": "quickblox-bulk", "n": a.n, "batch_size": 50, "calls": stats["requests"],
                          "expected_calls": -(-a.n // 50), "deleted": stats["deletions"],
                          "messages_per_s": round(a.n / dt)}), flush=True)

        print(json.dumps(expansion(env, a.n, a.concurrency)), flush=True)
        print(json.dumps(lanes(env, a.lanes_n, a.lanes_rate)), flush=True)

        _, url = env.redis()
        cfg = env.config(url, None, 8)
        w = subprocess.Popen([binary, "--config", cfg, "worker"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        for i in range(50):
            env.run(cfg, "enqueue", json.dumps({"account": "nop", "message": f"p{i}"}))
            time.sleep(0.05)
        time.sleep(0.5)
        w.terminate(); w.wait(10)
        lat = latencies(env, cfg)
        print(json.dumps({"scenario": "idle-pickup", "n": len(lat), "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99),
                          "max_ms": max(lat) if lat else None}), flush=True)
    finally:
        env.stop()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
