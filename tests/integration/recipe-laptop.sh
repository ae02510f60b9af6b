#!/usr/bin/env bash
# README recipe "Laptop": the configuration block copied from README.md,
# with only smtp.example.org replaced by loopback smarthosts and the test CA
# added: relayd runs as an ordinary user who owns the spool, the password
# comes from a keyring command (a stand-in secret-tool that insists on the
# session bus address the recipe passes), and the 587 STARTTLS primary
# fails over to the 465 implicit-TLS fallback when its port is blocked.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
. "$TOP/tests/lib/readme.sh"
require_relay recipe-laptop || exit 0

block=$(readme_block "### Laptop")
check "README: the laptop recipe has a configuration block" eval '[ -n "$block" ]'
for k in "smarthost = smtp.example.org:587" "smarthost = smtp.example.org:465" "tls = starttls" \
	"auth_password_command = DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus secret-tool lookup service smtp user me@example.org"; do
	check "README: laptop block has '$k'" grep -qxF -- "$k" <<<"$block"
done
# Port 465 itself (implicit TLS is chosen by the port): on a second loopback
# address, which needs root to bind.
if ! is_root; then
	skip "recipe-laptop: needs root to listen on port 465"
	exit 0
fi
ME=$TEST_USER1
make_certs "$CERTS" >/dev/null
[ -s "$CERTS/lo2.pem" ] || _certs_sign "$CERTS" lo2 127.0.0.2 "IP:127.0.0.2" && chmod 644 "$CERTS/lo2.pem"

# The stand-in keyring: prints the password only for the recipe's lookup and
# only when it was told where the session bus is.
K=$T/keyring
mkdir -p "$K"
cat > "$K/secret-tool" <<'SH'
#!/bin/sh
[ "$DBUS_SESSION_BUS_ADDRESS" = unix:path=/run/user/1000/bus ] || { echo "secret-tool: no session bus" >&2; exit 1; }
[ "$*" = "lookup service smtp user me@example.org" ] || { echo "secret-tool: no such item: $*" >&2; exit 1; }
echo 'keyring-pw'
SH
chmod 755 "$K" "$K/secret-tool"

# laptop_case NAME PRIMARY-PORT: the recipe's file with smtp.example.org:587
# -> 127.0.0.1:PRIMARY-PORT and smtp.example.org:465 -> 127.0.0.2:465.
laptop_case() {
	relay_new "$1"
	chown "$ME" "$RD"
	rm -rf "$RS"; install -d -o "$ME" -g "$ME" "$RS"   # the recipe's `install -d -o $USER`
	sed -e "s|^spool = .*|spool = $RS|" -e "s|smtp.example.org:587|127.0.0.1:$2|" \
		-e "s|smtp.example.org:465|127.0.0.2:465|" \
		-e "s|secret-tool lookup|PATH=$K:\$PATH secret-tool lookup|" <<<"$block" > "$RC"
	printf '%s\n' "tls_ca_file = $CERTS/ca.pem" "hostname = laptop.test" "retry_min = 1s" \
		"rescan_interval = 1s" "timeout_connect = 2s" >> "$RC"
	chmod 644 "$RC"
}
USERS='"users":{"me@example.org":"keyring-pw"}'

# 1. The primary works: STARTTLS on "587", AUTH with the keyring's password.
sh_start sh-587 "{\"ehlo\":[\"PIPELINING\",\"STARTTLS\",\"AUTH PLAIN LOGIN\"],\"auth_after_tls_only\":true,\"require_auth\":true,$USERS}" --tls valid
p587=$SH_PORT
laptop_case primary "$p587"
setpriv --reuid "$ME" --regid "$ME" --init-groups "$RELAYD" -C "$RC" -f 2>>"$RL" &
pid=$!; on_exit "kill $pid 2>/dev/null"
wait_for 5 test -S "$RS/relayd.sock"
check "laptop: relayd runs as $ME, who owns the spool" eval '[ "$(stat -c %U "$RS/queue")" = "$ME" ] && [ "$(awk "/^Uid:/ {print \$2}" /proc/$pid/status)" = "$(id -u "$ME")" ]'
# root's cron submits too.
test_message laptop-1 | "$SENDMAIL" -C "$RC" -f root root
check "laptop: root's mail to root is accepted into $ME's spool" [ $? = 0 ]
check "laptop: delivered through the primary with STARTTLS" wait_for 10 sh_has sh-587
check "laptop: AUTH used the keyring's password as me@example.org" \
	shq sh-587 'mails and mails[0]["side"]["tls"] and mails[0]["side"]["auth"]["user"] == "me@example.org"'
