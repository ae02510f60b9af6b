# Helpers for the bounce integration tests (sourced, not run: no +x).
#   . "$TOP/tests/lib/bounce.sh"   after common.sh and relay.sh
#
#   EHLO_DSN                 an "ehlo" script entry offering DSN and SMTPUTF8
#   sh_bounces SH [RCPT]     .eml files SH accepted with a null MAIL FROM
#                            (to RCPT only, if given), one path a line
#   sh_bounce_count SH [RCPT]  how many
#   sh_from_count SH SENDER  number of messages SH accepted from SENDER
#   dsn_check WHAT EML EXPECT...   PASS/FAIL per expectation (see dsn.py below)
#   created_count            messages that entered the queue: the pick-up
#                            lines "ID: from=<...>, size=N" in $RL (a bounce
#                            relayd makes logs one too)
#   in_failed ID, queue_empty    where a message is
#   debian_mailx             a command line running Debian's bsd-mailx

EHLO_DSN='"ehlo":["PIPELINING","8BITMIME","ENHANCEDSTATUSCODES","SIZE 10000000","DSN","SMTPUTF8"]'

cat > "$T/dsn.py" <<'PYEOF'
# dsn.py EML EXPECT...: check a delivery status notification with Python's
# email package; prints "PASS: ..."/"FAIL: ..." lines prefixed by $WHAT.
# Always checked: multipart/report; report-type=delivery-status, From:
# MAILER-DAEMON, Auto-Submitted, a text/plain first part, Reporting-MTA,
# Arrival-Date (a date), per recipient Final-Recipient, Action, Status.
# EXPECT: to=ADDR  action=failed|delayed  status=PREFIX  rcpts=a,b (exact set)
#   remote_mta  diag=SUBSTR  last_attempt  will_retry  orig=full|hdrs
#   envid=X  orcpt=X  subject=SUBSTR (of the attached original)
import email, email.utils, os, re, sys

what = os.environ.get("WHAT", "dsn")
path, expects = sys.argv[1], sys.argv[2:]
ok_all = True


def res(ok, text):
    global ok_all
    ok_all = ok_all and ok
    print(("PASS: " if ok else "FAIL: ") + what + ": " + text)


raw = open(path, "rb").read()
msg = email.message_from_bytes(raw)
ct = msg.get_content_type()
res(ct == "multipart/report" and msg.get_param("report-type") == "delivery-status",
    "multipart/report; report-type=delivery-status (got %s)" % ct)
res("MAILER-DAEMON@" in (msg.get("From") or ""), "From: MAILER-DAEMON (%s)" % msg.get("From"))
res((msg.get("Auto-Submitted") or "").startswith("auto-replied"), "Auto-Submitted: auto-replied")
parts = msg.get_payload() if msg.is_multipart() else []
res(len(parts) >= 2 and parts[0].get_content_type() == "text/plain", "first part text/plain")
ds = [p for p in parts if p.get_content_type() == "message/delivery-status"]
res(len(ds) == 1, "one message/delivery-status part")
if not ds:
    sys.exit(0)
blocks = ds[0].get_payload()
permsg, rcpts = blocks[0], blocks[1:]
res((permsg.get("Reporting-MTA") or "").strip() == "dns; relay.test",
    "Reporting-MTA: dns; relay.test (%s)" % permsg.get("Reporting-MTA"))
ad = permsg.get("Arrival-Date")
res(ad is not None and email.utils.parsedate_tz(ad) is not None, "Arrival-Date is a date (%s)" % ad)
res(len(rcpts) >= 1, "at least one per-recipient block")
for r in rcpts:
    fr = r.get("Final-Recipient") or ""
    # rfc822, or RFC 6533's utf-8 type for an address that needs SMTPUTF8.
    res(fr.lower().startswith(("rfc822;", "utf-8;")) and r.get("Action") and r.get("Status"),
        "per-recipient fields Final-Recipient/Action/Status (%s)" % fr)
