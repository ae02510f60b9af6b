#!/usr/bin/python3
"""bench/latency.py SINKOUT N MSG CMD...: one message's submit -> sink latency.

N times: start the clock, run CMD with MSG on stdin (a submission), then
watch SINKOUT, the counter output of Postfix's smtp-sink -c ("... mesg=K"),
until its message count has gone up by one; stop the clock. Prints
"p50 P p99 P max P" in milliseconds. The messages go one at a time, so each
figure is the whole path: submission, pick-up, queue, SMTP, the sink's 250.
"""
import re
import subprocess
import sys
import time

PAT = re.compile(rb"mesg=(\d+)")


def count(path):
    with open(path, "rb") as f:
        try:
            f.seek(-256, 2)
        except OSError:
            f.seek(0)
        m = PAT.findall(f.read())
    return int(m[-1]) if m else 0


def main():
    sinkout, n, msg, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    data = open(msg, "rb").read()
    lat = []
    for _ in range(n):
        before = count(sinkout)
        t0 = time.monotonic()
        subprocess.run(cmd, input=data, check=True)
        while count(sinkout) <= before:
            if time.monotonic() - t0 > 30:
                raise SystemExit("latency: a message took over 30 s")
            time.sleep(0.0005)
        lat.append((time.monotonic() - t0) * 1000)
    lat.sort()
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    print("p50 %.1f p99 %.1f max %.1f" % (pick(0.50), pick(0.99), lat[-1]))


main()
