#!/usr/bin/python3
"""A scriptable fake smarthost for relayd's integration tests.

    smarthost.py --port 0 --portfile F --script S.json --transcript T.jsonl
                 --maildir D [--tls-cert C --tls-key K] [--tls-client-ca CA]
                 [--implicit-tls] [--bind 127.0.0.1,::1] [--timeout-total 120]
    smarthost.py query DIR EXPR     (see query() below)

It listens on loopback only, writes the port it got to --portfile (atomically,
once it accepts connections) and exits after --timeout-total seconds or on
SIGTERM. Standard library only.

The script (JSON, re-read at every new connection so a test may change the
server's behaviour between two delivery attempts):

  {
    "greeting": "220 smarthost.test ESMTP fake",
    "hostname": "smarthost.test",
    "ehlo": ["PIPELINING", "SIZE 10485760", "8BITMIME", "SMTPUTF8", "DSN",
             "ENHANCEDSTATUSCODES", "STARTTLS", "AUTH PLAIN LOGIN"],
    "ehlo_refused": false,         EHLO gets 502, the client must fall back to HELO
    "auth_after_tls_only": false,  hide the AUTH line before STARTTLS
    "users": {"user": "password"}, accepted AUTH PLAIN/LOGIN credentials
    "tokens": {"user": ["tok"]},   accepted XOAUTH2/OAUTHBEARER bearer tokens
    "expired_tokens": ["old"],     refused with the 334 JSON error dance, then 535
    "tokens_file": "F",            also accept, for any user, a token that F (JSON
                                   {"token": expires_at}, as tests/oauth2_server.py
                                   writes it) lists as not yet expired
    "require_auth": false,         MAIL before AUTH gets 530 5.7.0
    "require_tls": false,          MAIL before TLS gets 530 5.7.0
    "max_rcpts": 0,                > 0: "452 4.5.3 too many recipients" after N
    "rcpt_replies": {"bad@x": "550 5.1.1 no such user"},
    "rules": [ RULE, ... ]
  }

A RULE changes the reply at one stage; the first matching rule wins:

  {"stage": S, "conn": N, "msg": M, "cmsg": K, "rcpt": ADDR, "times": T,
   "reply": R, "seconds": X, "bytes": B, "ext": [...]}

  stage   GREETING EHLO HELO STARTTLS AUTH MAIL RCPT DATA DOT RSET QUIT NOOP
          or DATA_BYTES (drop the connection once B body bytes arrived)
  conn    only on that connection (1-based, in accept order)
  msg     only for that message (1-based count of MAIL commands, server-wide)
  cmsg    only for that message of the connection (1-based)
  rcpt    only for that recipient (RCPT stage; compared case-insensitively,
          without the angle brackets)
  times   the rule fires at most T times, then is ignored
  reply   a reply line ("451 4.3.0 try later"; "\n" separates a multi-line
          reply) or one of:
            "close"    close the connection without a reply
            "stall"    say nothing for `seconds` (default 3600), then close
            "garbage"  (STARTTLS) "220" then bytes that are not TLS
            "tls_close" (STARTTLS) "220" then close before the handshake
            "inject"   (STARTTLS) "220" and a plaintext "250" in one packet:
                       a client must discard what came before the handshake
  ext     (EHLO) the extension list for this connection instead of "ehlo"

Records:
  --transcript: JSON lines {"conn":n,"dir":"C"|"S","line":"...","batch":b};
      commands carry "batch", the number of the recv() they arrived in, so
      commands sent pipelined share a batch. AUTH exchanges are recorded as
      sent plus an {"event":"auth","mech","user","secret","ok"} line. Other
      events: connect, tls (version, sni, cipher, client_cert), tls_error,
      sni, close, drop. Body lines are not recorded; one line
      "[body N bytes]" stands for them.
  --maildir: every accepted message (2xx after the final dot) as
      conn-N-msg-M.eml, byte-exact as received on the wire (CRLF, after
      un-dot-stuffing), and conn-N-msg-M.json: mail_from, mail_params,
      rcpts [{addr, params}], rejected_rcpts, tls, tls_version, sni,
      client_cert, auth {mech,user}, helo, ehlo, bare_lf_lines, size, msg.
"""

