#!/usr/bin/env bash
# relayd queue: many messages over one connection (RSET between), retry with
# backoff, retry state across restarts, sendmail -q / SIGUSR1 / FLUSH,
# smarthost failover, queue_lifetime expiry.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay relayd-queue || exit 0

EHLO='"ehlo":["PIPELINING","8BITMIME","ENHANCEDSTATUSCODES"]'

# 1. Three messages over one connection, RSET between them.
relay_new batch
sh_start sh-batch "{$EHLO}"
relay_conf "concurrency = 1"
for i in 1 2 3; do submit -f s@example.org "r$i@example.org" < <(test_message "batch$i"); done
relayd_once
check "batch: three messages delivered" [ "$(sh_count sh-batch)" = 3 ]
check "batch: over one connection" shq sh-batch 'conns == 1 and len(mails) == 3'
check "batch: RSET between messages, EHLO once" \
	shq sh-batch '[l.upper() for l in C(1)].count("RSET") >= 2 and sum(1 for l in C(1) if l.upper().startswith("EHLO")) == 1'

# 2. Retry with backoff: deferred, then delivered once the smarthost recovers.
relay_new retry
sh_start sh-retry "{$EHLO,\"rules\":[{\"stage\":\"MAIL\",\"reply\":\"451 4.3.0 try later\",\"times\":1}]}"
relay_conf
submit -f s@example.org r@example.org < <(test_message retry)
ID=$SUBMIT_ID
relayd_once
check "retry: first attempt deferred (tries=1)" log_has "$ID: to=<r@example.org>, .*tries=1, .*status=deferred"
check "retry: delivered on a later try" deliver_until 10 sh-retry
check "retry: log says tries=2, status=sent" log_has "$ID: to=<r@example.org>, .*tries=2, .*status=sent"

# 3. The retry schedule survives a restart: an immediate second run does
# not try again before retry_min; a run after it delivers with tries=2.
relay_new restart
sh_start sh-restart "{$EHLO,\"rules\":[{\"stage\":\"MAIL\",\"reply\":\"451 4.3.0 try later\",\"times\":1}]}"
relay_conf "retry_min = 3s" "retry_max = 4s"
submit -f s@example.org r@example.org < <(test_message restart)
ID=$SUBMIT_ID
relayd_once
c1=$(shq sh-restart conns)
relayd_once
c2=$(shq sh-restart conns)
check "restart: a new relayd does not retry before the saved next-try time" [ "$c1" = "$c2" -a -n "$c1" ]
check "restart: still queued meanwhile" queued "$ID"
check "restart: delivered once due" deliver_until 10 sh-restart
check "restart: tries=2 carried over" log_has "$ID: to=<r@example.org>, .*tries=2, .*status=sent"

# 4. sendmail -q, SIGUSR1 and the control socket's FLUSH retry at once.
for how in sendmail-q sigusr1 flush; do
	relay_new "q-$how"
	sh_start "sh-q-$how" "{$EHLO,\"rules\":[{\"stage\":\"MAIL\",\"reply\":\"451 4.3.0 try later\",\"times\":1}]}"
	relay_conf "retry_min = 10m" "retry_max = 1h" "rescan_interval = 1h"
	relayd_start
	submit -f s@example.org r@example.org < <(test_message "q$how")
	ID=$SUBMIT_ID
	wait_for 5 log_has "$ID: to=<r@example.org>, .*status=deferred"
	check "$how: first try deferred by the running relayd" log_has "$ID: to=<r@example.org>, .*status=deferred"
	case $how in
	sendmail-q) "$SENDMAIL" -C "$RC" -q 2>>"$RD/sendmail.err"; rc=$?
		check "sendmail -q exits 0 (got $rc)" [ $rc = 0 ] ;;
	sigusr1) kill -USR1 "$RELAYD_PID" ;;
	flush) "$PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"FLUSH\n"); s.settimeout(3); print(s.recv(100))' \
		"$RS/relayd.sock" >/dev/null 2>&1 ;;
	esac
	check "$how: retried at once and delivered (retry_min is 10m)" wait_for 5 sh_has "sh-q-$how"
	relayd_stop
done

# 5. Failover: the first smarthost refuses connections, the second takes it.
relay_new failover
dead=$(closed_port)
sh_start sh-failover "{$EHLO}"
relay_conf "smarthost = 127.0.0.1:$dead" "smarthost = 127.0.0.1:$SH_PORT"
submit -f s@example.org r@example.org < <(test_message failover)
ID=$SUBMIT_ID
relayd_once
check "failover: delivered through the second smarthost" sh_has sh-failover
check "failover: the log names the second smarthost" log_has "$ID: to=<r@example.org>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SH_PORT, .*status=sent"

# ... and when the first one answers 421.
relay_new failover421
sh_start sh-first '{"rules":[{"stage":"GREETING","reply":"421 4.3.2 busy"}]}'
p1=$SH_PORT
sh_start sh-second "{$EHLO}"
relay_conf "smarthost = 127.0.0.1:$p1" "smarthost = 127.0.0.1:$SH_PORT"
submit -f s@example.org r@example.org < <(test_message failover421)
relayd_once
check "failover: a 421 greeting on the first sends it through the second" sh_has sh-second

# 6. queue_lifetime: a message still not delivered after it is bounced.
relay_new lifetime
sh_start sh-lifetime "{$EHLO,\"rules\":[{\"stage\":\"MAIL\",\"reply\":\"451 4.3.0 try later\"}]}"
relay_conf "queue_lifetime = 2s" "retry_min = 1s" "retry_max = 1s"
submit -f s@example.org r@example.org < <(test_message lifetime)
ID=$SUBMIT_ID
relayd_once
check "lifetime: deferred at first" log_has "$ID: to=<r@example.org>, .*status=deferred"
end=$(( $(date +%s) + 10 ))
while ! log_has "$ID: to=<r@example.org>, .*status=bounced" && [ "$(date +%s)" -lt "$end" ]; do
	sleep 0.5
	relayd_once
done
check "lifetime: bounced after queue_lifetime (status=bounced)" log_has "$ID: to=<r@example.org>, .*status=bounced"
check "lifetime: out of the queue, bounced to the sender" \
	eval "! queued $ID && log_has '$ID: sender non-delivery notification: '"
