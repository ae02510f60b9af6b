#!/usr/bin/python3
"""Self-test of tests/smarthost.py: talk to it with smtplib and raw sockets
(plain, STARTTLS, implicit TLS, AUTH, faults) and check what it records."""

import base64
import json
import os
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
SMARTHOST = os.path.join(TOP, "tests", "smarthost.py")
results = {"fail": 0}


def check(what, cond, detail=""):
    if cond:
        print("PASS: smarthost: " + what)
    else:
        results["fail"] += 1
        print("FAIL: smarthost: " + what + (" (%s)" % detail if detail else ""))


class Fake:
    def __init__(self, tmp, name, script, tls=False, implicit=False, client_ca=False):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir)
        self.script = os.path.join(self.dir, "script.json")
        self.transcript = os.path.join(self.dir, "t.jsonl")
        self.maildir = os.path.join(self.dir, "mail")
        self.set(script)
        pf = os.path.join(self.dir, "port")
        cmd = [sys.executable, SMARTHOST, "--port", "0", "--portfile", pf, "--script",
               self.script, "--transcript", self.transcript, "--maildir", self.maildir,
               "--timeout-total", "60"]
        if tls:
            cmd += ["--tls-cert", os.path.join(tmp, "certs", "valid.pem"),
                    "--tls-key", os.path.join(tmp, "certs", "valid.key")]
        if client_ca:
            cmd += ["--tls-client-ca", os.path.join(tmp, "certs", "ca.pem")]
        if implicit:
            cmd.append("--implicit-tls")
        self.proc = subprocess.Popen(cmd)
        for _ in range(100):
            if os.path.exists(pf):
                break
            time.sleep(0.05)
        self.port = int(open(pf).read())

    def set(self, script):
        with open(self.script + ".tmp", "w") as f:
            json.dump(script, f)
        os.rename(self.script + ".tmp", self.script)

    def records(self):
        time.sleep(0.1)
        try:
            return [json.loads(l) for l in open(self.transcript)]
        except FileNotFoundError:
            return []

    def lines(self, d=None, conn=None):
        return [r["line"] for r in self.records() if "line" in r and (d is None or r["dir"] == d)
                and (conn is None or r["conn"] == conn)]

    def mail(self, conn, msg):
        base = os.path.join(self.maildir, "conn-%d-msg-%d" % (conn, msg))
        if not os.path.exists(base + ".eml"):
            return None, None
        return open(base + ".eml", "rb").read(), json.load(open(base + ".json"))

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def client_ctx(tmp):
    ctx = ssl.create_default_context(cafile=os.path.join(tmp, "certs", "ca.pem"))
    return ctx