import argparse
import base64
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time

DEFAULT_EHLO = ["PIPELINING", "SIZE 10485760", "8BITMIME", "SMTPUTF8", "DSN",
                "ENHANCEDSTATUSCODES", "STARTTLS", "AUTH PLAIN LOGIN"]
MAX_LINE = 1 << 20


class Closed(Exception):
    """The connection is over (peer gone, a fault closed it, timeout)."""
    logged = False


class Server:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.nconn = 0
        self.nmsg = 0
        self.rule_hits = {}
        self.tx = open(args.transcript, "a", buffering=1, encoding="utf-8")
        os.makedirs(args.maildir, exist_ok=True)
        self.ctx = None
        if args.tls_cert:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(args.tls_cert, args.tls_key)
            if args.tls_client_ca:
                self.ctx.load_verify_locations(args.tls_client_ca)
                self.ctx.verify_mode = ssl.CERT_OPTIONAL
            self.ctx.sni_callback = self._sni

    @staticmethod
    def _sni(sslobj, name, ctx):
        sslobj.fake_sni = name
        return None

    def log(self, rec):
        line = json.dumps(rec, separators=(",", ":"), ensure_ascii=False)
        with self.lock:
            self.tx.write(line + "\n")
            self.tx.flush()

    def script(self):
        try:
            with open(self.args.script, encoding="utf-8") as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def next_conn(self):
        with self.lock:
            self.nconn += 1
            return self.nconn

    def next_msg(self):
        with self.lock:
            self.nmsg += 1
            return self.nmsg

    def rule(self, sc, stage, conn, msg=None, cmsg=None, rcpt=None):
        for i, r in enumerate(sc.get("rules", [])):
            if r.get("stage", "").upper() != stage:
                continue
            if "conn" in r and r["conn"] != conn:
                continue
            if "msg" in r and r["msg"] != msg:
                continue
            if "cmsg" in r and r["cmsg"] != cmsg:
                continue
            if "rcpt" in r and (rcpt is None or r["rcpt"].lower() != rcpt.lower()):
                continue
            if "times" in r:
                key = (i, json.dumps(r, sort_keys=True))
                with self.lock:
                    n = self.rule_hits.get(key, 0)
                    if n >= r["times"]:
                        continue
                    self.rule_hits[key] = n + 1
            return r
        return None


