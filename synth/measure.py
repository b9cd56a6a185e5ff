#!/usr/bin/env python3
"""synth/measure.py FLOW_JSON STAGE TIMEOUT_S -- CMD...: runs CMD, stops it after TIMEOUT_S
seconds, and appends {stage, command, seconds, peak_rss_mb, exit, timed_out} to the "stages" of
FLOW_JSON (created when missing). Exits with CMD's status, 124 when the timeout stopped it (as
timeout(1) does). The peak is the largest resident set of CMD and its children (getrusage of the
waited-for children), in MiB; YoWASP tools run as one process, so it is the tool's own."""
import json
import os
import resource
import subprocess
import sys
import time


def main() -> int:
    if len(sys.argv) < 6 or sys.argv[4] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    flow, stage, limit, cmd = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[5:]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, start_new_session=True)
    timed_out = False
    try:
        rc = proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, 9)
        proc.wait()
        rc = 124
    seconds = time.monotonic() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    data = {"stages": []}
    if os.path.exists(flow):
        with open(flow) as f:
            data = json.load(f)
    data.setdefault("stages", []).append(
        {
            "stage": stage,
            "command": " ".join(cmd),
            "seconds": round(seconds, 2),
            "peak_rss_mb": round(peak_kb / 1024, 1),
            "exit": rc,
            "timed_out": timed_out,
        }
    )
    with open(flow + ".tmp", "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(flow + ".tmp", flow)
    print(f"{stage}: {seconds:.1f} s, peak {peak_kb / 1024:.0f} MiB, exit {rc}", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
