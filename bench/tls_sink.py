#!/usr/bin/python3
"""bench/tls_sink.py: an SMTP sink with STARTTLS and AUTH PLAIN/LOGIN that
throws every message away, for bench/drain.sh (Postfix's smtp-sink has no
TLS). Standard library only.

  tls_sink.py --port N --cert PEM --key KEY --user U --password P
              --stats FILE [--timeout-total SECONDS]

It refuses MAIL before STARTTLS and AUTH (so a relay that skipped either
would show up as failures, not as speed), and rewrites FILE with
"sess=N mesg=N auth=N fail=N" after every session and every message.
It exits after --timeout-total seconds or on SIGTERM.
"""
import argparse
import asyncio
import base64
import os
import signal
import ssl


class Stats:
    def __init__(self, path):
        self.path = path
        self.sess = self.mesg = self.auth = self.fail = 0

    def write(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write("sess=%d mesg=%d auth=%d fail=%d\n"
                    % (self.sess, self.mesg, self.auth, self.fail))
        os.replace(tmp, self.path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--portfile")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--timeout-total", type=float, default=600)
    a = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    stats = Stats(a.stats)
    stats.write()

    def plain_ok(resp):
        # RFC 4616: [authzid] NUL authcid NUL passwd; an authzid equal to the
        # user (nullmailer sends one) is the same identity.
        try:
            z, u, p = base64.b64decode(resp, validate=True).split(b"\0")
        except ValueError:
            return False
        return z in (b"", u) and u == a.user.encode() and p == a.password.encode()

    async def session(reader, writer):
        tls = authed = False
        in_tx = False

        async def reply(text):
            writer.write(text.encode() + b"\r\n")
            await writer.drain()

        try:
            await reply("220 tls-sink ESMTP")
            while True:
                line = await reader.readline()
                if not line:
                    break
                cmd = line.rstrip(b"\r\n")
                verb = cmd.split(b" ", 1)[0].upper()
                if verb in (b"EHLO", b"HELO"):
                    caps = ["250-tls-sink", "250-PIPELINING", "250-8BITMIME",
                            "250-SIZE 2147483647", "250-ENHANCEDSTATUSCODES"]
                    if tls:
                        caps.append("250-AUTH PLAIN LOGIN")
                    else:
                        caps.append("250-STARTTLS")
                    caps.append("250 DSN")
                    await reply("\r\n".join(caps))
                elif verb == b"STARTTLS" and not tls:
                    await reply("220 2.0.0 go ahead")
                    await writer.start_tls(ctx)
                    tls = True
                elif verb == b"AUTH" and tls and not authed:
                    parts = cmd.split()
                    mech = parts[1].upper() if len(parts) > 1 else b""
                    if mech == b"PLAIN":
                        resp = parts[2] if len(parts) > 2 else None
                        if resp is None:
                            await reply("334 ")
                            resp = (await reader.readline()).strip()
                        ok = plain_ok(resp)
                    elif mech == b"LOGIN":
                        await reply("334 VXNlcm5hbWU6")
                        u = base64.b64decode((await reader.readline()).strip())
                        await reply("334 UGFzc3dvcmQ6")
                        p = base64.b64decode((await reader.readline()).strip())
                        ok = u == a.user.encode() and p == a.password.encode()
                    else:
                        ok = False
                    if ok:
                        authed = True
                        stats.auth += 1
                        await reply("235 2.7.0 Authentication successful")
                    else:
                        stats.fail += 1
                        await reply("535 5.7.8 Authentication failed")
                elif verb == b"MAIL":
                    if not (tls and authed):
                        stats.fail += 1
                        await reply("530 5.7.0 Must issue STARTTLS and AUTH first")
                    else:
                        in_tx = True
                        await reply("250 2.1.0 Ok")
                elif verb == b"RCPT":
                    await reply("250 2.1.5 Ok" if in_tx else "503 5.5.1 MAIL first")
                elif verb == b"DATA":
                    if not in_tx:
                        await reply("503 5.5.1 MAIL first")
                        continue
                    await reply("354 End data with <CR><LF>.<CR><LF>")
                    # Discard up to the final dot, line by line so a huge
                    # message never sits in memory.
                    while True:
                        data = await reader.readline()
                        if not data:
                            return
                        if data == b".\r\n":
                            break
                    in_tx = False
                    stats.mesg += 1
                    stats.write()
                    await reply("250 2.0.0 Ok: queued as SINK%d" % stats.mesg)
                elif verb == b"RSET":
                    in_tx = False
                    await reply("250 2.0.0 Ok")
                elif verb == b"NOOP":
                    await reply("250 2.0.0 Ok")
                elif verb == b"QUIT":
                    await reply("221 2.0.0 Bye")
                    break
                else:
                    await reply("502 5.5.2 Command not recognized")
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            stats.sess += 1
            stats.write()
            try:
                writer.close()
            except Exception:
                pass

    async def run():
        server = await asyncio.start_server(session, "127.0.0.1", a.port,
                                            limit=1 << 20)
        if a.portfile:
            port = server.sockets[0].getsockname()[1]
            with open(a.portfile + ".tmp", "w") as f:
                f.write("%d\n" % port)
            os.replace(a.portfile + ".tmp", a.portfile)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        try:
            await asyncio.wait_for(stop.wait(), a.timeout_total)
        except asyncio.TimeoutError:
            pass
        server.close()
        stats.write()

    asyncio.run(run())


if __name__ == "__main__":
    main()