class Session:
    def __init__(self, srv, sock, peer):
        self.srv = srv
        self.sock = sock
        self.peer = peer
        self.conn = srv.next_conn()
        self.sc = srv.script()
        self.buf = b""
        self.batch = 0
        self.tls = False
        self.tls_version = None
        self.sni_name = None
        self.client_cert = None
        self.helo = None
        self.ehlo = False
        self.auth = None
        self.cmsg = 0
        self.ext = list(self.sc.get("ehlo", DEFAULT_EHLO))
        self.reset()
        sock.settimeout(float(self.sc.get("idle_timeout", 60)))

    def reset(self):
        self.mail_from = None
        self.mail_params = []
        self.rcpts = []
        self.rejected = []
        self.msg = None

    # ---- I/O ----
    def log(self, **kw):
        rec = {"conn": self.conn}
        rec.update(kw)
        self.srv.log(rec)

    def send_raw(self, data):
        try:
            self.sock.sendall(data)
        except (OSError, ssl.SSLError) as e:
            raise Closed(str(e))

    def reply(self, text):
        lines = text.split("\n")
        out = b""
        for i, l in enumerate(lines):
            code, rest = l[:3], l[4:] if len(l) > 3 else ""
            sep = "-" if i < len(lines) - 1 else " "
            full = code + sep + rest if len(l) > 3 else code
            self.log(dir="S", line=full)
            out += full.encode("utf-8", "surrogateescape") + b"\r\n"
        self.send_raw(out)

    def recv_more(self):
        try:
            data = self.sock.recv(65536)
        except (OSError, ssl.SSLError) as e:
            raise Closed(str(e))
        if not data:
            raise Closed("peer closed")
        self.batch += 1
        self.buf += data

    def readline(self):
        """One line including its terminator, and the recv batch it came in."""
        while b"\n" not in self.buf:
            if len(self.buf) > MAX_LINE:
                raise Closed("line too long")
            self.recv_more()
        i = self.buf.index(b"\n") + 1
        line, self.buf = self.buf[:i], self.buf[i:]
        return line, self.batch

    def close(self, how="close"):
        self.log(event="close", how=how)
        try:
            self.sock.close()
        except OSError:
            pass
        e = Closed(how)
        e.logged = True
        raise e

    # ---- faults ----
    def fault(self, stage, default, rcpt=None, r=False):
        """Reply `default` unless a rule (looked up here unless given) says
        otherwise; returns the reply that was sent."""
        if r is False:
            r = self.srv.rule(self.sc, stage, self.conn, self.msg,
                              self.cmsg if self.msg else None, rcpt)
        if r is None or "reply" not in r:
            self.reply(default)
            return default
        rep = r["reply"]
        if rep == "close":
            self.close("fault " + stage)
        if rep == "stall":
            secs = float(r.get("seconds", 3600))
            self.log(event="stall", stage=stage, seconds=secs)
            time.sleep(secs)
            self.close("stall " + stage)
        self.reply(rep)
        return rep

    # ---- the dialogue ----
    def run(self):
        self.log(event="connect", peer=self.peer[0], port=self.peer[1])
        if self.srv.args.implicit_tls:
            self.start_tls()
        g = self.sc.get("greeting", "220 %s ESMTP fake smarthost" % self.hostname())
        self.fault("GREETING", g)
        while True:
            raw, batch = self.readline()
            line = raw.rstrip(b"\r\n").decode("utf-8", "surrogateescape")
            self.log(dir="C", line=line, batch=batch)
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            h = getattr(self, "cmd_" + verb, None)
            if h is None:
                self.reply("500 5.5.2 command not recognized")
            else:
                h(arg)

    def hostname(self):
        return self.sc.get("hostname", "smarthost.test")

    def cmd_EHLO(self, arg):
        r = self.srv.rule(self.sc, "EHLO", self.conn)
        if self.sc.get("ehlo_refused") and (r is None or "reply" not in r):
            self.reply("502 5.5.2 EHLO not supported")
            return
        if r and "ext" in r:
            self.ext = list(r["ext"])
        if r and "reply" in r:
            self.fault("EHLO", "", r=r)
            return
        self.helo, self.ehlo = arg, True
        self.reset()
        lines = ["250 %s greets %s" % (self.hostname(), arg)]
        for e in self.ext:
            u = e.upper()
            if u == "STARTTLS" and (self.tls or self.srv.ctx is None or self.srv.args.implicit_tls):
                continue
            if u.startswith("AUTH") and not self.tls and self.sc.get("auth_after_tls_only"):
                continue
            lines.append("250 " + e)
        self.reply("\n".join(lines))

    def cmd_HELO(self, arg):
        self.helo, self.ehlo = arg, False
        self.reset()
        self.fault("HELO", "250 %s" % self.hostname())

    def offered(self, name):
        return any(e.upper().split()[0] == name for e in self.ext) and self.ehlo

    def cmd_STARTTLS(self, arg):
        if self.tls or self.srv.ctx is None or not self.offered("STARTTLS"):
            self.reply("454 4.7.0 TLS not available")
            return
        r = self.srv.rule(self.sc, "STARTTLS", self.conn)
        rep = r.get("reply") if r else None
        if rep == "garbage":
            self.reply("220 2.0.0 go ahead")
            self.send_raw(b"this is not a TLS server hello\r\n" * 4)
            time.sleep(0.5)
            self.close("garbage after STARTTLS")
        if rep == "tls_close":
            self.reply("220 2.0.0 go ahead")
            self.close("closed before handshake")
        if rep == "inject":
            self.log(dir="S", line="220 2.0.0 go ahead")
            self.log(dir="S", line="250 injected before handshake")
            self.send_raw(b"220 2.0.0 go ahead\r\n250 injected before handshake\r\n")
        elif rep is not None:
            self.fault("STARTTLS", "", r=r)
            return
        else:
            self.reply("220 2.0.0 go ahead")
        if self.buf:
            # RFC 3207 §4.2: plaintext sent after STARTTLS is discarded.
            self.log(event="discarded_plaintext", bytes=len(self.buf))
            self.buf = b""
        self.start_tls()
        self.helo, self.ehlo = None, False
        self.auth = None
        self.reset()

    def start_tls(self):
        if self.srv.ctx is None:
            self.close("no certificate for TLS")
        try:
            s = self.srv.ctx.wrap_socket(self.sock, server_side=True)
        except (OSError, ssl.SSLError) as e:
            self.log(event="tls_error", error=str(e))
            self.close("tls handshake failed")
        self.sock = s
        self.tls = True
        self.tls_version = s.version()
        self.sni_name = getattr(s, "fake_sni", None)
        cert = s.getpeercert()
        if cert:
            subj = dict(x[0] for x in cert.get("subject", ()))
            self.client_cert = subj.get("commonName", "?")
        self.log(event="tls", version=self.tls_version, cipher=s.cipher()[0],
                 sni=self.sni_name, client_cert=self.client_cert)
        if self.sni_name:
            self.log(event="sni", name=self.sni_name)

    # ---- AUTH ----
    def cmd_AUTH(self, arg):
        if self.auth:
            self.reply("503 5.5.1 already authenticated")
            return
        parts = arg.split()
        if not parts:
            self.reply("501 5.5.4 syntax: AUTH mechanism")
            return
        mech = parts[0].upper()
        initial = parts[1] if len(parts) > 1 else None
        authline = [e for e in self.ext if e.upper().startswith("AUTH")]
        mechs = authline[0].upper().split()[1:] if authline else []
        if not self.ehlo or mech not in mechs:
            self.reply("504 5.5.4 mechanism not offered")
            return
        r = self.srv.rule(self.sc, "AUTH", self.conn)
        if r and "reply" in r:
            self.fault("AUTH", "", r=r)
            return
        try:
            getattr(self, "auth_" + mech)(initial)
        except (ValueError, UnicodeDecodeError, base64.binascii.Error):
            self.reply("501 5.5.2 cannot decode response")

    def challenge(self, text):
        self.reply("334 " + text if text else "334")
        raw, batch = self.readline()
        line = raw.rstrip(b"\r\n").decode("ascii", "replace")
        self.log(dir="C", line=line, batch=batch)
        if line == "*":
            self.reply("501 5.7.0 authentication cancelled")
            return None
        return line

    def auth_result(self, mech, user, secret, ok, why=""):
        self.log(event="auth", mech=mech, user=user, secret=secret, ok=ok)
        if ok:
            self.auth = {"mech": mech, "user": user}
            self.reply("235 2.7.0 authentication successful")
        else:
            self.reply("535 5.7.8 authentication credentials invalid" + why)

    def auth_PLAIN(self, initial):
        resp = initial if initial is not None else self.challenge("")
        if resp is None:
            return
        dec = base64.b64decode(resp, validate=True).decode("utf-8")
        authz, user, pw = dec.split("\0")
        users = self.sc.get("users", {})
        self.auth_result("PLAIN", user, pw, user in users and users[user] == pw)

    def auth_LOGIN(self, initial):
        u = initial if initial is not None else self.challenge("VXNlcm5hbWU6")
        if u is None:
            return
        user = base64.b64decode(u, validate=True).decode("utf-8")
        p = self.challenge("UGFzc3dvcmQ6")
        if p is None:
            return
        pw = base64.b64decode(p, validate=True).decode("utf-8")
        users = self.sc.get("users", {})
        self.auth_result("LOGIN", user, pw, user in users and users[user] == pw)

    def token_ok(self, user, tok):
        if tok in self.sc.get("expired_tokens", []):
            return False
        if self.sc.get("tokens_file"):
            try:
                with open(self.sc["tokens_file"], encoding="utf-8") as f:
                    if json.load(f).get(tok, 0) > time.time():
                        return True
            except (OSError, ValueError):
                pass
        return tok in self.sc.get("tokens", {}).get(user, [])

    def bearer_fail(self, mech, user, tok, err):
        self.log(event="auth", mech=mech, user=user, secret=tok, ok=False)
        resp = self.challenge(base64.b64encode(json.dumps(err).encode()).decode())
        if resp is None:
            return
        self.reply("535 5.7.8 authentication credentials invalid")

    def auth_XOAUTH2(self, initial):
        resp = initial if initial is not None else self.challenge("")
        if resp is None:
            return
        dec = base64.b64decode(resp, validate=True).decode("utf-8")
        fields = dict(f.split("=", 1) for f in dec.split("\x01") if "=" in f)
        user = fields.get("user", "")
        tok = fields.get("auth", "")
        if not tok.startswith("Bearer "):
            raise ValueError("no bearer")
        tok = tok[7:]
        if self.token_ok(user, tok):
            self.auth_result("XOAUTH2", user, tok, True)
        else:
            self.bearer_fail("XOAUTH2", user, tok, {"status": "401", "schemes": "bearer",
                                                    "scope": "https://mail.example/"})

    def auth_OAUTHBEARER(self, initial):
        resp = initial if initial is not None else self.challenge("")
        if resp is None:
            return
        dec = base64.b64decode(resp, validate=True).decode("utf-8")
        gs2, _, rest = dec.partition("\x01")
        user = ""
        for f in gs2.split(","):
            if f.startswith("a="):
                user = f[2:].replace("=2C", ",").replace("=3D", "=")
        fields = dict(f.split("=", 1) for f in rest.split("\x01") if "=" in f)
        tok = fields.get("auth", "")
        if not tok.startswith("Bearer "):
            raise ValueError("no bearer")
        tok = tok[7:]
        if self.token_ok(user, tok):
            self.auth_result("OAUTHBEARER", user, tok, True)
        else:
            self.bearer_fail("OAUTHBEARER", user, tok, {"status": "invalid_token",
                                                        "scope": "mail", "openid-configuration": ""})

    # ---- the transaction ----
    @staticmethod
    def split_path(arg, prefix):
        if not arg.upper().startswith(prefix):
            return None, None
        rest = arg[len(prefix):].lstrip()
        if not rest.startswith("<") or ">" not in rest:
            return None, None
        end = rest.index(">")
        return rest[:end + 1], rest[end + 1:].split()

    def cmd_MAIL(self, arg):
        if self.helo is None:
            self.reply("503 5.5.1 say EHLO first")
            return
        if self.mail_from is not None:
            self.reply("503 5.5.1 nested MAIL command")
            return
        path, params = self.split_path(arg, "FROM:")
        if path is None:
            self.reply("501 5.5.4 syntax: MAIL FROM:<address>")
            return
        if self.sc.get("require_tls") and not self.tls:
            self.reply("530 5.7.0 must issue STARTTLS first")
            return
        if self.sc.get("require_auth") and not self.auth:
            self.reply("530 5.7.0 authentication required")
            return
        need = {"SIZE": "SIZE", "BODY": "8BITMIME", "SMTPUTF8": "SMTPUTF8",
                "RET": "DSN", "ENVID": "DSN"}
        for p in params:
            k = p.split("=", 1)[0].upper()
            if k in need and not self.offered(need[k]):
                self.reply("555 5.5.4 %s not supported" % k)
                return
            if k == "SIZE":
                lim = [e for e in self.ext if e.upper().startswith("SIZE ")]
                if lim and int(lim[0].split()[1]) and int(p.split("=", 1)[1]) > int(lim[0].split()[1]):
                    self.reply("552 5.3.4 message size exceeds fixed limit")
                    return
        self.msg = self.srv.next_msg()
        self.cmsg += 1
        rep = self.fault("MAIL", "250 2.1.0 Ok")
        if rep.startswith("2"):
            self.mail_from, self.mail_params = path, params
        else:
            self.msg = None

    def cmd_RCPT(self, arg):
        if self.mail_from is None:
            self.reply("503 5.5.1 need MAIL command")
            return
        path, params = self.split_path(arg, "TO:")
        if path is None:
            self.reply("501 5.5.4 syntax: RCPT TO:<address>")
            return
        for p in params:
            k = p.split("=", 1)[0].upper()
            if k in ("NOTIFY", "ORCPT") and not self.offered("DSN"):
                self.reply("555 5.5.4 %s not supported" % k)
                return
        addr = path[1:-1]
        mx = int(self.sc.get("max_rcpts", 0))
        if mx and len(self.rcpts) >= mx:
            self.reply("452 4.5.3 too many recipients")
            return
        default = self.sc.get("rcpt_replies", {}).get(addr.lower()) or \
            self.sc.get("rcpt_replies", {}).get(addr) or "250 2.1.5 Ok"
        rep = self.fault("RCPT", default, rcpt=addr)
        if rep.startswith("2"):
            self.rcpts.append({"addr": path, "params": params})
        else:
            self.rejected.append({"addr": path, "reply": rep})

    def cmd_DATA(self, arg):
        if self.mail_from is None:
            self.reply("503 5.5.1 need MAIL command")
            return
        if not self.rcpts:
            self.reply("554 5.5.1 no valid recipients")
            return
        rep = self.fault("DATA", "354 End data with <CR><LF>.<CR><LF>")
        if not rep.startswith("3"):
            self.reset()
            return
        drop = self.srv.rule(self.sc, "DATA_BYTES", self.conn, self.msg, self.cmsg)
        limit = int(drop.get("bytes", 0)) if drop else -1
        body = bytearray()
        bare_lf = 0
        got = 0
        if limit >= 0:
            # Take at least `limit` bytes; unless the whole message was in
            # them, hang up (a connection lost mid-DATA).
            while len(self.buf) < limit and (b"\r\n" + self.buf).find(b"\r\n.\r\n") < 0:
                self.recv_more()
            if (b"\r\n" + self.buf[:limit]).find(b"\r\n.\r\n") < 0:
                self.log(event="drop", stage="DATA", after_bytes=len(self.buf))
                self.close("dropped mid-DATA")
        while True:
            raw, _ = self.readline()
            got += len(raw)
            if raw in (b".\r\n", b".\n"):
                if raw == b".\n":
                    bare_lf += 1
                break
            if not raw.endswith(b"\r\n"):
                bare_lf += 1
            if raw.startswith(b"."):
                raw = raw[1:]
            body += raw
        self.log(dir="C", line="[body %d bytes]" % len(body))
        self.log(dir="C", line=".")
        rep = self.fault("DOT", "250 2.0.0 Ok: queued as FAKE%d" % self.msg)
        if rep.startswith("2"):
            self.save(bytes(body), bare_lf)
        self.reset()

    def save(self, body, bare_lf):
        base = os.path.join(self.srv.args.maildir, "conn-%d-msg-%d" % (self.conn, self.cmsg))
        side = {
            "conn": self.conn, "msg": self.msg, "cmsg": self.cmsg,
            "mail_from": self.mail_from, "mail_params": self.mail_params,
            "rcpts": self.rcpts, "rejected_rcpts": self.rejected,
            "tls": self.tls, "tls_version": self.tls_version, "sni": self.sni_name,
            "client_cert": self.client_cert, "auth": self.auth,
            "helo": self.helo, "ehlo": self.ehlo, "bare_lf_lines": bare_lf,
            "size": len(body),
        }
        for ext, data in ((".eml", body), (".json", json.dumps(side, indent=1).encode())):
            tmp = base + ext + ".tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, base + ext)

    def cmd_RSET(self, arg):
        self.reset()
        self.fault("RSET", "250 2.0.0 Ok")

    def cmd_NOOP(self, arg):
        self.fault("NOOP", "250 2.0.0 Ok")

    def cmd_VRFY(self, arg):
        self.reply("252 2.5.2 cannot verify")

    def cmd_QUIT(self, arg):
        self.fault("QUIT", "221 2.0.0 Bye")
        self.close("quit")


