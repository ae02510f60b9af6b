#!/usr/bin/env bash
# The container's entry point (contrib/container/entrypoint.sh), run as a
# non-root user outside a container: it writes relay.conf from NULLRELAY_*
# variables, copies a /run/secrets-style secret to a private file, refuses a
# secret given as a plain value, and execs relayd -f, which relays a
# message through the fake smarthost (STARTTLS + AUTH) as that user. Also
# checks the Containerfile against what it promises.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay recipe-container || exit 0
EP=$TOP/contrib/container/entrypoint.sh
CF=$TOP/Containerfile

# The Containerfile: Debian slim, a non-root USER, the spool a VOLUME,
# relayd -f, HEALTHCHECK relayd --health, the entry point it installs.
check "Containerfile: FROM debian:12-slim" grep -q '^FROM debian:12-slim' "$CF"
check "Containerfile: runs as a non-root USER" eval '[ "$(sed -n "s/^USER //p" "$CF")" = nullrelay ]'
check "Containerfile: the spool is a VOLUME" grep -qF 'VOLUME ["/var/spool/nullrelay"]' "$CF"
check "Containerfile: relayd in the foreground (-f: stderr)" grep -qF 'CMD ["relayd", "-f"]' "$CF"
check "Containerfile: HEALTHCHECK runs relayd --health" grep -qE '^HEALTHCHECK .*CMD \["relayd", "--health"\]' "$CF"
check "Containerfile: installs this entry point" grep -q 'install -m 0755 contrib/container/entrypoint.sh /out/usr/bin/nullrelay-entrypoint' "$CF"
check "entrypoint: passes shellcheck -s sh" eval '! command -v shellcheck >/dev/null || shellcheck -s sh "$EP"'

if is_root; then
	U=$TEST_USER1
	RUNAS=(setpriv --reuid "$U" --regid "$U" --init-groups)
else
	U=$(id -un)
	RUNAS=()
fi
uid=$(id -u "$U")

