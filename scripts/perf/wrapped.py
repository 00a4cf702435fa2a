"""One drain through peers.py whose `deleteq worker` command runs under a tool (valgrind, perf): the part cg.py,
perfw.py and perfredis.py share."""
import os, shutil, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "bench"))
import peers


def drain(binary, mode, n, worker_line, after=None, settle=0):
    """Runs one drain of `n` jobs; `worker_line(binary, redis_pid, tmpdir)` is the shell line that starts the
    worker (it receives the worker's arguments as "$@"); `after(tmpdir)` runs once the drain is over, before the
    servers stop; `settle` seconds are waited then (a profiler writing its file)."""
    d = tempfile.mkdtemp(prefix="wrapped-")
    ng, url = peers.start_nginx(d)
    rp, port, _ = peers.start_redis(d)
    wrapper = os.path.join(d, "wrap.sh")
    with open(wrapper, "w") as f:
        f.write(f'#!/bin/sh\nif [ "$3" = worker ]; then {worker_line(binary, rp.pid, d)}; fi\nexec {binary} "$@"\n')
    os.chmod(wrapper, 0o755)
    try:
        print(peers.run_deleteq(wrapper, mode, n, 128, port, url, d))
    finally:
        if after:
            after(d)
        time.sleep(settle)
        rp.terminate(); ng.terminate(); time.sleep(1)
        shutil.rmtree(d, ignore_errors=True)
