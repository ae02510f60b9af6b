#!/usr/bin/python3
"""bench/replicate.py SRC DST N --names hex16|nullmailer

Fill the queue directory DST with N files copied round-robin from the files
in SRC (which the real submission program wrote: ./sendmail drop files, or
nullmailer queue files), each under a fresh name of the kind that program
uses (16 upper-case hex digits, or nullmailer's TIME.NUMBER), with the
source's owner, group and mode. The content is byte-identical, so every copy
is as valid as its source. Files are written in DST/../.replicate first and
renamed in, then everything is synced once. Prints the number written.

Submitting 10 000 messages one by one with fsync takes minutes on a slow
disk; the drain benchmark measures the sending side, so it fills the queue
this way.
"""
import argparse
import os
import secrets
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("n", type=int)
    ap.add_argument("--names", choices=("hex16", "nullmailer"), required=True)
    a = ap.parse_args()

    srcs = sorted(os.path.join(a.src, f) for f in os.listdir(a.src))
    srcs = [p for p in srcs if os.path.isfile(p)]
    if not srcs:
        raise SystemExit("replicate: no source files in %s" % a.src)
    blobs = []
    for p in srcs:
        st = os.stat(p)
        with open(p, "rb") as f:
            blobs.append((f.read(), st.st_uid, st.st_gid, st.st_mode & 0o7777))
    stage = os.path.join(os.path.dirname(os.path.abspath(a.dst)), ".replicate")
    os.makedirs(stage, exist_ok=True)
    base = int(time.time()) - a.n
    taken = set(os.listdir(a.dst))
    for i in range(a.n):
        data, uid, gid, mode = blobs[i % len(blobs)]
        while True:
            if a.names == "hex16":
                name = secrets.token_hex(8).upper()
            else:
                name = "%d.%d" % (base + i, 100000 + i)
            if name not in taken:
                break
        taken.add(name)
        tmp = os.path.join(stage, name)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, data)
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
        os.close(fd)
        os.rename(tmp, os.path.join(a.dst, name))
    os.rmdir(stage)
    os.sync()
    print(a.n)


if __name__ == "__main__":
    main()
