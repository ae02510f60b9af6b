#!/usr/bin/python3
# Bounces built by relayd/bounce.c (through tests/tools/mkbounce) parsed by
# Python's email package, and mboxes written by relayd/mbox.c read back by
# Python's mailbox module. Prints PASS/FAIL/SKIP lines for tests/run.
import email
import email.policy
import email.utils
import mailbox
import os
import re
import shutil
import subprocess
import sys
import tempfile

TOP = os.environ.get("TOP") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("BUILD") or os.path.join(TOP, "build")
if not os.path.isabs(BUILD):
    BUILD = os.path.join(TOP, BUILD)
MKBOUNCE = os.path.join(BUILD, "tests", "tools", "mkbounce")


def result(ok, what):
    print(("PASS: " if ok else "FAIL: ") + what)
    return ok


if not os.access(MKBOUNCE, os.X_OK):
    print("SKIP: bounce format (%s not built: run make units)" % MKBOUNCE)
    sys.exit(0)

T = tempfile.mkdtemp(prefix="nrbounce.")

HEADERS = (b"Received: by relay.example.net (nullrelay, from userid 1000) id 0123456789ABCDEF;\n"
           b"\tSun, 22 Nov 2026 12:00:00 +0000\n"
           b"From: Alice <alice@example.net>\n"
           b"To: bob@example.org\n"
           b"Subject: quarterly report\n"
           b"Message-ID: <abc@example.net>\n")
BODY = (b"Hello Bob,\n\nFrom the desk of Alice: numbers below.\n>From quoted\n"
        b"--0123456789ABCDEF/not-our-boundary\n\nbye\n")
SMALL = HEADERS + b"\n" + BODY

LONGDIAG = ("550 5.1.1 <bob@example.org>: Recipient address rejected: user unknown in "
            "virtual mailbox table; caf\u00e9 " + "x" * 1500 + " end of the story")


def write(name, data):
    p = os.path.join(T, name)
    with open(p, "wb") as f:
        f.write(data)
    return p