# A tree the user can read: the entry point and the binaries on its PATH
# (as the image has them), a config dir and a spool it owns, a secret as
# Docker mounts one (root-owned 0444 when we are root).
B=$T/bin
mkdir -p "$B" "$T/etc" "$T/spool" "$T/run" "$T/secrets"
cp "$EP" "$B/nullrelay-entrypoint"; cp "$SENDMAIL" "$B/sendmail"; cp "$RELAYD" "$B/relayd"
cp "$(dirname "$RELAYD")/nullrelay-smtp" "$B/nullrelay-smtp"
chmod 755 "$B" "$B"/*
printf '%s\n' 'c0ntainer-pw' > "$T/secrets/smtp_password"
chmod 444 "$T/secrets/smtp_password"
is_root && chown "$U" "$T/etc" "$T/spool" "$T/run"
make_certs "$CERTS" >/dev/null
mkdir -p "$T/sh"

sh_start sh-ct '{"ehlo":["PIPELINING","STARTTLS","AUTH PLAIN LOGIN"],"auth_after_tls_only":true,"require_auth":true,"users":{"app@example.org":"c0ntainer-pw"}}' --tls valid
dead=$(closed_port)
# The container's environment, nothing inherited from ours.
envc=(env -i PATH="$B:/usr/bin:/bin" HOME=/ NULLRELAY_CONF="$T/etc/relay.conf" NULLRELAY_RUNTIME_DIR="$T/run"
	NULLRELAY_SPOOL="$T/spool"
	"NULLRELAY_SMARTHOST=127.0.0.1:$dead, localhost:$SH_PORT"
	NULLRELAY_TLS=starttls NULLRELAY_TLS_CA_FILE="$CERTS/ca.pem"
	NULLRELAY_AUTH_USER=app@example.org NULLRELAY_AUTH_PASSWORD_FILE="$T/secrets/smtp_password"
	NULLRELAY_ADMIN_ADDR=ops@example.org NULLRELAY_HOSTNAME=container.test
	NULLRELAY_FROM_REWRITE=app@example.org NULLRELAY_RETRY_MIN=1s NULLRELAY_RESCAN_INTERVAL=1s
	NULLRELAY_TIMEOUT_CONNECT=2s)

# --print-config: the mapping, without starting anything.
pc=$("${RUNAS[@]+"${RUNAS[@]}"}" "${envc[@]}" NULLRELAY_LISTEN="0.0.0.0:2525 [::]:2525" NULLRELAY_LISTEN_ALLOW="10.0.0.0/8, ::1" \
	"$B/nullrelay-entrypoint" --print-config 2>&1)
echo "$pc" | sed 's/^/   config: /'
check "mapping: NULLRELAY_SMARTHOST with a comma gives two smarthost lines, in order" \
	eval '[ "$(grep "^smarthost = " <<<"$pc")" = "smarthost = 127.0.0.1:$dead
smarthost = localhost:$SH_PORT" ]'
for l in "tls = starttls" "auth_user = app@example.org" "admin_addr = ops@example.org" "hostname = container.test" \
	"from_rewrite = app@example.org" "listen = 0.0.0.0:2525" "listen = [::]:2525" "listen_allow = 10.0.0.0/8, ::1"; do
	check "mapping: '$l'" grep -qxF -- "$l" <<<"$pc"
done
check "mapping: the password file points at a private copy, not the mounted secret" \
	grep -qxF "auth_password_file = $T/run/nullrelay_auth_password_file" <<<"$pc"
check "mapping: no secret in the configuration" eval '! grep -q c0ntainer-pw <<<"$pc"'
check "mapping: NULLRELAY_CONF and NULLRELAY_RUNTIME_DIR are not keys" eval '! grep -Eq "^(conf|runtime_dir) =" <<<"$pc"'

# Refusals, each naming the variable and what to do (exit 78, nothing started).
out=$("${RUNAS[@]+"${RUNAS[@]}"}" "${envc[@]}" NULLRELAY_AUTH_PASSWORD=c0ntainer-pw "$B/nullrelay-entrypoint" 2>&1); rc=$?
check "refuse: NULLRELAY_AUTH_PASSWORD as a plain value exits 78 (got $rc)" [ $rc = 78 ]
check "refuse: ... and says to use NULLRELAY_AUTH_PASSWORD_FILE with a secret file ($out)" \
	eval 'grep -q "NULLRELAY_AUTH_PASSWORD: a password may not be passed as an environment variable" <<<"$out" && grep -q "NULLRELAY_AUTH_PASSWORD_FILE=/run/secrets/" <<<"$out"'
check "refuse: ... without echoing the secret" eval '! grep -q c0ntainer-pw <<<"$out"'
out=$("${RUNAS[@]+"${RUNAS[@]}"}" "${envc[@]}" NULLRELAY_OAUTH2_CLIENT_SECRET=s "$B/nullrelay-entrypoint" 2>&1); rc=$?
check "refuse: NULLRELAY_OAUTH2_CLIENT_SECRET: 78, points at NULLRELAY_OAUTH2_CLIENT_SECRET_FILE" \
	eval '[ $rc = 78 ] && grep -q "NULLRELAY_OAUTH2_CLIENT_SECRET_FILE=" <<<"$out"'
out=$("${RUNAS[@]+"${RUNAS[@]}"}" "${envc[@]}" NULLRELAY_NO_SUCH_KEY=1 "$B/nullrelay-entrypoint" 2>&1); rc=$?
check "refuse: an unknown NULLRELAY_ key: 78, relayd's reason and the file with line numbers ($rc)" \
	eval '[ $rc = 78 ] && grep -q "no_such_key" <<<"$out" && grep -Eq "^ +[0-9]+\s+no_such_key = 1" <<<"$out"'
out=$("${RUNAS[@]+"${RUNAS[@]}"}" "${envc[@]}" NULLRELAY_AUTH_PASSWORD_FILE=/run/secrets/nope "$B/nullrelay-entrypoint" 2>&1); rc=$?
check "refuse: a missing secret file: 78 naming it ($out)" eval '[ $rc = 78 ] && grep -q "NULLRELAY_AUTH_PASSWORD_FILE=/run/secrets/nope: no such file" <<<"$out"'
out=$("${RUNAS[@]+"${RUNAS[@]}"}" env -i PATH="$B:/usr/bin:/bin" NULLRELAY_CONF="$T/etc/none.conf" "$B/nullrelay-entrypoint" 2>&1); rc=$?
check "refuse: no variables and no file: 78, says to set NULLRELAY_SMARTHOST ($out)" \
	eval '[ $rc = 78 ] && grep -q "set NULLRELAY_SMARTHOST" <<<"$out"'

# The real thing: the entry point execs relayd -f as the user.
RL=$T/relayd.log
: > "$RL"
"${RUNAS[@]+"${RUNAS[@]}"}" "${envc[@]}" "$B/nullrelay-entrypoint" 2>>"$RL" &
pid=$!
on_exit "kill $pid 2>/dev/null"
wait_for 5 test -S "$T/spool/relayd.sock"
check "run: relayd -f is running (exec'd: same pid $pid)" \
	eval '[ "$(readlink /proc/$pid/exe)" = "$B/relayd" ]'
check "run: as $U (uid $uid), not root" eval '[ "$(awk "/^Uid:/ {print \$2}" /proc/$pid/status)" = "$uid" ]'
check "run: the secret copy is 0600, owned by $U" \
	eval '[ "$(stat -c "%a %U" "$T/run/nullrelay_auth_password_file")" = "600 $U" ]'
check "run: relay.conf was written world-readable, holding no secret" \
	eval '[ "$(stat -c %a "$T/etc/relay.conf")" = 644 ] && ! grep -q c0ntainer-pw "$T/etc/relay.conf"'
# An application in the container calls sendmail (docker exec ... sendmail):
# NULLRELAY_CONF comes from the image's ENV.
printf 'From: app\nTo: someone@example.org\nSubject: from the container\n\nhello\n' |
	"${RUNAS[@]+"${RUNAS[@]}"}" env -i PATH="$B:/usr/bin:/bin" NULLRELAY_CONF="$T/etc/relay.conf" sendmail -t
check "run: sendmail in the container exits 0" [ $? = 0 ]
check "run: the smarthost received it" wait_for 20 sh_has sh-ct
check "run: over STARTTLS with AUTH PLAIN as app@example.org" \
	shq sh-ct 'mails and mails[0]["side"]["tls"] and mails[0]["side"]["auth"]["user"] == "app@example.org"'
check "run: the envelope sender is from_rewrite" shq sh-ct 'mails and mails[0]["side"]["mail_from"] == "<app@example.org>"'
check "run: Received: names uid $uid and container.test" \
	eval 'grep -q "^Received: by container\.test (nullrelay, from userid $uid)" "$T/sh-ct/mail/"*.eml'
check "run: relayd logs to stderr (the container's log)" log_has 'status=sent'
check "run: the dead first smarthost was tried, then the second" log_has "127\.0\.0\.1\[127\.0\.0\.1\]:$dead"
check "run: the password appears in no log line" eval '! grep -q c0ntainer-pw "$RL"'
kill -TERM $pid; wait $pid 2>/dev/null
check "run: relayd stops on SIGTERM (docker stop)" eval '! kill -0 $pid 2>/dev/null'

# Run as root (docker run --user 0): relayd drops to the relay user, so the
# secret copy must be that user's.
if is_root; then
	mkdir -p "$T/rootrun"
	out=$("${envc[@]}" NULLRELAY_RUNTIME_DIR="$T/rootrun/secrets" NULLRELAY_CONF="$T/rootrun/relay.conf" \
		NULLRELAY_USER="$RELAY_USER" "$B/nullrelay-entrypoint" relayd -n 2>&1); rc=$?
	check "as root: relayd -n accepts the secret copy, owned by $RELAY_USER (rc $rc: $out)" \
		eval '[ $rc = 0 ] && [ "$(stat -c "%a %U" "$T/rootrun/secrets/nullrelay_auth_password_file")" = "600 $RELAY_USER" ]'
else
	skip "as root: secret copy for the relay user (needs root)"
fi
