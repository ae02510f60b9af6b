#!/usr/bin/env bash
# Interoperability with a real MTA: Debian's OpenSMTPD as an authenticated
# STARTTLS smarthost on loopback. The .deb is fetched with `apt-get download`
# (cached under /var/cache/nullrelay-test), unpacked with dpkg -x, never
# installed: smtpd runs in a private mount namespace (unshare -m) where its
# hard-coded paths (/usr/libexec/opensmtpd, /var/spool/smtpd,
# /var/lib/opensmtpd/empty, /run) are scratch tmpfs mounts. Only its two
# system users (opensmtpd, opensmtpq) are created on the host if missing.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"

if ! is_root; then skip "interop: OpenSMTPD (needs root: users, mount namespace)"; exit 0; fi
CACHE=${NULLRELAY_TEST_CACHE:-/var/cache/nullrelay-test}
mkdir -p "$CACHE"
deb=$(ls "$CACHE"/opensmtpd_*.deb 2>/dev/null | tail -n 1)
if [ -z "$deb" ]; then
	# A fresh machine may have no package lists yet: update once and retry.
	(cd "$CACHE" && timeout 120 apt-get download opensmtpd >/dev/null 2>&1) ||
		{ timeout 180 apt-get update -qq >/dev/null 2>&1
		  (cd "$CACHE" && timeout 120 apt-get download opensmtpd >/dev/null 2>&1); }
	deb=$(ls "$CACHE"/opensmtpd_*.deb 2>/dev/null | tail -n 1)
fi
if [ -z "$deb" ]; then skip "interop: OpenSMTPD (apt-get download opensmtpd failed: no Debian mirror reachable?)"; exit 0; fi
command -v unshare >/dev/null || { skip "interop: OpenSMTPD (no unshare)"; exit 0; }

X=$T/osmtpd
mkdir -p "$X/root" && dpkg -x "$deb" "$X/root" || { fail "interop: dpkg -x $deb"; exit 0; }
SMTPD=$X/root/usr/sbin/smtpd
missing=$(ldd "$SMTPD" 2>&1 | grep 'not found')
if [ -n "$missing" ]; then skip "interop: OpenSMTPD (libraries missing, run scripts/install-deps: $missing)"; exit 0; fi
for u in opensmtpd opensmtpq; do
	getent passwd "$u" >/dev/null ||
		useradd --system --home-dir /var/lib/opensmtpd --no-create-home --shell /usr/sbin/nologin "$u" ||
		{ fail "interop: cannot create user $u"; exit 0; }
done
unshare -m --propagation private true 2>/dev/null || { skip "interop: OpenSMTPD (mount namespaces not permitted here)"; exit 0; }

make_certs "$CERTS" && make_rsa_cert "$CERTS"
PORT=$(closed_port)
PLAIN_PORT=$(closed_port)
PW='interop-Pa55word'
MB=$X/Maildir
mkdir -p "$MB" && chown "$TEST_USER1" "$MB" && chmod 700 "$MB"
install -m 600 "$CERTS/rsa.key" "$X/server.key"
printf 'alice %s\n' "$(openssl passwd -6 "$PW")" > "$X/creds"
printf '@ %s\n' "$TEST_USER1" > "$X/vusers"
chmod 600 "$X/creds"
cat > "$X/smtpd.conf" <<EOF
pki localhost cert "$CERTS/rsa.pem"
pki localhost key "$X/server.key"
table creds file:$X/creds
table vusers file:$X/vusers
listen on 127.0.0.1 port $PORT tls pki localhost auth <creds> hostname smtpd.test
listen on 127.0.0.1 port $PLAIN_PORT hostname smtpd.test
action "deliver" maildir "$MB" virtual <vusers>
match from any for any action "deliver"
EOF

# Run smtpd in its own mount namespace with scratch copies of its paths.
cat > "$X/run.sh" <<EOF
#!/bin/sh
set -e
mount -t tmpfs none /usr/libexec
mkdir -p /usr/libexec/opensmtpd
cp -a "$X/root/usr/libexec/opensmtpd/." /usr/libexec/opensmtpd/
mount -t tmpfs none /var/spool
mkdir -m 711 /var/spool/smtpd
mkdir -p /var/lib/opensmtpd 2>/dev/null || true
mount -t tmpfs none /var/lib/opensmtpd 2>/dev/null || mount -t tmpfs none /var/lib
mkdir -p /var/lib/opensmtpd/empty
mount -t tmpfs none /run
exec "$SMTPD" -d -f "$X/smtpd.conf" "\$@"
EOF
chmod 755 "$X/run.sh"
if ! unshare -m --propagation private "$X/run.sh" -n >"$X/check.log" 2>&1; then
	fail "interop: smtpd -n rejects the test configuration: $(tail -n 3 "$X/check.log" | tr '\n' ' ')"
	exit 0
fi
unshare -m --propagation private "$X/run.sh" >"$X/smtpd.log" 2>&1 &
SPID=$!
on_exit "kill $SPID 2>/dev/null; wait $SPID 2>/dev/null"
port_open() { "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$PORT"; }
if ! wait_for 10 port_open; then
	fail "interop: smtpd did not start: $(tail -n 5 "$X/smtpd.log" | tr '\n' ' ')"
	exit 0
fi
pass "interop: OpenSMTPD $(basename "$deb" .deb | cut -d_ -f2) running on 127.0.0.1:$PORT (STARTTLS + AUTH) and :$PLAIN_PORT (plain)"

