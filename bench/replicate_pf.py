#!/usr/bin/python3
"""bench/replicate_pf.py SRC DST N

Fill Postfix's deferred queue DST (QUEUE/deferred) with N queue files copied
round-robin from the ones Postfix itself deferred in SRC (QUEUE/deferred/X/ID,
hash_queue_depth = 1), each under a fresh short queue id (11 upper-case hex
digits) in the subdirectory of its first digit, with the source's owner,
group and mode (0700: Postfix's "complete" mark). The content is
byte-identical. Each copy's mtime, Postfix's next-retry time for a deferred
message, is set a day ahead: like a backlog whose relay was down, nothing is
due until `postqueue -f`. The defer logs are not copied (a deferred message
without one is valid). Everything is synced once. Prints the number written.
"""
import os
import secrets
import sys
import time


def main():
    src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    blobs = []
    for sub in sorted(os.listdir(src)):
        d = os.path.join(src, sub)
        for f in sorted(os.listdir(d)) if os.path.isdir(d) else ():
            st = os.stat(os.path.join(d, f))
            with open(os.path.join(d, f), "rb") as fh:
                blobs.append((fh.read(), st.st_uid, st.st_gid, st.st_mode & 0o7777))
    if not blobs:
        raise SystemExit("replicate_pf: no queue files under %s" % src)
    later = time.time() + 86400
    taken = set()
    for i in range(n):
        data, uid, gid, mode = blobs[i % len(blobs)]
        while True:
            qid = secrets.token_hex(6).upper()[:11]
            if qid not in taken:
                break
        taken.add(qid)
        d = os.path.join(dst, qid[0])
        if not os.path.isdir(d):
            os.mkdir(d, 0o700)
            os.chown(d, uid, gid)
        p = os.path.join(d, qid)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, data)
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
        os.close(fd)
        os.utime(p, (later, later))
    os.sync()
    print(n)


main()
