#!/usr/bin/python3
"""bench/replicate_dma.py SRC DST N

Fill dma's spool directory DST with N messages copied round-robin from the
messages dma itself queued in SRC (pairs Q<ID> + M<ID>; Q holds "ID: <ID>"
then Sender:/Recipient: lines), each under a fresh ID of dma's form
(NUMBER.12 hex digits), with the source's owner, group and mode; the ID:
line of each Q file is rewritten, nothing else. M is written before Q, as
dma does, and everything is synced once. Prints the number written.
"""
import os
import secrets
import sys


def main():
    src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    pairs = []
    for f in sorted(os.listdir(src)):
        if not f.startswith("Q"):
            continue
        qid = f[1:]
        q = open(os.path.join(src, f), "rb").read()
        m = open(os.path.join(src, "M" + qid), "rb").read()
        st = os.stat(os.path.join(src, f))
        lines = q.split(b"\n")
        if not lines[0].startswith(b"ID: "):
            raise SystemExit("replicate_dma: %s: no ID: line first" % f)
        pairs.append((lines[1:], m, st.st_uid, st.st_gid, st.st_mode & 0o7777))
    if not pairs:
        raise SystemExit("replicate_dma: no Q files in %s" % src)
    for i in range(n):
        rest, m, uid, gid, mode = pairs[i % len(pairs)]
        qid = "%d.%s" % (100000 + i, secrets.token_hex(6))
        for name, data in (("M" + qid, m), ("Q" + qid, b"\n".join([b"ID: " + qid.encode()] + rest))):
            p = os.path.join(dst, name)
            with open(p, "wb") as f:
                f.write(data)
            os.chown(p, uid, gid)
            os.chmod(p, mode)
    os.sync()
    print(n)


main()
