#!/usr/bin/env bash
# Header lines over 998 octets (RFC 5322 §2.1.1, §2.2.3; issue 8): a long
# Subject:, X-...: or To: that has white space is folded there, so every line
# that reaches the smarthost is at most 998 octets and unfolding gives back
# exactly the caller's value; only a header with no white space to fold at is
# refused (65, one line naming the header). Through ./sendmail, ./relayd and
# the fake smarthost.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay sendmail-long-header || exit 0

relay_new long
sh_start sh-long '{}'
relay_conf

# The message: a 1190-octet Subject, a 5000-octet X-Report with runs of
# blanks and tabs, a To: list of 60 addresses on one line (about 1400
# octets), a 2000-octet Subject-like field whose only blanks are far apart,
# and an already folded field with one over-long continuation line.
"$PY" - "$RD/msg" "$RD/want.json" <<'EOF'
import json, sys
subject = " ".join("word%03d" % i for i in range(149))[:1190]
assert len("Subject: " + subject) > 998
report = "\t".join("k%d=%s" % (i, "v" * (i % 40)) for i in range(300)) + "  two  blanks"
rcpts = ", ".join("user%02d@example.org" % i for i in range(60))
sparse = "A" * 900 + " " + "B" * 900 + " " + "C" * 190
cont = "first line\n " + " ".join("c%03d" % i for i in range(300))
fields = [("From", "Sender <sender@example.org>"), ("To", rcpts), ("Subject", subject),
          ("Date", "Mon, 1 Jan 2024 00:00:00 +0000"), ("Message-ID", "<long@example.org>"),
          ("X-Report", report), ("X-Sparse", sparse), ("X-Cont", cont)]
with open(sys.argv[1], "w") as f:
    for k, v in fields:
        f.write("%s: %s\n" % (k, v))
    f.write("\nbody\n")
# What unfolding (RFC 5322 §2.2.3: remove each CRLF that precedes WSP) must give.
want = {k: v.replace("\n", "") for k, v in fields}
json.dump({"fields": want, "rcpts": ["<user%02d@example.org>" % i for i in range(60)]},
          open(sys.argv[2], "w"))
EOF

submit -t -f sender@example.org < "$RD/msg"
rc=$?
check "long headers: sendmail exits 0 (got $rc: $(tail -n 1 "$RD/sendmail.err"))" \
	[ "$rc" = 0 ] && [ -n "$SUBMIT_ID" ]
drop=$RS/incoming/new/$SUBMIT_ID
check "long headers: every line of the drop file is at most 998 octets" \
	awk 'length($0) > 998 { bad = 1 } END { exit bad }' "$drop"
relayd_once
check "long headers: the smarthost accepted the message" [ "$(sh_count sh-long)" = 1 ]
eml=$(find "$T/sh-long/mail" -name '*.eml' | head -n 1)

"$PY" - "${eml:-/nonexistent}" "$RD/want.json" "$T/sh-long" > "$RD/res" <<'EOF'
import glob, json, re, sys
raw = open(sys.argv[1], "rb").read()
want = json.load(open(sys.argv[2]))
head = raw.split(b"\r\n\r\n", 1)[0]
lines = head.split(b"\r\n")
print("short", all(len(l) <= 998 for l in raw.split(b"\r\n")))
print("crlf", b"\n" not in raw.replace(b"\r\n", b""))
# Unfold: a CRLF before WSP goes away, nothing else changes.
text = re.sub(rb"\r\n(?=[ \t])", b"", head).decode()
got = {}
for line in text.split("\r\n"):
    name, _, value = line.partition(":")
    got.setdefault(name, value[1:] if value.startswith(" ") else value)
for k, v in want["fields"].items():
    print("same-%s" % k, got.get(k) == v)
print("folded-subject", any(l.startswith(b"Subject:") for l in lines) and
      len([l for l in lines if l.startswith(b"Subject:")][0]) < len("Subject: ") + len(want["fields"]["Subject"]))
side = json.load(open(glob.glob(sys.argv[3] + "/mail/*.json")[0]))
print("rcpts", [r["addr"] for r in side["rcpts"]] == want["rcpts"])
EOF
check "long headers: every line on the wire is at most 998 octets" grep -qx 'short True' "$RD/res"
check "long headers: CRLF only on the wire" grep -qx 'crlf True' "$RD/res"
check "long headers: the Subject: was folded" grep -qx 'folded-subject True' "$RD/res"
for f in Subject To X-Report X-Sparse X-Cont From Message-ID; do
	check "long headers: $f: unfolds to exactly the caller's value" grep -qx "same-$f True" "$RD/res"
done
check "long headers: -t read all 60 recipients of the long To:" grep -qx 'rcpts True' "$RD/res"

# ---- no white space to fold at: 65, one line naming the header -------------
refuse_case() {
	local name=$1 field=$2
	"$PY" -c 'import sys
print("From: s@example.org\nTo: r@example.org\nSubject: t")
print(sys.argv[1])
print("\nbody")' "$3" > "$RD/bad"
	before=$(find "$RS/incoming" -type f | wc -l)
	"$SENDMAIL" -C "$RC" r@example.org < "$RD/bad" > "$RD/out" 2> "$RD/err"
	rc=$?
	check "$name: exit 65 (got $rc)" [ "$rc" = 65 ]
	check "$name: exactly one line on stderr" [ "$(wc -l < "$RD/err")" = 1 ]
	check "$name: stderr names the $field header ($(head -c 200 "$RD/err"))" grep -qF "$field" "$RD/err"
	check "$name: nothing queued" [ "$(find "$RS/incoming" -type f | wc -l)" = "$before" ]
}
refuse_case "no white space" X-Token "X-Token: $(printf 'a%.0s' $(seq 1 1500))"
refuse_case "white space too far apart" X-Blob \
	"X-Blob: $(printf 'a%.0s' $(seq 1 1200)) $(printf 'b%.0s' $(seq 1 100))"
refuse_case "a continuation line without white space" X-Cont \
	"X-Cont: short
 $(printf 'c%.0s' $(seq 1 1100))"

# A field of exactly 998 octets goes out untouched.
"$PY" -c 'print("From: s@example.org\nTo: r@example.org\nX-Exact: " + "e" * 989 + "\n\nbody")' > "$RD/exact"
submit r@example.org < "$RD/exact"
check "998 octets exactly: exit 0 and the line is kept as it is" \
	grep -qx "X-Exact: $(printf 'e%.0s' $(seq 1 989))" "$RS/incoming/new/$SUBMIT_ID"
