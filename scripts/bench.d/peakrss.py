#!/usr/bin/env python3
"""Peak memory of one kelev-agent run, alone and with its children.

  peakrss.py OUT.json LOG -- COMMAND...

Runs `/usr/bin/time -v COMMAND...` (output to LOG) and, while it runs, reads VmHWM (the peak
resident set) of the process named `kelev-agent` that `time` started every 2 ms. COMMAND may
reach the agent through `setpriv` and `env`: they exec in place, so the pid stays and VmHWM
starts afresh with the agent's own image. VmHWM only grows, so the last value read before the
agent exits is its peak up to that moment. `time -v`'s "Maximum resident set size" is the
largest of the agent and every child it waited for (docker, compose), not the agent alone;
both go to OUT.json.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time


def child_of(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = f.read().split()
        return int(kids[0]) if kids else None
    except OSError:
        return None


def hwm_kb(pid):
    """VmHWM of pid if it is the agent now, else None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
    except OSError:
        return None
    name = re.search(r"^Name:\s*(\S+)", status, re.M)
    hwm = re.search(r"^VmHWM:\s*(\d+) kB", status, re.M)
    if name and hwm and name.group(1) == "kelev-agent":
        return int(hwm.group(1))
    return None


def main(argv):
    if len(argv) < 5 or argv[3] != "--":
        sys.exit(__doc__)
    out_path, log_path, command = argv[1], argv[2], argv[4:]
    with tempfile.NamedTemporaryFile("r", suffix=".time") as timing, open(log_path, "ab") as log:
        started = time.monotonic()
        proc = subprocess.Popen(
            ["/usr/bin/time", "-v", "-o", timing.name] + command,
            stdout=log, stderr=log, stdin=subprocess.DEVNULL,
        )
        agent, peak = None, 0
        while proc.poll() is None:
            agent = agent or child_of(proc.pid)
            if agent:
                peak = max(peak, hwm_kb(agent) or 0)
            time.sleep(0.002)
        wall = time.monotonic() - started
        text = timing.read()
    tree = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    result = {
        "exit_code": proc.returncode,
        "agent_peak_kb": peak,
        "tree_peak_kb": int(tree.group(1)) if tree else None,
        "wall_s": round(wall, 3),
    }
    with open(out_path, "w") as f:
        json.dump(result, f)
    print(json.dumps(result))
    if proc.returncode != 0:
        sys.exit(f"peakrss: {' '.join(command)} exited {proc.returncode} (log: {log_path})")


if __name__ == "__main__":
    main(sys.argv)
