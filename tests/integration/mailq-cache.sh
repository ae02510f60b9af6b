#!/usr/bin/env bash
# mailq from relayd's cache (spool_qlist_owner.h, issue 9): relayd keeps a
# record of each queued message and re-reads a state file only when it
# changed (one fstatat), so the listing must always show the current state:
# after a new delivery attempt, after a state file was replaced or edited
# in place behind relayd's back, after a delete; across a clean restart
# (queue/mailq.cache) too, also when that file is damaged or stale. Each
# listing is compared with the direct listing sendmail makes from the spool
# itself while relayd is stopped: the truth on disk.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay mailq-cache || exit 0

mq() { "$SENDMAIL" -C "$RC" -bp "$@"; }
# A record read while its file was under 2 s old is not trusted: wait that
# out so the next listing really comes from the cache.
settle() { sleep 2.5; }
# The value of KEY in queue/ID.env.
env_key() { sed -n "s/^$2 //p" "$RS/queue/$1.env"; }
# tries of ID in `mailq -j`.
json_tries() {
	"$PY" -c '
import json, sys
for l in sys.stdin:
    o = json.loads(l)
    if o["queue_id"] == sys.argv[1]:
        print(o["tries"])
' "$1"
}

# --- state changes while relayd runs ---
relay_new cache
sh_start sh-cache '{"rules":[{"stage":"MAIL","reply":"451 4.3.0 first refusal"}]}'
relay_conf "retry_min = 1h" "retry_max = 2h"
relayd_start
for i in 1 2 3; do submit -f "s$i@example.org" "r$i@example.org" < <(test_message "m$i"); done
wait_for 15 eval '[ "$(grep -c "status=deferred (451 4.3.0 first" "$RL")" -ge 3 ]'
settle
a=$(mq) b=$(mq)
check "cache: the second listing equals the first" [ -n "$a" -a "$a" = "$b" ]
check "cache: three messages, the first reply" [ "$(grep -c 'first refusal' <<<"$b")" = 3 ]

sh_script sh-cache '{"rules":[{"stage":"MAIL","reply":"451 4.3.0 second refusal"}]}'
"$SENDMAIL" -C "$RC" -q
wait_for 15 eval '[ "$(grep -c "tries=2, .*status=deferred" "$RL")" -ge 3 ]'
c=$(mq)
# A connection opened before the change may still give the first reply:
# what the log says each got on its second try is what mailq must say.
n2=$(grep -c "tries=2, .*second refusal" "$RL") n1=$(grep -c "tries=2, .*first refusal" "$RL")
check "after a new attempt: the new replies, not the cached ones" \
	[ "$n2" -ge 1 -a "$(grep -c 'second refusal' <<<"$c")" = "$n2" -a \
	"$(grep -c 'first refusal' <<<"$c")" = "$n1" ]
settle
d=$(mq)
check "after a new attempt: the listing from the cache is the same" [ "$c" = "$d" ]

ID=$(ls "$RS/queue" | sed -n 's/\.env$//p' | head -n 1)
tries=$(env_key "$ID" tries)
check "the state file says 2 tries" [ "$tries" = 2 ]
# Replaced whole behind relayd's back (as relayd itself does: a new file,
# a rename), the same size: a new inode.
own=$(stat -c %u:%g "$RS/queue/$ID.env")
sed 's/^tries 2$/tries 7/' "$RS/queue/$ID.env" > "$RS/queue/$ID.env.new"
chown "$own" "$RS/queue/$ID.env.new"; chmod 600 "$RS/queue/$ID.env.new"
mv "$RS/queue/$ID.env.new" "$RS/queue/$ID.env"
check "a state file replaced behind relayd's back: mailq -j shows it" \
	[ "$(mq -j | json_tries "$ID")" = 7 ]
settle
# Edited in place (same inode, same size): mtime and ctime change.
"$PY" -c '
import sys
p = sys.argv[1]
with open(p, "r+b") as f:
    t = f.read()
    f.seek(0)
    f.write(t.replace(b"\ntries 7\n", b"\ntries 8\n"))
