#!/usr/bin/env bash
# Delay warnings (SPEC §7): one "still trying" report per message once
# delay_warning has passed, exactly once even across restarts of relayd,
# and none when NOTIFY leaves DELAY out.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
. "$TOP/tests/lib/bounce.sh"
require_relay bounce-delay || exit 0

# r@ gets 451 three times, then 250. Attempt 1 (too young: no warning),
# then a daemon makes attempt 2 (the warning), is restarted, and finishes.
relay_new delay
sh_start sh-delay "{$EHLO_DSN,\"rules\":[{\"stage\":\"RCPT\",\"rcpt\":\"r@example.org\",\"times\":3,\"reply\":\"451 4.2.0 mailbox busy\"}]}"
relay_conf "delay_warning = 1s" "retry_min = 1s" "retry_max = 1s" "queue_lifetime = 1h"
submit -f s@example.org r@example.org < <(test_message delay-subject)
ID=$SUBMIT_ID
relayd_once
check "delay: first attempt deferred" log_has "$ID: to=<r@example.org>, .*tries=1, .*status=deferred"
check "delay: no warning before delay_warning" [ "$(sh_bounce_count sh-delay)" = 0 ]
sleep 1.2
relayd_start
check "delay: the warning went out" wait_for 10 eval '[ "$(sh_bounce_count sh-delay s@example.org)" -ge 1 ]'
relayd_stop
check "delay: state file says warned" grep -qx warned "$RS/queue/$ID.env"
relayd_start
check "delay: delivered after the restart" wait_for 15 eval '[ "$(sh_from_count sh-delay s@example.org)" = 1 ]'
relayd_stop
check "delay: exactly one delay report across the restart" [ "$(sh_bounce_count sh-delay s@example.org)" = 1 ]
check "delay: logged once" eval "[ \$(grep -c '$ID: sender delay notification: ' '$RL') = 1 ]"
check "delay: more than one attempt after the warning" log_has "$ID: to=<r@example.org>, .*tries=3, .*status=deferred"
B=$(sh_bounces sh-delay s@example.org | head -n 1)
[ -n "$B" ] && dsn_check delay "$B" to=s@example.org action=delayed status=4.2.0 \
	rcpts=r@example.org will_retry remote_mta "diag=451 4.2.0 mailbox busy" orig=hdrs \
	subject=delay-subject
check "delay: queue empty at the end" queue_empty

# NOTIFY=FAILURE only: no delay warning.
relay_new delaynotify
sh_start sh-dn "{$EHLO_DSN,\"rules\":[{\"stage\":\"RCPT\",\"rcpt\":\"r@example.org\",\"reply\":\"451 4.2.0 busy\"}]}"
relay_conf "delay_warning = 1s" "retry_min = 1s" "retry_max = 1s" "queue_lifetime = 1h"
submit -f s@example.org -N failure r@example.org < <(test_message delaynotify)
ID=$SUBMIT_ID
relayd_once
sleep 1.2
relayd_once
check "-N failure: deferred twice" log_has "$ID: to=<r@example.org>, .*tries=2, .*status=deferred"
check "-N failure: no delay warning" [ "$(sh_bounce_count sh-dn)" = 0 ]

# delay_warning = 0: never.
relay_new delayoff
sh_start sh-off "{$EHLO_DSN,\"rules\":[{\"stage\":\"RCPT\",\"rcpt\":\"r@example.org\",\"reply\":\"451 4.2.0 busy\"}]}"
relay_conf "delay_warning = 0" "retry_min = 1s" "retry_max = 1s" "queue_lifetime = 1h"
submit -f s@example.org r@example.org < <(test_message delayoff)
ID=$SUBMIT_ID
relayd_once
sleep 1.2
relayd_once
check "delay_warning = 0: deferred twice, no warning" \
	eval "log_has '$ID: to=<r@example.org>, .*tries=2, .*status=deferred' && [ \$(sh_bounce_count sh-off) = 0 ]"
