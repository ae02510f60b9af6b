#!/usr/bin/python3
"""bench/latency.py SINKOUT N MSG -- NAME CMD... [-- NAME CMD...]...

One message's submit -> sink latency, for one or more programs taken in
turn message by message (A B C A B C ...), so that a burst of load on the
shared machine falls on all of them alike. N times for each program: start
the clock, run CMD with MSG on stdin (a submission), then watch SINKOUT, the
counter output of Postfix's smtp-sink -c ("... mesg=K"), until its message
count has gone up by one; stop the clock. Prints one line per program:
"NAME p50 P p99 P max P" in milliseconds. The messages go one at a time,
so each figure is the whole path: submission, pick-up, queue, SMTP, the
sink's 250.
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
    sinkout, n, msg = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    progs, cur = [], None
    for arg in sys.argv[4:]:
        if arg == "--":
            cur = []
            progs.append(cur)
        elif cur is not None:
            cur.append(arg)
    progs = [p for p in progs if len(p) >= 2]
    if not progs:
        raise SystemExit("usage: latency.py SINKOUT N MSG -- NAME CMD... [-- NAME CMD...]")
    data = open(msg, "rb").read()
    lat = {p[0]: [] for p in progs}
    for _ in range(n):
        for p in progs:
            before = count(sinkout)
            t0 = time.monotonic()
            subprocess.run(p[1:], input=data, check=True)
            while count(sinkout) <= before:
                if time.monotonic() - t0 > 30:
                    raise SystemExit("latency: a message of %s took over 30 s" % p[0])
                time.sleep(0.0005)
            lat[p[0]].append((time.monotonic() - t0) * 1000)
    for name, v in lat.items():
        v.sort()
        pick = lambda q: v[min(len(v) - 1, int(q * len(v)))]
        print("%s p50 %.1f p99 %.1f max %.1f" % (name, pick(0.50), pick(0.99), v[-1]))


main()
