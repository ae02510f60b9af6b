#!/usr/bin/python3
"""A fake OAuth2 authorization server for relayd's OAuth2 tests, over HTTPS.

    oauth2_server.py --port 0 --portfile F --cert C --key K --state DIR
                     [--script S.json] [--timeout-total 300]

Listens on 127.0.0.1 only, writes its port to --portfile once it accepts,
exits after --timeout-total seconds or on SIGTERM. Standard library only.

Endpoints (RFC 6749, RFC 8628, RFC 7636):
  POST /device      device authorization: device_code, user_code, verification_uri
  POST /token       grants: urn:ietf:params:oauth:grant-type:device_code,
                    authorization_code (PKCE S256 checked), refresh_token
                    (rotated when "rotate"), client_credentials
  GET  /authorize   authcode: answers 302 to redirect_uri?code=..&state=..
                    (the person consented), or ?error=access_denied ("deny")
Test hooks (the "person" and the operator of the provider):
  POST /activate    user_code=X [&deny=1]: the person entered the code
  POST /revoke      every refresh and access token stops working
                    (access_only=1: the access tokens only)
State written to DIR:
  access.json       {"token": expires_at, ...}: the access tokens valid now
                    (tests/smarthost.py "tokens_file" accepts only these)
  log.jsonl         one line per request: path, grant, result (no secrets
                    other than the test's own)
The script (JSON, re-read at every request), all optional:
  {"client_id": "nr-client", "client_secret": null, "access_lifetime": 3600,
   "rotate": true, "interval": 1, "device_expires_in": 600, "slow_down": 0,
   "down": false (503 HTML page), "garbage": false (200 non-JSON),
   "slow": 0 (seconds before answering /token), "deny": false,
   "no_refresh": false}
"""

