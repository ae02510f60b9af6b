#!/usr/bin/env bash
# relayd SMTP AUTH: PLAIN, LOGIN, XOAUTH2, OAUTHBEARER with secrets from
# auth_password_file, auth_password_command, auth_token_command; secret file
# permissions; never AUTH in clear (except tls = none to a loopback host).
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay relayd-auth || exit 0

PW='pw-S3cret!x'
SCRIPT="{\"ehlo\":[\"PIPELINING\",\"ENHANCEDSTATUSCODES\",\"STARTTLS\",\"AUTH PLAIN LOGIN XOAUTH2 OAUTHBEARER\"],
 \"users\":{\"alice\":\"$PW\"},\"tokens\":{\"alice\":[\"goodtok\"]},\"expired_tokens\":[\"oldtok\"],
 \"require_auth\":true}"

# auth_case NAME [conf lines]: STARTTLS smarthost requiring AUTH, one message, one run.
auth_case() {
	local name=$1; shift
	relay_new "$name"
	sh_start "sh-$name" "$SCRIPT" --tls valid
	relay_conf "smarthost = localhost:$SH_PORT" "tls = starttls" "tls_ca_file = $CERTS/ca.pem" \
		"auth_user = alice" "$@"
	submit -f s@example.org r@example.org < <(test_message "$name")
	ID=$SUBMIT_ID
	relayd_once
}

# authed NAME MECH SECRET: delivered after AUTH MECH with SECRET over TLS.
authed() {
	check "$1: delivered" sh_has "sh-$1"
	check "$1: AUTH $2 as alice over TLS" \
		shq "sh-$1" "mails and mails[0]['side']['auth'] == {'mech': '$2', 'user': 'alice'} and mails[0]['side']['tls']"
	check "$1: the secret sent was the configured one" \
		shq "sh-$1" "any(e['ok'] and e['secret'] == '$3' for e in ev('auth'))"
	check "$1: the secret is not in the log" eval "! grep -qF -- '$3' '$RL'"
}

# 1. PLAIN from auth_password_file (0600, relay user).
relay_new pwfile-setup
secret_file "$T/secret.pw" "$PW" 600
auth_case plain "auth_password_file = $T/secret.pw"
authed plain PLAIN "$PW"
check "plain: relayd -n accepts the 0600 secret file" eval "timeout 10 \"\$RELAYD\" -C \"\$RC\" -n >/dev/null 2>&1"

# 2. LOGIN when it is the only allowed mechanism.
auth_case login "auth_password_file = $T/secret.pw" "auth_mechanisms = login"
authed login LOGIN "$PW"

# 3. auth_password_command.
printf '#!/bin/sh\necho %s\n' "'$PW'" > "$T/secret.pwcmd"
chmod 755 "$T/secret.pwcmd"
auth_case pwcmd "auth_password_command = $T/secret.pwcmd"
authed pwcmd PLAIN "$PW"

# 4. A wrong password: 535, deferred (an AUTH failure never bounces).
secret_file "$T/secret.badpw" "wrong-password" 600
auth_case badpw "auth_password_file = $T/secret.badpw"
check "bad password: not delivered" eval "! sh_has sh-badpw"
check "bad password: deferred, still queued" eval "log_has '$ID: to=<r@example.org>, .*status=deferred' && queued $ID"
check "bad password: never bounced" eval "! failed $ID && ! log_has status=bounced"

# 5. XOAUTH2 and OAUTHBEARER with auth_token_command.
printf '#!/bin/sh\necho goodtok\n' > "$T/secret.tokcmd"
chmod 755 "$T/secret.tokcmd"
auth_case xoauth2 "auth_token_command = $T/secret.tokcmd" "auth_mechanisms = xoauth2"
authed xoauth2 XOAUTH2 goodtok
auth_case oauthbearer "auth_token_command = $T/secret.tokcmd" "auth_mechanisms = oauthbearer"
authed oauthbearer OAUTHBEARER goodtok

# 6. A token the server rejects (expired) is fetched again for the next try.
cat > "$T/secret.tokcmd2" <<EOF
#!/bin/sh
n=\$(cat "$T/secret.tokcount" 2>/dev/null || echo 0)
echo \$((n + 1)) > "$T/secret.tokcount"
if [ "\$n" = 0 ]; then echo oldtok; else echo goodtok; fi
EOF
chmod 755 "$T/secret.tokcmd2"
: > "$T/secret.tokcount"; echo 0 > "$T/secret.tokcount"; chown "$(relay_user)" "$T/secret.tokcount"
auth_case tokrefresh "auth_token_command = $T/secret.tokcmd2" "auth_mechanisms = xoauth2"
check "token refresh: the expired token got the 334 error and 535" \
	shq sh-tokrefresh "any(not e['ok'] and e['secret'] == 'oldtok' for e in ev('auth')) and any(l.startswith('535') for l in S())"