check "laptop: root's mail went to admin_addr, from from_rewrite" \
	shq sh-587 'mails and mails[0]["side"]["mail_from"] == "<me@example.org>" and mails[0]["side"]["rcpts"][0]["addr"] == "<me@example.org>"'
kill -TERM $pid; wait $pid 2>/dev/null

# 2. "587" blocked on this network: the 465 fallback, implicit TLS.
if ! "$PY" -c 'import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.2", 465))' 2>/dev/null; then
	skip "laptop: 127.0.0.2:465 is taken on this machine"
	exit 0
fi
mkdir -p "$T/sh-465"
printf '%s\n' "{\"ehlo\":[\"PIPELINING\",\"AUTH PLAIN LOGIN\"],\"require_auth\":true,$USERS}" > "$T/sh-465/script.json"
"$PY" "$SMARTHOST_PY" --port 465 --bind 127.0.0.2 --portfile "$T/sh-465/port" --script "$T/sh-465/script.json" \
	--transcript "$T/sh-465/t.jsonl" --maildir "$T/sh-465/mail" --timeout-total 120 --implicit-tls \
	--tls-cert "$CERTS/lo2.pem" --tls-key "$CERTS/lo2.key" 2>>"$T/sh-465/stderr" &
on_exit "kill $! 2>/dev/null"
wait_for 5 test -s "$T/sh-465/port"
rm -f "$T/bh.port"
"$PY" "$TOP/tests/lib/blackhole.py" "$T/bh.port" &
on_exit "kill $! 2>/dev/null"
wait_for 5 test -s "$T/bh.port"
laptop_case fallback "$(cat "$T/bh.port")"
# The first start of relayd (the session's autostart) builds the spool.
setpriv --reuid "$ME" --regid "$ME" --init-groups "$RELAYD" -C "$RC" -f --once 2>>"$RL"
test_message laptop-2 > "$RD/msg"; chmod 644 "$RD/msg"
setpriv --reuid "$ME" --regid "$ME" --init-groups env NULLRELAY_CONF="$RC" "$(public_sendmail)" me@example.org < "$RD/msg"
check "laptop: $ME submits while relayd is not running (offline)" [ $? = 0 ]
out=$(NULLRELAY_CONF=$RC "$SENDMAIL" -bp 2>&1)
check "laptop: mailq shows it waiting" grep -q 'me@example.org' <<<"$out"
setpriv --reuid "$ME" --regid "$ME" --init-groups "$RELAYD" -C "$RC" -f 2>>"$RL" &
pid=$!; on_exit "kill $pid 2>/dev/null"
check "laptop: with 587 blocked, delivered through 465" wait_for 20 sh_has sh-465
check "laptop: ... over implicit TLS (no STARTTLS command) with AUTH" \
	shq sh-465 'mails and mails[0]["side"]["tls"] and mails[0]["side"]["auth"]["user"] == "me@example.org" and not any(l.upper().startswith("STARTTLS") for l in C())'
check "laptop: the log says the primary's port looks blocked and what to do" \
	log_has "smarthost 127\.0\.0\.1:[0-9]+ failed: .*timed out.*\(trying the next one\).*what to do: port [0-9]+ looks blocked"
check "laptop: the keyring password is in no log line" eval '! grep -q keyring-pw "$RL"'
kill -TERM $pid; wait $pid 2>/dev/null