import argparse
import base64
import hashlib
import http.server
import json
import os
import secrets
import signal
import ssl
import sys
import threading
import time
import urllib.parse

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.devices = {}      # device_code -> dict
        self.codes = {}        # authorization code -> dict
        self.refresh = set()   # valid refresh tokens
        self.access = {}       # valid access token -> expires_at
        self.n = 0
        self.write_access()

    def script(self):
        try:
            with open(self.args.script, encoding="utf-8") as f:
                return json.load(f)
        except (FileNotFoundError, TypeError):
            return {}

    def log(self, **rec):
        rec["t"] = round(time.time(), 3)
        with open(os.path.join(self.args.state, "log.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")

    def write_access(self):
        path = os.path.join(self.args.state, "access.json")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(self.access, f)
        os.replace(path + ".tmp", path)

    def issue(self, sc, with_refresh=True):
        self.n += 1
        life = int(sc.get("access_lifetime", 3600))
        at = "at-%d-%s" % (self.n, secrets.token_urlsafe(12))
        self.access[at] = time.time() + life
        self.write_access()
        out = {"access_token": at, "token_type": "Bearer", "expires_in": life}
        if with_refresh and not sc.get("no_refresh"):
            rt = "rt-%d-%s" % (self.n, secrets.token_urlsafe(12))
            self.refresh.add(rt)
            out["refresh_token"] = rt
        return out


def b64url_sha256(s):
    return base64.urlsafe_b64encode(hashlib.sha256(s.encode()).digest()).rstrip(b"=").decode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def send(self, code, body, ctype="application/json", headers=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def json(self, code, obj):
        self.send(code, json.dumps(obj))

    def oerr(self, error, desc=None, code=400):
        o = {"error": error}
        if desc:
            o["error_description"] = desc
        self.json(code, o)

    def form(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode()
        return {k: v[0] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}

    def client_ok(self, st, sc, f):
        want = sc.get("client_id", "nr-client")
        if f.get("client_id") != want:
            return False
        sec = sc.get("client_secret")
        return sec is None or f.get("client_secret") == sec

    # ---- GET /authorize (the browser) ----
    def do_GET(self):
        st, sc = self.server.st, self.server.st.script()
        u = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(u.query).items()}
        if u.path != "/authorize":
            return self.send(404, "not found", "text/plain")
        redirect = q.get("redirect_uri", "")
        if (q.get("response_type") != "code" or q.get("client_id") != sc.get("client_id", "nr-client")
                or not redirect.startswith("http://127.0.0.1:")
                or q.get("code_challenge_method") != "S256" or not q.get("code_challenge")):
            st.log(path="/authorize", result="bad_request", q=q)
            return self.send(400, "bad authorization request", "text/plain")
        with st.lock:
            if sc.get("deny"):
                loc = redirect + "?" + urllib.parse.urlencode(
                    {"error": "access_denied", "error_description": "the user said no",
                     "state": q.get("state", "")})
                st.log(path="/authorize", result="denied")
            else:
                code = "ac-" + secrets.token_urlsafe(12)
                st.codes[code] = {"challenge": q["code_challenge"], "redirect": redirect,
                                  "scope": q.get("scope")}
                loc = redirect + "?" + urllib.parse.urlencode({"code": code, "state": q.get("state", "")})
                st.log(path="/authorize", result="code", scope=q.get("scope"),
                       login_hint=q.get("login_hint"))
        self.send(302, "", "text/plain", [("Location", loc)])

    def do_POST(self):
        st, sc = self.server.st, self.server.st.script()
        path = urllib.parse.urlsplit(self.path).path
        f = self.form()
        if sc.get("down"):
            st.log(path=path, result="down")
            return self.send(503, "<html><body>Service Unavailable</body></html>", "text/html")
        if path == "/activate":
            with st.lock:
                for d in st.devices.values():
                    if d["user_code"] == f.get("user_code"):
                        d["state"] = "denied" if f.get("deny") else "approved"
                        st.log(path=path, result=d["state"])
                        return self.json(200, {"ok": True})
            return self.json(404, {"ok": False})
        if path == "/revoke":
            with st.lock:
                if not f.get("access_only"):
                    st.refresh.clear()
                st.access.clear()
                st.write_access()
                st.log(path=path, result="revoked")
            return self.json(200, {"ok": True})
        if path == "/device":
            if not self.client_ok(st, sc, f):
                st.log(path=path, result="invalid_client")
                return self.oerr("invalid_client", "unknown client", 401)
            with st.lock:
                dc = "dc-" + secrets.token_urlsafe(12)
                uc = "%04d-%04d" % (secrets.randbelow(10000), secrets.randbelow(10000))
                life = int(sc.get("device_expires_in", 600))
                st.devices[dc] = {"user_code": uc, "state": "pending",
                                  "expires": time.time() + life, "slow_down": int(sc.get("slow_down", 0)),
                                  "last": 0.0}
                st.log(path=path, result="device", scope=f.get("scope"))
            base = "https://127.0.0.1:%d" % self.server.server_address[1]
            return self.json(200, {"device_code": dc, "user_code": uc,
                                   "verification_uri": base + "/activate",
                                   "verification_uri_complete": base + "/activate?user_code=" + uc,
                                   "expires_in": life, "interval": int(sc.get("interval", 1))})
        if path != "/token":
            return self.send(404, "not found", "text/plain")
        if sc.get("slow"):
            time.sleep(float(sc["slow"]))
        if sc.get("garbage"):
            st.log(path=path, grant=f.get("grant_type"), result="garbage")
            return self.send(200, "<html>this is not JSON {", "text/html")
        grant = f.get("grant_type")
        if not self.client_ok(st, sc, f):
            st.log(path=path, grant=grant, result="invalid_client")
            return self.oerr("invalid_client", "client authentication failed", 401)
        with st.lock:
            if grant == DEVICE_GRANT:
                d = st.devices.get(f.get("device_code"))
                if d is None:
                    r = ("invalid_grant", "unknown device_code")
                elif time.time() > d["expires"]:
                    r = ("expired_token", "the device code expired")
                elif d["slow_down"] > 0:
                    d["slow_down"] -= 1
                    r = ("slow_down", "polling too fast")
                elif d["state"] == "pending":
                    r = ("authorization_pending", None)
                elif d["state"] == "denied":
                    r = ("access_denied", "the user declined")
                else:
                    del st.devices[f["device_code"]]
                    st.log(path=path, grant="device_code", result="ok")
                    return self.json(200, st.issue(sc))
                st.log(path=path, grant="device_code", result=r[0])
                return self.oerr(*r)
            if grant == "authorization_code":
                c = st.codes.pop(f.get("code"), None)
                if c is None or c["redirect"] != f.get("redirect_uri"):
                    st.log(path=path, grant=grant, result="invalid_grant")
                    return self.oerr("invalid_grant", "bad code or redirect_uri")
                if b64url_sha256(f.get("code_verifier", "")) != c["challenge"]:
                    st.log(path=path, grant=grant, result="pkce_mismatch")
                    return self.oerr("invalid_grant", "PKCE verification failed")
                st.log(path=path, grant=grant, result="ok", pkce="S256")
                return self.json(200, st.issue(sc))
            if grant == "refresh_token":
                rt = f.get("refresh_token")
                if rt not in st.refresh:
                    st.log(path=path, grant=grant, result="invalid_grant")
                    return self.oerr("invalid_grant", "AADSTS70000: the refresh token was revoked")
                rotate = sc.get("rotate", True)
                out = st.issue(sc, with_refresh=rotate)
                if rotate:
                    st.refresh.discard(rt)
                st.log(path=path, grant=grant, result="ok", rotated=bool(rotate),
                       scope=f.get("scope"))
                return self.json(200, out)
            if grant == "client_credentials":
                if sc.get("client_secret") is None or f.get("client_secret") != sc.get("client_secret"):
                    st.log(path=path, grant=grant, result="invalid_client")
                    return self.oerr("invalid_client", "a client secret is required", 401)
                st.log(path=path, grant=grant, result="ok", scope=f.get("scope"))
                return self.json(200, st.issue(sc, with_refresh=False))
        st.log(path=path, grant=grant, result="unsupported_grant_type")
        return self.oerr("unsupported_grant_type")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description="fake OAuth2 authorization server")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--portfile", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--script")
    ap.add_argument("--timeout-total", type=float, default=300)
    args = ap.parse_args()
    os.makedirs(args.state, exist_ok=True)
    srv = Server(("127.0.0.1", args.port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.st = State(args)

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    threading.Timer(args.timeout_total, stop, (0, None)).start()
    with open(args.portfile + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(args.portfile + ".tmp", args.portfile)
    srv.serve_forever()
    os._exit(0)


if __name__ == "__main__":
    main()