def raw_dialogue(port, chunks, tls_ctx=None, timeout=5):
    """Send each chunk (one write each), reading what the server says after."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if tls_ctx:
        s = tls_ctx.wrap_socket(s, server_hostname="localhost")
    out = b""
    s.settimeout(timeout)
    try:
        out += s.recv(4096)
        for c in chunks:
            s.sendall(c)
            time.sleep(0.2)
            out += s.recv(65536)
    except (socket.timeout, ConnectionError) as e:
        out += b"<" + str(e).encode() + b">"
    s.close()
    return out.decode("utf-8", "replace")


def main():
    tmp = tempfile.mkdtemp(prefix="nrsmarthost.")
    r = subprocess.run(["bash", "-c", '. "$1/tests/lib/certs.sh" && make_certs "$2/certs"', "x", TOP, tmp])
    if r.returncode != 0:
        print("FAIL: smarthost: could not make test certificates")
        return 1
    check("test certificates made", os.path.exists(os.path.join(tmp, "certs", "expired.pem")))
    fakes = []
    try:
        run_all(tmp, fakes)
    finally:
        for f in fakes:
            f.stop()
        subprocess.run(["rm", "-rf", tmp])
    return 0


def run_all(tmp, fakes):
    base = {"users": {"alice": "s3cret"}, "tokens": {"alice": ["goodtok"]},
            "expired_tokens": ["oldtok"],
            "ehlo": ["PIPELINING", "SIZE 100000", "8BITMIME", "DSN", "ENHANCEDSTATUSCODES",
                     "STARTTLS", "AUTH PLAIN LOGIN XOAUTH2 OAUTHBEARER"],
            "rcpt_replies": {"nobody@example.org": "550 5.1.1 no such user"}}
    f = Fake(tmp, "main", base, tls=True)
    fakes.append(f)

    # 1. plain delivery, dot-stuffing, byte-exact save, envelope sidecar.
    msg = b"Subject: t\r\n\r\nline1\r\n.leading dot\r\n..two\r\nend\r\n"
    with smtplib.SMTP("127.0.0.1", f.port, timeout=5) as s:
        s.ehlo("client.test")
        check("EHLO lists the scripted extensions", s.has_extn("dsn") and s.has_extn("starttls"))
        s.sendmail("a@example.org", ["b@example.org"], msg, mail_options=["BODY=8BITMIME"],
                   rcpt_options=["NOTIFY=SUCCESS,FAILURE"])
    eml, side = f.mail(1, 1)
    check("message saved byte-exact after un-dot-stuffing", eml == msg, repr(eml))
    check("sidecar has the envelope", side and side["mail_from"] == "<a@example.org>"
          and side["rcpts"][0]["addr"] == "<b@example.org>"
          and "BODY=8BITMIME" in side["mail_params"]
          and side["rcpts"][0]["params"] == ["NOTIFY=SUCCESS,FAILURE"]
          and side["tls"] is False, str(side))
    check("transcript records commands and replies",
          any(l.upper().startswith("MAIL FROM:<A@EXAMPLE.ORG>") for l in f.lines("C", 1))
          and "250 2.1.0 Ok" in f.lines("S", 1))
    check("body recorded as one line", any(l.startswith("[body ") for l in f.lines("C", 1)))

    # 2. STARTTLS, SNI, EHLO again, AUTH PLAIN.
    with smtplib.SMTP("localhost", f.port, timeout=5) as s:
        s.ehlo("client.test")
        s.starttls(context=client_ctx(tmp))
        s.ehlo("client.test")
        check("STARTTLS not offered again after TLS", not s.has_extn("starttls"))
        s.login("alice", "s3cret")
        s.sendmail("a@example.org", ["b@example.org"], b"Subject: tls\r\n\r\nhi\r\n")
    eml, side = f.mail(2, 1)
    check("TLS recorded in the sidecar", side and side["tls"] and side["tls_version"].startswith("TLS"))
    check("SNI recorded", side and side["sni"] == "localhost", side and side["sni"])
    check("AUTH recorded in the sidecar", side and side["auth"] == {"mech": "PLAIN", "user": "alice"},
          side and side["auth"])
    ev = [x for x in f.records() if x.get("event") == "auth" and x["conn"] == 2]
    check("AUTH secret recorded as sent", ev and ev[0]["secret"] == "s3cret" and ev[0]["ok"])

    # 3. bad password, AUTH LOGIN.
    with smtplib.SMTP("localhost", f.port, timeout=5) as s:
        s.starttls(context=client_ctx(tmp))
        s.ehlo()
        try:
            s.login("alice", "wrong")
            ok = False
        except smtplib.SMTPAuthenticationError as e:
            ok = e.smtp_code == 535
        check("wrong password gets 535", ok)
        code, _ = s.docmd("AUTH LOGIN")
        code2, _ = s.docmd(base64.b64encode(b"alice").decode())
        code3, _ = s.docmd(base64.b64encode(b"s3cret").decode())
        check("AUTH LOGIN works", (code, code2, code3) == (334, 334, 235), (code, code2, code3))

    # 4. XOAUTH2: good token; expired token gets the 334 JSON error, then 535.
    with smtplib.SMTP("localhost", f.port, timeout=5) as s:
        s.starttls(context=client_ctx(tmp))
        s.ehlo()
        tok = base64.b64encode(b"user=alice\x01auth=Bearer oldtok\x01\x01").decode()
        code, text = s.docmd("AUTH XOAUTH2 " + tok)
        err = json.loads(base64.b64decode(text)) if code == 334 else {}
        code2, _ = s.docmd("")
        check("expired XOAUTH2 token: 334 JSON error then 535",
              code == 334 and err.get("status") == "401" and code2 == 535, (code, text, code2))
        tok = base64.b64encode(b"user=alice\x01auth=Bearer goodtok\x01\x01").decode()
        code, _ = s.docmd("AUTH XOAUTH2 " + tok)
        check("good XOAUTH2 token accepted", code == 235, code)
    with smtplib.SMTP("localhost", f.port, timeout=5) as s:
        s.starttls(context=client_ctx(tmp))
        s.ehlo()
        tok = base64.b64encode(b"n,a=alice,\x01host=localhost\x01port=587\x01auth=Bearer goodtok\x01\x01")
        code, _ = s.docmd("AUTH OAUTHBEARER " + tok.decode())
        check("OAUTHBEARER accepted", code == 235, code)

    # 5. per-recipient 550, DSN refused when not offered.
    with smtplib.SMTP("127.0.0.1", f.port, timeout=5) as s:
        refused = s.sendmail("a@example.org", ["b@example.org", "nobody@example.org"],
                             b"Subject: r\r\n\r\nx\r\n")
        check("per-recipient 550 from rcpt_replies",
              refused.get("nobody@example.org", (0,))[0] == 550, refused)
    conn = max(x["conn"] for x in f.records())
    eml, side = f.mail(conn, 1)
    check("rejected recipient in the sidecar", side and len(side["rcpts"]) == 1
          and side["rejected_rcpts"][0]["addr"] == "<nobody@example.org>")

    # 6. rules: MAIL 451 on the next connection only (times), DOT 554, 452 after N.
    sc = dict(base, max_rcpts=2, rules=[
        {"stage": "MAIL", "times": 1, "reply": "451 4.3.0 try later"},
        {"stage": "DOT", "cmsg": 2, "reply": "554 5.7.1 rejected"}])
    f.set(sc)
    with smtplib.SMTP("127.0.0.1", f.port, timeout=5) as s:
        code, _ = s.docmd("EHLO x")
        code, t = s.docmd("MAIL FROM:<a@example.org>")
        check("MAIL rule with times=1: 451 first", code == 451, (code, t))
        code, t = s.docmd("MAIL FROM:<a@example.org>")
        check("MAIL rule with times=1: then 250", code == 250, (code, t))
        codes = [s.docmd("RCPT TO:<r%d@example.org>" % i)[0] for i in range(3)]
        check("452 4.5.3 after max_rcpts", codes == [250, 250, 452], codes)
        s.docmd("DATA")
        s.send(b"x\r\n.\r\n")
        code, _ = s.getreply()
        check("DOT rule for the second MAIL of the connection: 554",
              code == 554, code)
    # 7. pipelining: several commands in one write share a batch.
    f.set(base)
    out = raw_dialogue(f.port, [b"EHLO x\r\n", b"MAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nDATA\r\n",
                                b"hi\r\n.\r\nQUIT\r\n"])
    conn = max(x["conn"] for x in f.records())
    recs = [x for x in f.records() if x["conn"] == conn and x.get("dir") == "C" and "batch" in x]
    b = {x["line"].split()[0]: x["batch"] for x in recs}
    check("pipelined commands share a batch", b.get("MAIL") == b.get("RCPT") == b.get("DATA")
          and b.get("EHLO") != b.get("MAIL"), b)
    check("pipelined replies in order", "250 2.1.0" in out and "354" in out and "221" in out, out)

    # 8. bare LF in the body is counted.
    out = raw_dialogue(f.port, [b"EHLO x\r\n", b"MAIL FROM:<a@x.org>\r\n", b"RCPT TO:<b@x.org>\r\n",
                                b"DATA\r\n", b"bare\nline\r\n.\r\n", b"QUIT\r\n"])
    conn = max(x["conn"] for x in f.records())
    eml, side = f.mail(conn, 1)
    check("bare LF lines counted", side and side["bare_lf_lines"] == 1, side)

    # 9. greeting faults: 421, close, stall.
    for rep, want in (("421 4.3.2 busy", "421 4.3.2 busy"), ("close", ""), ("stall", "<")):
        f.set(dict(base, rules=[{"stage": "GREETING", "reply": rep, "seconds": 2}]))
        out = raw_dialogue(f.port, [], timeout=1)
        check("greeting fault %s" % rep, out.startswith(want) if want else out == "", out)
    # 10. EHLO refused, HELO fallback.
    f.set(dict(base, ehlo_refused=True))
    with smtplib.SMTP("127.0.0.1", f.port, timeout=5) as s:
        code, _ = s.ehlo()
        code2, _ = s.helo()
        check("EHLO refused, HELO accepted", code == 502 and code2 == 250, (code, code2))
        s.sendmail("a@x.org", ["b@x.org"], b"x\r\n")
    # 11. drop mid-DATA after K bytes; no 221 after QUIT.
    f.set(dict(base, rules=[{"stage": "DATA_BYTES", "bytes": 100},
                            {"stage": "QUIT", "reply": "close"}]))
    try:
        with smtplib.SMTP("127.0.0.1", f.port, timeout=5) as s:
            s.sendmail("a@x.org", ["b@x.org"], b"y" * 50 + b"\r\n" + b"z" * 5000 + b"\r\n")
        dropped = False
    except smtplib.SMTPServerDisconnected:
        dropped = True
    check("connection dropped mid-DATA", dropped)
    with smtplib.SMTP("127.0.0.1", f.port, timeout=5) as s:
        s.sendmail("a@x.org", ["b@x.org"], b"small\r\n")
        try:
            code, _ = s.docmd("QUIT")
        except smtplib.SMTPServerDisconnected:
            code = None
        check("small message passes the DATA_BYTES rule; QUIT closes without 221", code is None, code)
    # 12. STARTTLS faults.
    for rep in ("garbage", "tls_close"):
        f.set(dict(base, rules=[{"stage": "STARTTLS", "reply": rep}]))
        try:
            with smtplib.SMTP("localhost", f.port, timeout=3) as s:
                s.starttls(context=client_ctx(tmp))
            ok = False
        except (ssl.SSLError, smtplib.SMTPServerDisconnected, ConnectionError, OSError):
            ok = True
        check("STARTTLS fault %s breaks the handshake" % rep, ok)
    f.set(dict(base, ehlo=["PIPELINING", "AUTH PLAIN"]))
    with smtplib.SMTP("localhost", f.port, timeout=3) as s:
        s.ehlo()
        check("STARTTLS not offered when the script leaves it out", not s.has_extn("starttls"))
    f.set(dict(base, auth_after_tls_only=True))
    with smtplib.SMTP("localhost", f.port, timeout=3) as s:
        s.ehlo()
        check("AUTH hidden before TLS with auth_after_tls_only", not s.has_extn("auth"))
    # 13. stall at a stage, then close.
    f.set(dict(base, rules=[{"stage": "MAIL", "reply": "stall", "seconds": 1.5}]))
    t0 = time.monotonic()
    try:
        with smtplib.SMTP("127.0.0.1", f.port, timeout=5) as s:
            s.sendmail("a@x.org", ["b@x.org"], b"x\r\n")
        ok = False
    except smtplib.SMTPServerDisconnected:
        ok = True
    check("stall at MAIL then close", ok and time.monotonic() - t0 >= 1.4)
    f.stop()

    # 14. implicit TLS with a client certificate.
    g = Fake(tmp, "smtps", base, tls=True, implicit=True, client_ca=True)
    fakes.append(g)
    ctx = client_ctx(tmp)
    ctx.load_cert_chain(os.path.join(tmp, "certs", "client.pem"), os.path.join(tmp, "certs", "client.key"))
    with smtplib.SMTP_SSL("localhost", g.port, timeout=5, context=ctx) as s:
        s.ehlo()
        check("implicit TLS: no STARTTLS offered", not s.has_extn("starttls"))
        s.login("alice", "s3cret")
        s.sendmail("a@x.org", ["b@x.org"], b"x\r\n")
    eml, side = g.mail(1, 1)
    check("implicit TLS message recorded with TLS and client cert",
          side and side["tls"] and side["client_cert"] == "nullrelay-client", side)
    # A client that does not verify the server (the untrusted case is the client's job):
    # here check that an IP-literal connection sends no SNI.
    ctx2 = ssl.create_default_context(cafile=os.path.join(tmp, "certs", "ca.pem"))
    ctx2.check_hostname = False
    with smtplib.SMTP_SSL("127.0.0.1", g.port, timeout=5, context=ctx2) as s:
        s.ehlo()
    ev = [x for x in g.records() if x.get("event") == "tls" and x["conn"] == 2]
    check("no SNI recorded for an IP literal", ev and ev[0]["sni"] is None, ev)


if __name__ == "__main__":
    sys.exit(main())