' "$RS/queue/$ID.env"
check "a state file edited in place: mailq -j shows it" [ "$(mq -j | json_tries "$ID")" = 8 ]
settle
"$RELAYD" -C "$RC" --delete "$ID" > /dev/null 2>&1
e=$(mq)
check "a deleted message is gone from the listing" not grep -q "^$ID" <<<"$e"
check "the other two are still listed" [ "$(grep -c 'refusal' <<<"$e")" = 2 ]
settle
e=$(mq)
relayd_stop
direct=$(mq)
check "relayd's listing (from its cache) equals the direct one from the spool" \
	[ -n "$direct" -a "$e" = "$direct" ]
check "a small queue leaves no queue/mailq.cache" [ ! -e "$RS/queue/mailq.cache" ]

# --- across a clean restart: queue/mailq.cache (written from 1000 records) ---
relay_parked saved "retry_min = 1h" "retry_max = 2h"
submit -f keep@example.org dest@example.org < <(test_message saved)
relayd_once
tmpl=$(ls "$RS/queue" | sed -n 's/\.env$//p' | head -n 1)
check "saved: one message queued" [ -n "$tmpl" ]
queue_copies "$tmpl" 1100
settle
want=$(mq)
check "saved: 1101 messages listed directly" grep -q '^-- .* in 1101 Requests\.$' <<<"$want"
relayd_start
got=$(mq)
check "saved: relayd lists them as the spool does" [ "$got" = "$want" ]
relayd_stop
check "saved: a clean stop wrote queue/mailq.cache" [ -s "$RS/queue/mailq.cache" ]
# Stale: one state file changes while relayd is stopped.
ID=$(ls "$RS/queue" | sed -n 's/\.env$//p' | head -n 1)
own=$(stat -c %u:%g "$RS/queue/$ID.env")
sed 's/^tries 1$/tries 5/' "$RS/queue/$ID.env" > "$RS/queue/$ID.env.new"
chown "$own" "$RS/queue/$ID.env.new"; chmod 600 "$RS/queue/$ID.env.new"
mv "$RS/queue/$ID.env.new" "$RS/queue/$ID.env"
want=$(mq)
relayd_start
got=$(mq)
check "saved: after a restart relayd lists the spool as it is" [ "$got" = "$want" ]
check "saved: ... with the state file changed while it was stopped" \
	[ "$(mq -j | json_tries "$ID")" = 5 ]
check "saved: queue/mailq.cache is read once and removed" [ ! -e "$RS/queue/mailq.cache" ]
relayd_stop
# Damaged: cut in the middle; relayd reads every state file instead.
size=$(stat -c %s "$RS/queue/mailq.cache" 2>/dev/null || echo 0)
check "saved: written again at the next clean stop" [ "$size" -gt 1000 ]
truncate -s $((size / 2)) "$RS/queue/mailq.cache"
relayd_start
got=$(mq)
check "saved: a cut queue/mailq.cache is ignored, the listing is right" [ "$got" = "$want" ]
relayd_stop
# Garbage after a good header is refused too (each record is checked).
size=$(stat -c %s "$RS/queue/mailq.cache")
{ head -c 28 "$RS/queue/mailq.cache"; head -c "$size" /dev/urandom; } > "$RS/queue/mailq.cache.new"
mv "$RS/queue/mailq.cache.new" "$RS/queue/mailq.cache"
relayd_start
got=$(mq)
check "saved: a queue/mailq.cache of garbage is ignored, the listing is right" [ "$got" = "$want" ]
check "saved: relayd still runs" kill -0 "$RELAYD_PID"
relayd_stop
# Without queue/index every state file is read at the start (and kept as a
# record) before the first listing: queue/mailq.cache is still read then.
check "saved: written again after a garbage one" [ -s "$RS/queue/mailq.cache" ]
rm -f "$RS/queue/index"
relayd_start
got=$(mq)
check "saved: no index: the listing is right" [ "$got" = "$want" ]
check "saved: no index: queue/mailq.cache read at the first listing all the same" \
	[ ! -e "$RS/queue/mailq.cache" ]
relayd_stop
