"""A raw SMTP client for the listener tests (tests/integration/listen-*.sh):
exact bytes out, whole replies back, so that a test can pipeline, smuggle
or stop half-way. Standard library only.

    python3 tests/lib/smtpc.py PORT [--host H] [--src ADDR] [--tls CA] STEP...

A STEP is "send:TEXT" (Python escapes: \\r \\n \\x00; sent in one write),
"reply" (read one whole reply, print "CODE text|text"), "replies:N",
"starttls" (handshake, verifying CA for localhost), "sleep:S", "close"
(shut the socket at once), or "hold:S" (keep it open S seconds). Every
reply read is printed on its own line; a connection closed by the server
prints "EOF".
"""
import socket
import ssl
import sys
import time


class Client:
    def __init__(self, port, host="127.0.0.1", src=None, timeout=20):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.s = socket.socket(fam, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        if src:
            self.s.bind((src, 0))
        self.s.connect((host, port))
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def _line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self):
        """(code, [texts]) or (None, []) at EOF."""
        texts = []
        while True:
            line = self._line()
            if line is None:
                return (None, texts)
            texts.append(line[4:])
            if len(line) < 4 or line[3] != "-":
                return (int(line[:3]), texts)

    def starttls(self, ca):
        ctx = ssl.create_default_context(cafile=ca)
        self.s = ctx.wrap_socket(self.s, server_hostname="localhost")
        self.buf = b""

    def close(self):
        self.s.close()


def unescape(text):
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


def main(argv):
    port = int(argv[0])
    host, src, ca = "127.0.0.1", None, None
    steps = []
    i = 1
    while i < len(argv):
        a = argv[i]
        if a in ("--host", "--src", "--tls"):
            if a == "--host":
                host = argv[i + 1]
            elif a == "--src":
                src = argv[i + 1]
            else:
                ca = argv[i + 1]
            i += 2
            continue
        steps.append(a)
        i += 1
    c = Client(port, host, src)
    for st in steps:
        kind, _, arg = st.partition(":")
        try:
            if kind == "send":
                c.send(unescape(arg))
            elif kind in ("reply", "replies"):
                for _ in range(int(arg) if arg else 1):
                    code, texts = c.reply()
                    if code is None:
                        print("EOF")
                        sys.stdout.flush()
                        return 0
                    print("%d %s" % (code, "|".join(texts)))
            elif kind == "starttls":
                c.starttls(ca)
            elif kind == "sleep":
                time.sleep(float(arg))
            elif kind == "hold":
                time.sleep(float(arg))
            elif kind == "close":
                c.close()
                return 0
            sys.stdout.flush()
        except (OSError, ssl.SSLError) as e:
            print("ERROR %s" % e)
            return 0
    c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