check "token refresh: deferred, not bounced" eval "! failed $ID"
check "token refresh: delivered with a freshly fetched token" deliver_until 10 sh-tokrefresh
check "token refresh: the second token was the new one" \
	shq sh-tokrefresh "mails and any(e['ok'] and e['secret'] == 'goodtok' for e in ev('auth'))"

# 7. Secret file permissions: relayd -n exits 78 naming the file.
secret_file "$T/secret.pw644" "$PW" 644
relay_new perm
relay_conf "smarthost = localhost:25" "tls = starttls" "auth_user = alice" "auth_password_file = $T/secret.pw644"
out=$(timeout 10 "$RELAYD" -C "$RC" -n 2>&1); rc=$?
check "secret 0644: relayd -n exits 78 (got $rc)" [ $rc = 78 ]
check "secret 0644: the message names the file" grep -qF -- "$T/secret.pw644" <<<"$out"
if is_root; then
	secret_file "$T/secret.pwother" "$PW" 600
	chown "$TEST_USER1" "$T/secret.pwother"
	relay_conf "smarthost = localhost:25" "tls = starttls" "auth_user = alice" "auth_password_file = $T/secret.pwother"
	out=$(timeout 10 "$RELAYD" -C "$RC" -n 2>&1); rc=$?
	check "secret owned by another user: relayd -n exits 78 naming the file (got $rc)" \
		eval "[ $rc = 78 ] && grep -qF -- '$T/secret.pwother' <<<\"\$out\""
else
	skip "secret owned by another user (needs root)"
fi

# 8. Never AUTH in clear: tls = none with a non-loopback smarthost is a config error.
relay_conf "smarthost = smtp.example.org:587" "tls = none" "auth_user = alice" "auth_password_file = $T/secret.pw"
timeout 10 "$RELAYD" -C "$RC" -n >/dev/null 2>&1; rc=$?
check "tls=none + AUTH to a non-loopback host: relayd -n exits 78 (got $rc)" [ $rc = 78 ]

# ... but tls = none to a loopback address is allowed.
relay_new clearloop
sh_start sh-clearloop "$SCRIPT"
relay_conf "tls = none" "auth_user = alice" "auth_password_file = $T/secret.pw"
submit -f s@example.org r@example.org < <(test_message clearloop)
relayd_once
check "tls=none to 127.0.0.1: AUTH allowed, delivered" \
	shq sh-clearloop "mails and mails[0]['side']['auth'] and not mails[0]['side']['tls']"

# 9. STARTTLS not offered while AUTH is configured: deferred, no AUTH sent.
relay_new nostls
sh_start sh-nostls '{"ehlo":["PIPELINING","AUTH PLAIN LOGIN"],"users":{"alice":"x"}}' --tls valid
relay_conf "smarthost = localhost:$SH_PORT" "tls = starttls" "tls_ca_file = $CERTS/ca.pem" \
	"auth_user = alice" "auth_password_file = $T/secret.pw"
submit -f s@example.org r@example.org < <(test_message nostls)
ID=$SUBMIT_ID
relayd_once
check "no STARTTLS: no AUTH line in the transcript" shq sh-nostls 'not any(l.upper().startswith("AUTH") for l in C())'
check "no STARTTLS: no MAIL either" shq sh-nostls 'not any(l.upper().startswith("MAIL") for l in C())'
check "no STARTTLS: deferred, still queued" eval "log_has '$ID: to=<r@example.org>, .*status=deferred' && queued $ID"

# 10. AUTH advertised only after STARTTLS (as most servers do).
auth_case authlate "auth_password_file = $T/secret.pw"
sh_script sh-authlate "$(sed 's/"require_auth":true/"require_auth":true,"auth_after_tls_only":true/' <<<"$SCRIPT")"
submit -f s@example.org r@example.org < <(test_message authlate2)
relayd_once
check "AUTH offered only after STARTTLS: still authenticates" \
	shq sh-authlate "len(mails) == 2 and mails[1]['side']['auth'] == {'mech': 'PLAIN', 'user': 'alice'}"

# 11. AUTH configured but the server offers none: do not send unauthenticated.
auth_case noauth "auth_password_file = $T/secret.pw"
sh_script sh-noauth '{"ehlo":["PIPELINING","STARTTLS"]}'
submit -f s@example.org r@example.org < <(test_message noauth2)
ID=$SUBMIT_ID
relayd_once
check "AUTH configured, none offered: deferred, not sent unauthenticated" \
	eval "[ \"\$(sh_count sh-noauth)\" = 1 ] && queued $ID && ! failed $ID"
