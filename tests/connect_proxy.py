#!/usr/bin/python3
"""A tiny HTTP CONNECT proxy for the OAuth2 tests (https_proxy).

    connect_proxy.py --portfile F --log L [--timeout-total 300]

Listens on 127.0.0.1 only; for each "CONNECT host:port" it writes one line
"CONNECT host:port" to the log, connects, answers 200 and relays bytes both
ways (the TLS inside stays end to end). Anything else gets 405.
"""

import argparse
import os
import signal
import socket
import threading


def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def handle(c, log):
    c.settimeout(30)
    try:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 8192:
            d = c.recv(4096)
            if not d:
                return
            head += d
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split()
        if len(parts) < 2 or parts[0] != "CONNECT":
            c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host, _, port = parts[1].rpartition(":")
        with open(log, "a") as f:
            f.write("CONNECT %s\n" % parts[1])
        u = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        c.settimeout(None)
        u.settimeout(None)
        t = threading.Thread(target=pipe, args=(u, c), daemon=True)
        t.start()
        pipe(c, u)
        t.join(5)
        u.close()
    except OSError:
        pass
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--portfile", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--timeout-total", type=float, default=300)
    args = ap.parse_args()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    signal.signal(signal.SIGTERM, lambda s, f: os._exit(0))
    threading.Timer(args.timeout_total, lambda: os._exit(0)).start()
    with open(args.portfile + ".tmp", "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.replace(args.portfile + ".tmp", args.portfile)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=handle, args=(c, args.log), daemon=True).start()


if __name__ == "__main__":
    main()