delivered() { [ "$(find "$MB/new" -type f 2>/dev/null | wc -l)" -ge "$1" ]; }

# The harness itself: swaks (a second SMTP client) gets through.
if command -v swaks >/dev/null; then
	swaks --silent 2 --server 127.0.0.1 --port "$PORT" --tls --tls-verify --tls-ca-path "$CERTS/ca.pem" \
		--auth PLAIN --auth-user alice --auth-password "$PW" --from s@example.org --to check@example.org \
		--helo client.test >"$X/swaks.log" 2>&1
fi
# Debian 12's OpenSMTPD 6.8.0p2 cannot do TLS at all with OpenSSL 3: its
# privilege-separated key engine fails every handshake ("missing private
# key" / "EVP lib", upstream issues OpenSMTPD#1171 and #1239), and it offers
# AUTH only under TLS. Then test the plain-SMTP side against it (tls = none
# to loopback, no AUTH) and say why the rest is skipped.
TLS_OK=
if wait_for 5 delivered 1; then
	TLS_OK=1
	pass "interop: swaks delivers through OpenSMTPD with STARTTLS + AUTH (the harness works)"
else
	skip "interop: STARTTLS + AUTH against OpenSMTPD (its TLS is broken on this system: $(grep -o 'SSL library error.*' "$X/smtpd.log" | head -n 1; grep -o 'reason=.*' "$X/smtpd.log" | tail -n 1); upstream OpenSMTPD#1171; testing plain SMTP on loopback instead)"
	swaks --silent 2 --server 127.0.0.1 --port "$PLAIN_PORT" --from s@example.org --to check@example.org \
		--helo client.test >"$X/swaks.log" 2>&1
	check "interop: swaks delivers through OpenSMTPD over plain SMTP (the harness works)" wait_for 5 delivered 1
fi
base=$(find "$MB/new" -type f 2>/dev/null | wc -l)

require_relay interop-opensmtpd || exit 0

relay_new relay
secret_file "$RD/pw" "$PW" 600
if [ -n "$TLS_OK" ]; then
	RELAY_RE="relay=localhost\[127\.0\.0\.1\]:$PORT"
	relay_conf "smarthost = localhost:$PORT" "tls = starttls" "tls_ca_file = $CERTS/ca.pem" \
		"auth_user = alice" "auth_password_file = $RD/pw"
else
	RELAY_RE="relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PLAIN_PORT"
	relay_conf "smarthost = 127.0.0.1:$PLAIN_PORT" "tls = none"
fi
check "interop: relayd -n accepts the config" eval "timeout 10 \"\$RELAYD\" -C \"\$RC\" -n >/dev/null 2>&1"
{
	printf 'From: Sender <sender@example.org>\nTo: one@example.org\nSubject: interop 1\n'
	printf 'Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <interop1@example.org>\n\n'
	printf 'Line one.\n.starts with a dot\n..two dots\n.\nGr\303\274\303\237e\n'
	printf '%0900d\n' 1
	printf 'end\n'
} > "$RD/m1"
{
	printf 'From: Sender <sender@example.org>\nTo: two@example.org\nSubject: interop 2\n'
	printf 'Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <interop2@example.org>\n\n'
	for i in $(seq 2000); do printf 'body line %d\n' "$i"; done
} > "$RD/m2"
submit -i -f sender@example.org one@example.org < "$RD/m1"; id1=$SUBMIT_ID
submit -f sender@example.org two@example.org three@example.org < "$RD/m2"; id2=$SUBMIT_ID
relayd_once
check "interop: relayd --once sent both messages (log status=sent x3)" \
	eval "[ \$(grep -cE '($id1|$id2): to=<[a-z]+@example.org>, $RELAY_RE, .*status=sent' '$RL') = 3 ]"
check "interop: three copies arrived in the maildir" wait_for 10 delivered $((base + 3))

# Each delivered file ends with the message we submitted, byte for byte
# (OpenSMTPD stores LF line ends and prepends its own trace headers), and
# carries relayd's Received: line.
intact() {
	"$PY" - "$MB/new" "$1" "$2" <<'PYEOF'
import os, sys, re
d, src, qid = sys.argv[1], open(sys.argv[2], "rb").read(), sys.argv[3]
for n in os.listdir(d):
    data = open(os.path.join(d, n), "rb").read()
    if data.endswith(src) and re.search(rb"^Received: by relay\.test \(nullrelay, from userid \d+\)\s+id " + qid.encode(), data, re.M):
        sys.exit(0)
sys.exit(1)
PYEOF
}
check "interop: message 1 (dots, 8-bit, long line) arrived intact" intact "$RD/m1" "$id1"
check "interop: message 2 (2000 lines, two recipients) arrived intact" intact "$RD/m2" "$id2"
check "interop: nothing left in the queue" eval "! queued $id1 && ! queued $id2"

[ -n "$TLS_OK" ] || exit 0
# A wrong password: OpenSMTPD says 535; the mail is deferred, not bounced.
secret_file "$RD/pw" "wrong-password" 600
submit -f sender@example.org four@example.org < <(test_message interop3); id3=$SUBMIT_ID
relayd_once
check "interop: wrong password: deferred and still queued" eval "log_has '$id3: to=<four@example.org>, .*status=deferred' && queued $id3"
secret_file "$RD/pw" "$PW" 600
retry_ok() { relayd_once; delivered $((base + 4)); }
check "interop: delivered once the password is right" wait_for 15 retry_ok