def serve(srv, sock, peer):
    s = None
    try:
        s = Session(srv, sock, peer)
        s.run()
    except Closed as e:
        if s is not None and not e.logged:
            s.log(event="close", how=str(e))
    except Exception as e:  # a bug here must not kill the server
        if s is not None:
            s.log(event="error", error="%s: %s" % (type(e).__name__, e))
    finally:
        try:
            (s.sock if s else sock).close()
        except OSError:
            pass


def query(argv):
    """smarthost.py query DIR EXPR: evaluate a Python expression over what the
    server in DIR recorded (DIR holds t.jsonl and mail/, as tests/lib/relay.sh
    lays it out). Names: t (transcript records), mails (list of {name, conn,
    cmsg, eml, side}), C(conn=None) / S(conn=None) (client / server lines),
    ev(name) (event records), conns (number of connections), re, json.
    Exit 0 if the value is true; otherwise print it on stderr and exit 1."""
    import re
    d, expr = argv[0], argv[1]
    try:
        t = [json.loads(l) for l in open(os.path.join(d, "t.jsonl"), encoding="utf-8")]
    except FileNotFoundError:
        t = []
    mails = []
    md = os.path.join(d, "mail")
    names = sorted(n[:-4] for n in os.listdir(md) if n.endswith(".eml")) if os.path.isdir(md) else []
    for n in names:
        side = json.load(open(os.path.join(md, n + ".json")))
        mails.append({"name": n, "conn": side["conn"], "cmsg": side["cmsg"], "side": side,
                      "eml": open(os.path.join(md, n + ".eml"), "rb").read()})
    mails.sort(key=lambda m: (m["conn"], m["cmsg"]))

    def lines(dr, conn):
        return [r["line"] for r in t if r.get("dir") == dr and (conn is None or r["conn"] == conn)]
    env = {"t": t, "mails": mails, "re": re, "json": json,
           "C": lambda conn=None: lines("C", conn), "S": lambda conn=None: lines("S", conn),
           "ev": lambda name: [r for r in t if r.get("event") == name],
           "conns": max([r["conn"] for r in t] or [0])}
    v = eval(expr, env)
    if v:
        if not isinstance(v, bool):
            print(v if isinstance(v, (str, int)) else json.dumps(v, default=repr))
        return 0
    print("query false: %s -> %r" % (expr, v), file=sys.stderr)
    return 1


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "query":
        sys.exit(query(sys.argv[2:]))
    ap = argparse.ArgumentParser(description="scriptable fake SMTP smarthost")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--portfile", required=True)
    ap.add_argument("--script", required=True)
    ap.add_argument("--transcript", required=True)
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--tls-client-ca")
    ap.add_argument("--implicit-tls", action="store_true")
    ap.add_argument("--bind", default="127.0.0.1,::1")
    ap.add_argument("--timeout-total", type=float, default=120)
    args = ap.parse_args()
    if args.tls_cert and not args.tls_key:
        args.tls_key = args.tls_cert
    if args.implicit_tls and not args.tls_cert:
        ap.error("--implicit-tls needs --tls-cert")

    srv = Server(args)
    socks = []
    port = args.port
    for addr in args.bind.split(","):
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        try:
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if fam == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((addr, port))
            s.listen(64)
        except OSError as e:
            if not socks:
                print("smarthost: cannot listen on %s:%d: %s" % (addr, port, e), file=sys.stderr)
                sys.exit(1)
            continue  # ::1 may be missing in a container
        port = s.getsockname()[1]
        socks.append(s)
    tmp = args.portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, args.portfile)

    def stop(signum, frame):
        os._exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def acceptor(ls):
        while True:
            try:
                c, peer = ls.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(srv, c, peer), daemon=True).start()

    for ls in socks:
        threading.Thread(target=acceptor, args=(ls,), daemon=True).start()
    deadline = time.monotonic() + args.timeout_total
    while time.monotonic() < deadline:
        time.sleep(0.2)
    os._exit(0)


if __name__ == "__main__":
    main()