# utf-8-addr-xtext: \x{HEX} stands for one character (RFC 6533 §3).
unx = lambda a: re.sub(r"\\x\{([0-9A-Fa-f]+)\}", lambda m: chr(int(m.group(1), 16)), a)
finals = sorted(unx((r.get("Final-Recipient") or "").split(";", 1)[-1].strip()) for r in rcpts)
orig = parts[2] if len(parts) > 2 else None
for e in expects:
    k, _, v = e.partition("=")
    if k == "to":
        res(v in (msg.get("To") or ""), "To: %s (%s)" % (v, msg.get("To")))
    elif k == "action":
        res(all((r.get("Action") or "").strip() == v for r in rcpts), "Action: %s" % v)
    elif k == "status":
        got = [(r.get("Status") or "").strip() for r in rcpts]
        res(all(s.startswith(v) for s in got), "Status %s* (%s)" % (v, ",".join(got)))
    elif k == "rcpts":
        res(finals == sorted(v.split(",")), "Final-Recipient exactly %s (%s)" % (v, ",".join(finals)))
    elif k == "remote_mta":
        got = [r.get("Remote-MTA") for r in rcpts]
        res(all(g and g.startswith("dns; ") for g in got), "Remote-MTA (%s)" % got)
    elif k == "diag":
        got = [r.get("Diagnostic-Code") or "" for r in rcpts]
        res(all(v in " ".join(g.split()) for g in got), "Diagnostic-Code has %r (%s)" % (v, got))
    elif k == "last_attempt":
        got = [r.get("Last-Attempt-Date") for r in rcpts]
        res(all(g and email.utils.parsedate_tz(g) for g in got), "Last-Attempt-Date (%s)" % got)
    elif k == "will_retry":
        got = [r.get("Will-Retry-Until") for r in rcpts]
        res(all(g and email.utils.parsedate_tz(g) for g in got), "Will-Retry-Until (%s)" % got)
    elif k == "orig":
        want = "message/rfc822" if v == "full" else "text/rfc822-headers"
        res(orig is not None and orig.get_content_type() == want,
            "original attached as %s (%s)" % (want, orig and orig.get_content_type()))
    elif k == "subject":
        text = orig.as_string() if orig is not None else ""
        res(v in text, "attached original has %r" % v)
    elif k == "envid":
        res((permsg.get("Original-Envelope-Id") or "").strip() == v, "Original-Envelope-Id: %s" % v)
    elif k == "orcpt":
        got = [r.get("Original-Recipient") or "" for r in rcpts]
        res(any(v in g for g in got), "Original-Recipient has %s (%s)" % (v, got))
    else:
        res(False, "unknown expectation " + e)
PYEOF

cat > "$T/shmail.py" <<'PYEOF'
# shmail.py DIR MODE ARG: MODE bounces [RCPT] -> eml paths with MAIL FROM:<>;
# MODE from SENDER -> count of messages from SENDER.
import json, os, re, sys
d, mode = sys.argv[1], sys.argv[2]
arg = sys.argv[3] if len(sys.argv) > 3 else ""
md = os.path.join(d, "mail")
names = sorted((n[:-5] for n in os.listdir(md) if n.endswith(".json")) if os.path.isdir(md) else [],
               key=lambda x: tuple(int(p) for p in re.findall(r"\d+", x)))
strip = lambda a: a[1:-1] if a.startswith("<") and a.endswith(">") else a
n = 0
for name in names:
    j = json.load(open(os.path.join(md, name + ".json")))
    frm = strip(j.get("mail_from") or "")
    rc = [strip(r["addr"]).lower() for r in j.get("rcpts", [])]
    if mode == "bounces" and frm == "" and (not arg or arg.lower() in rc):
        print(os.path.join(md, name + ".eml"))
    elif mode == "from" and frm.lower() == arg.lower():
        n += 1
if mode == "from":
    print(n)
PYEOF

sh_bounces() { "$PY" "$T/shmail.py" "$T/$1" bounces "${2:-}"; }
sh_bounce_count() { sh_bounces "$@" | grep -c .; }
sh_from_count() { "$PY" "$T/shmail.py" "$T/$1" from "$2"; }
dsn_check() { local w=$1 f=$2; shift 2; WHAT=$w "$PY" "$T/dsn.py" "$f" "$@"; }
created_count() { grep -cE "(^|[[:space:]])$QID_RE: from=<[^>]*>, size=[0-9]+" "$RL"; }
# A message id's files: in failed/?
in_failed() { [ -e "$RS/failed/$1.env" ] && [ -e "$RS/failed/$1.msg" ]; }
queue_empty() { [ -z "$(ls "$RS/queue" 2>/dev/null)" ]; }

# debian_mailx: print a command line that runs Debian's bsd-mailx (the
# installed `mail`, else the package unpacked into $T from a cached
# `apt-get download`; installing it would pull in exim4). Fails if neither.
debian_mailx() {
	local cache=${NULLRELAY_TEST_CACHE:-/var/cache/nullrelay-test} p deb
	if command -v bsd-mailx >/dev/null 2>&1; then echo bsd-mailx; return 0; fi
	mkdir -p "$cache" "$T/mailx"
	for p in bsd-mailx liblockfile1; do
		deb=$(ls "$cache/${p}_"*.deb 2>/dev/null | tail -n 1)
		if [ -z "$deb" ]; then
			(cd "$cache" && timeout 120 apt-get download "$p" >/dev/null 2>&1) ||
				{ timeout 180 apt-get update -qq >/dev/null 2>&1
				  (cd "$cache" && timeout 120 apt-get download "$p" >/dev/null 2>&1); }
			deb=$(ls "$cache/${p}_"*.deb 2>/dev/null | tail -n 1)
		fi
		[ -n "$deb" ] && dpkg -x "$deb" "$T/mailx" || return 1
	done
	echo "env LD_LIBRARY_PATH=$T/mailx/usr/lib/x86_64-linux-gnu $T/mailx/usr/bin/bsd-mailx"
}
