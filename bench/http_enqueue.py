#!/usr/bin/env python3
"""Enqueueing over HTTP: `deleteq serve` (release build) on a private redis-server, `POST /v1/jobs` with batches of
--batch noop jobs (default 1,000) from --clients concurrent keep-alive connections (threads), until --n jobs
(default 200,000) are enqueued. Prints one JSON line: jobs/s, requests/s, p50/p99 request latency, and the jobs
Redis holds afterwards (must equal --n: every 201 is checked). Nothing else runs, so this measures the server's
validation and enqueue path plus Redis. Usage: http_enqueue.py [--n N] [--batch B] [--clients C] [--bin PATH]
"""
import argparse, http.client, json, os, secrets, socket, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def wait_for(check, what, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start")


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))] if values else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=1_000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "deleteq"))
    args = ap.parse_args()
    if not os.path.exists(args.bin):
        sys.exit(f"{args.bin} is missing: cargo build --release -p deleteq-cli")
    procs = []
    with tempfile.TemporaryDirectory() as d:
        try:
            redis_port, api_port, token = free_port(), free_port(), secrets.token_hex(24)
            procs.append(subprocess.Popen(
                ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", d], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_for(lambda: subprocess.run(["redis-cli", "-p", str(redis_port), "ping"], capture_output=True)
                     .stdout.strip() == b"PONG", "redis-server")
            config = os.path.join(d, "deleteq.toml")
            with open(config, "w") as f:
                f.write(f'[redis]\nurl = "redis://127.0.0.1:{redis_port}"\n\n[api]\naddr = "127.0.0.1:{api_port}"\n'
                        f'tokens = ["{token}"]\n\n[accounts.nop]\nprovider = "noop"\n')
            env = dict(os.environ, RUST_LOG="warn")
            procs.append(subprocess.Popen([args.bin, "--config", config, "serve"], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_for(lambda: socket.create_connection(("127.0.0.1", api_port), timeout=1).close() is None,
                     "deleteq serve")
            result = run(api_port, token, args)
            jobs = subprocess.run(["redis-cli", "-p", str(redis_port), "HLEN", "{deleteq}:jobs"],
                                  capture_output=True, text=True).stdout.strip()
            result["jobs_stored"] = int(jobs or 0)
            print(json.dumps(result))
            if result["jobs_stored"] != result["jobs"]:
                sys.exit(f"expected {result['jobs']} jobs in Redis, found {jobs}")
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait()


def run(port, token, args):
    requests = args.n // args.batch
    # One body reused by every request: the server validates and stores each copy as new jobs.
    body = json.dumps([{"account": "nop", "message": f"m{i}", "reason": "bench"} for i in range(args.batch)]).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies, errors, lock = [], [], threading.Lock()
    remaining = [requests]

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if remaining[0] == 0:
                    break
                remaining[0] -= 1
            start = time.perf_counter()
            conn.request("POST", "/v1/jobs", body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                if response.status != 201 or len(json.loads(answer)["ids"]) != args.batch:
                    errors.append((response.status, answer[:200]))
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    if errors:
        sys.exit(f"{len(errors)} requests failed, e.g. {errors[0]}")
    return {
        "scenario": "http-enqueue", "jobs": requests * args.batch, "batch": args.batch, "clients": args.clients,
        "seconds": round(seconds, 3), "jobs_per_s": round(requests * args.batch / seconds),
        "requests_per_s": round(requests / seconds, 1),
        "p50_ms": round(pct(latencies, 50) * 1000, 1), "p99_ms": round(pct(latencies, 99) * 1000, 1),
        "body_bytes": len(body),
    }


if __name__ == "__main__":
    main()
