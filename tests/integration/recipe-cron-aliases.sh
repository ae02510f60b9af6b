#!/usr/bin/env bash
# The README's cron-server recipe, end to end: /etc/aliases-style file maps
# root (and postmaster through it) to the operator; cron mails root exactly
# as Debian's cron does; relayd delivers it to that address through the
# (fake) smarthost. With from_rewrite the sender is the operator's domain.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay recipe-cron-aliases || exit 0

relay_new cron
sh_start sh-cron '{"ehlo":["PIPELINING","8BITMIME","ENHANCEDSTATUSCODES"]}'
cat > "$RD/aliases" <<'EOF'
# /etc/aliases on a cron server
mailer-daemon: postmaster
postmaster: root
nobody: root
root: ops@example.org
EOF
chmod 644 "$RD/aliases"
relay_conf "aliases = $RD/aliases" "from_rewrite = cron@example.org"

# Debian cron: /usr/sbin/sendmail -FCronDaemon -i -B8BITMIME -oem root,
# the job's output as the body.
cron_mail() {
	printf '%s\n' 'From: root (Cron Daemon)' 'To: root' \
		'Subject: Cron <root@relay> /usr/local/bin/backup' 'MIME-Version: 1.0' \
		'Content-Type: text/plain; charset=UTF-8' 'Content-Transfer-Encoding: 8bit' \
		'X-Cron-Env: <SHELL=/bin/sh>' 'X-Cron-Env: <HOME=/root>' \
		'X-Cron-Env: <LOGNAME=root>' '' 'backup: 3 files copied'
}
"$SENDMAIL" -C "$RC" -bv root > "$RD/bv"
check "recipe: sendmail -bv root shows the aliased address" \
	grep -qx "root... deliverable: mailer relay, user ops@example.org" "$RD/bv"
cron_mail > "$RD/msg"
if is_root; then
	chmod 644 "$RD/msg"
	submit_as "$TEST_USER1" -FCronDaemon -i -B8BITMIME -oem root < "$RD/msg"
else
	submit -FCronDaemon -i -B8BITMIME -oem root < "$RD/msg"
fi
check "recipe: cron's sendmail call exits 0" [ $? = 0 -a -n "$SUBMIT_ID" ]
id=$SUBMIT_ID
printf 'Subject: bounce test\n\nfor postmaster\n' | submit -i postmaster
relayd_once
check "recipe: relayd --once exits 0" [ $? = 0 ]
check "recipe: the smarthost accepted both messages" [ "$(sh_count sh-cron)" = 2 ]
cronmail='[m for m in mails if b"backup: 3 files copied" in m["eml"]]'
check "recipe: root's mail (cron's) went to ops@example.org" \
	shq sh-cron "len($cronmail) == 1 and [r['addr'] for r in $cronmail[0]['side']['rcpts']] == ['<ops@example.org>']"
check "recipe: postmaster's mail too (postmaster -> root -> ops)" \
	shq sh-cron '[[r["addr"] for r in m["side"]["rcpts"]] for m in mails if b"for postmaster" in m["eml"]] == [["<ops@example.org>"]]'
check "recipe: envelope sender is from_rewrite" \
	shq sh-cron "$cronmail[0]['side']['mail_from'] == '<cron@example.org>'"
check "recipe: the To: header still names root, qualified" \
	shq sh-cron "b'\r\nTo: root@relay.test\r\n' in $cronmail[0]['eml']"
check "recipe: delivery logged with the aliased recipient and orig_to=<root>" \
	log_has "$id: to=<ops@example.org>, orig_to=<root>, relay=[^ ]+, delay=[0-9.]+, tries=1, dsn=2\.0\.0, status=sent"
check "recipe: nothing left in the queue" gone "$id"