def mkbounce(msgfile, *args):
    r = subprocess.run([MKBOUNCE, *args, msgfile], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    if r.returncode != 0:
        print("mkbounce failed: %s" % r.stderr.decode(errors="replace"), file=sys.stderr)
        return None
    return r.stdout


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def lines_ok(raw):
    return all(len(l) <= 998 for l in raw.split(b"\n")) and b"\r" not in raw


STD = ["-H", "relay.example.net", "-i", "0123456789ABCDEF", "-t", "alice@example.net",
       "-a", "1795000000", "-n", "1795003600", "-e", "ENV-ID.42"]
RCPT1 = ["-r", "bob@example.org", "-o", "bob", "-s", "5.1.1",
         "-m", "smtp.example.org[192.0.2.1]:587", "-d", LONGDIAG, "-l", "1795003000"]
RCPT2 = ["-r", "carol@example.org", "-s", "5.7.1", "-d", "delivery time expired"]


def main():
    small = write("small.eml", SMALL)

    # 1. A failed bounce with the whole original.
    raw = mkbounce(small, *STD, *RCPT1, *RCPT2)
    if raw is None:
        result(False, "mkbounce builds a failure report")
        return
    m = parse(raw)
    result(lines_ok(raw), "report: LF only, no line over 998 octets")
    result(m.get_content_type() == "multipart/report" and
           m.get_param("report-type") == "delivery-status", "multipart/report; report-type=delivery-status")
    parts = m.get_payload()
    result(isinstance(parts, list) and len(parts) == 3, "three parts")
    if not isinstance(parts, list) or len(parts) != 3:
        return
    result([p.get_content_type() for p in parts] ==
           ["text/plain", "message/delivery-status", "message/rfc822"], "part types text/plain, delivery-status, rfc822")
    result(m["From"].addresses[0].addr_spec == "MAILER-DAEMON@relay.example.net" and
           m["From"].addresses[0].display_name == "Mail Delivery System", "From: Mail Delivery System <MAILER-DAEMON@host>")
    result(m["To"].addresses[0].addr_spec == "alice@example.net", "To: the sender")
    result(str(m["Auto-Submitted"]) == "auto-replied", "Auto-Submitted: auto-replied")
    result(str(m["Subject"]) == "Undelivered Mail Returned to Sender", "failure Subject")
    result(m["Date"].datetime is not None and m["Message-ID"] is not None, "Date and Message-ID")
    result(str(m["MIME-Version"]) == "1.0", "MIME-Version")
    boundary = m.get_boundary()
    result(boundary is not None and "0123456789ABCDEF" in boundary and
           len(boundary) <= 70 and boundary.encode() not in SMALL, "boundary holds the queue id, absent from the original")

    text = parts[0].get_content()
    result("<bob@example.org>" in text and "smtp.example.org" in text and
           "<carol@example.org>" in text and "delivery time expired" in text, "human part names recipients and reasons")

    blocks = parts[1].get_payload()
    result(isinstance(blocks, list) and len(blocks) == 3, "delivery-status: per-message + 2 recipient blocks")
    if not isinstance(blocks, list) or len(blocks) != 3:
        return
    pm, r1, r2 = blocks
    result(str(pm["Reporting-MTA"]) == "dns; relay.example.net", "Reporting-MTA: dns; host")
    result(str(pm["Original-Envelope-Id"]) == "ENV-ID.42", "Original-Envelope-Id")
    result(str(pm["X-Nullrelay-Queue-ID"]) == "0123456789ABCDEF", "X-Nullrelay-Queue-ID")
    result(email.utils.parsedate_to_datetime(str(pm["Arrival-Date"])).timestamp() == 1795000000, "Arrival-Date value")
    result(str(r1["Final-Recipient"]) == "rfc822; bob@example.org", "Final-Recipient")
    result(str(r1["Original-Recipient"]) == "rfc822; bob", "Original-Recipient")
    result(str(r1["Action"]) == "failed" and str(r1["Status"]) == "5.1.1", "Action: failed, Status: 5.1.1")
    result(str(r1["Remote-MTA"]) == "dns; smtp.example.org", "Remote-MTA: dns; host (no [addr]:port)")
    diag = re.sub(r"\s+", " ", str(r1["Diagnostic-Code"]))
    want = "smtp; " + LONGDIAG.replace("\u00e9", "?")
    # A 1500-octet word had to be split to keep lines under 998 octets.
    result(diag.replace(" ", "") == want.replace(" ", ""), "Diagnostic-Code folded, non-ASCII -> ?, text intact")
    result(email.utils.parsedate_to_datetime(str(r1["Last-Attempt-Date"])).timestamp() == 1795003000, "Last-Attempt-Date")
    result(r1["Will-Retry-Until"] is None, "no Will-Retry-Until in a failure")
    result(str(r2["Final-Recipient"]) == "rfc822; carol@example.org" and r2["Original-Recipient"] is None and
           r2["Remote-MTA"] is None and str(r2["Status"]) == "5.7.1", "second recipient: only known fields")
    result(str(r2["Diagnostic-Code"]).startswith("X-Nullrelay; delivery time expired"), "non-SMTP diagnostic type")

    orig = parts[2].get_payload()[0]
    result(str(orig["Subject"]) == "quarterly report" and
           orig.get_payload(decode=False).encode() == BODY, "original attached whole and byte-exact body")
    start = raw.index(b"Content-Type: message/rfc822\n\n") + len(b"Content-Type: message/rfc822\n\n")
    result(raw[start:start + len(SMALL)] == SMALL, "original copied as stored")

    # 2. RET=HDRS: headers only.
    raw = mkbounce(small, *STD, "-R", "hdrs", *RCPT1)
    m = parse(raw)
    p3 = m.get_payload()[2]
    result(p3.get_content_type() == "text/rfc822-headers" and
           p3.get_payload().encode() == HEADERS, "RET=HDRS: text/rfc822-headers with the header section only")

    # 3. Over 64 KiB: headers only.
    big = write("big.eml", HEADERS + b"\n" + (b"y" * 99 + b"\n") * 700)
    raw = mkbounce(big, *STD, *RCPT1)
    m = parse(raw)
    p3 = m.get_payload()[2]
    result(p3.get_content_type() == "text/rfc822-headers" and p3.get_payload().encode() == HEADERS and
           len(raw) < 8192, "original over 64 KiB: headers only")
    exact = write("exact.eml", HEADERS + b"\n" + b"z" * (65536 - len(HEADERS) - 2) + b"\n")
    m = parse(mkbounce(exact, *STD, *RCPT1))
    result(m.get_payload()[2].get_content_type() == "message/rfc822", "original of exactly 64 KiB: attached whole")

    # 4. Delay warning.
    raw = mkbounce(small, *STD, "-k", "delayed", "-u", "1795432000",
                   "-r", "bob@example.org", "-s", "4.4.1", "-m", "smtp.example.org",
                   "-d", "421 4.4.1 try later", "-l", "1795003000")
    m = parse(raw)
    parts = m.get_payload()
    r1 = parts[1].get_payload()[1]
    result(str(m["Subject"]) == "Delayed Mail (still being retried)", "delay warning Subject")
    result(str(r1["Action"]) == "delayed" and str(r1["Status"]) == "4.4.1", "Action: delayed, Status 4.4.1")
    result(email.utils.parsedate_to_datetime(str(r1["Will-Retry-Until"])).timestamp() == 1795432000, "Will-Retry-Until")
    result(parts[2].get_content_type() == "text/rfc822-headers", "delay warning: headers only")
    result("WARNING ONLY" in parts[0].get_content(), "delay warning says it is only a warning")

    # 5. UTF-8 addresses and an 8-bit original.
    eight = write("eight.eml", HEADERS + b"\nCaf\xc3\xa9 au lait\n")
    raw = mkbounce(eight, *STD, "-r", "j\u00fcrgen@example.org", "-s", "5.1.1")
    m = parse(raw)
    blocks = m.get_payload()[1].get_payload()
    result(lines_ok(raw) and str(blocks[1]["Final-Recipient"]) == "utf-8; j\\x{FC}rgen@example.org",
           "UTF-8 recipient as RFC 6533 utf-8-addr-xtext")
    result(m["Content-Transfer-Encoding"] == "8bit" and
           m.get_payload()[2]["Content-Transfer-Encoding"] == "8bit" and
           b"Caf\xc3\xa9 au lait\n" in raw, "8-bit original declared 8bit and copied unchanged")

    # 6. mbox delivery read back by Python's mailbox module.
    mb = write("mbox", b"")
    fromy = write("fromy.eml", HEADERS + b"\nFrom here\n>From there\n>>From everywhere\nFrom\nFromage\n x\nend without newline")
    bounce = write("bounce.eml", mkbounce(small, *STD, *RCPT1))
    ok = True
    for f, s in ((bounce, ""), (fromy, "alice@example.net"), (small, "alice@example.net")):
        r = subprocess.run([MKBOUNCE, "-M", mb, s, f], stderr=subprocess.PIPE, timeout=60)
        ok = ok and r.returncode == 0
    result(ok and not os.path.exists(mb + ".lock"), "mbox_deliver appends three messages, lock removed")
    box = mailbox.mbox(mb, create=False)
    keys = box.keys()
    result(len(keys) == 3, "Python mailbox.mbox reads three messages")
    if len(keys) == 3:
        def unquote(b):
            return re.sub(rb"(?m)^>(>*From )", rb"\1", b)
        first = box.get_message(keys[0])
        result(first.get_from().startswith("MAILER-DAEMON ") and
               email.message_from_bytes(box.get_bytes(keys[0]), policy=email.policy.default)
               .get_content_type() == "multipart/report", "bounce in mbox: From MAILER-DAEMON, multipart/report")
        got = unquote(box.get_bytes(keys[1]))
        result(got == HEADERS + b"\nFrom here\n>From there\n>>From everywhere\nFrom\nFromage\n x\nend without newline\n",
               "mboxrd quoting undone gives the message back (plus the final LF)")
        with open(mb, "rb") as f:
            content = f.read()
        result(b"\n>From here\n>>From there\n>>>From everywhere\nFrom\nFromage\n" in content,
               "mbox holds >From, >>From, >>>From")
        got = unquote(box.get_bytes(keys[2]))
        result(got in (SMALL, SMALL + b"\n"), "last message intact")
        result(re.match(rb"From alice@example\.net [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}\n",
                        content[content.index(b"From alice"):]) is not None, "From_ line in asctime form")
    box.close()

    r = subprocess.run([MKBOUNCE, "-M", os.path.join(T, "nombox"), "a@b", small], stderr=subprocess.PIPE, timeout=30)
    result(r.returncode != 0 and b"no mailbox" in r.stderr and not os.path.exists(os.path.join(T, "nombox")),
           "missing mbox: error 'no mailbox', nothing created")

    # An mbox not owned by the user the bounce is for is refused, unchanged.
    with open(mb, "rb") as f:
        before = f.read()
    r = subprocess.run([MKBOUNCE, "-M", mb, "", bounce, str(os.geteuid() + 1)], stderr=subprocess.PIPE, timeout=30)
    with open(mb, "rb") as f:
        after = f.read()
    result(r.returncode != 0 and b"is owned by uid %d" % os.geteuid() in r.stderr and before == after,
           "mbox of another owner: refused, unchanged")


try:
    main()
finally:
    shutil.rmtree(T, ignore_errors=True)
