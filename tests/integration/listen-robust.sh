#!/usr/bin/env bash
# The SMTP listener under stress and attack (SPEC §6.1, §5.6): a client
# killed inside DATA leaves nothing; relayd killed right after the 250
# loses nothing; SMTP smuggling never splits one message into two; idle and
# flooding clients are bounded and cannot stop sendmail or delivery;
# timeouts; systemd socket activation; SIGTERM.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
. "$TOP/tests/lib/listen.sh"
require_relay listen-robust || exit 0

HDR='send:EHLO r.test\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<r@example.org>\r\nDATA\r\n'

# 1. A client killed in the middle of DATA: nothing queued.
listen_setup middata
smtpc reply "$HDR" replies:4 'send:Subject: half\r\n\r\nthe first half of a message\r\n' sleep:0.5 close >/dev/null
wait_for 5 log_has "disconnected inside DATA: nothing queued"
check "mid-DATA: the session logs that nothing was queued" log_has "r\.test\[127\.0\.0\.1\] disconnected inside DATA: nothing queued"
sleep 1
check "mid-DATA: no drop file and nothing in the queue" spool_empty
check "mid-DATA: no temporary file left in the spool" bash -c '[ -z "$(find "$1" -maxdepth 1 -name ".listen.*")" ]' _ "$RS"
check "mid-DATA: nothing reached the smarthost" [ "$(sh_count "$LSH")" = 0 ]
# The same with the client process killed by SIGKILL while it sends.
"$PY" - "$LPORT" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"EHLO k.test\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<r@example.org>\r\nDATA\r\n")
time.sleep(0.5)
s.sendall(b"Subject: killed\r\n\r\n" + b"x" * 70 + b"\r\n")
time.sleep(30)
PY
kpid=$!
sleep 1.5
kill -KILL $kpid
wait $kpid 2>/dev/null
wait_for 5 log_has "k\.test\[127\.0\.0\.1\] disconnected inside DATA"
check "mid-DATA: a client killed with SIGKILL leaves nothing either" spool_empty
relayd_stop

# 2. relayd killed with SIGKILL right after the 250: delivered after restart.
relay_new crash
sh_start sh-crash '{"ehlo":["PIPELINING"]}'
good_port=$SH_PORT
SH_PORT=$(closed_port)	# nothing there: the message cannot leave before the crash
LPORT=$(closed_port)
relay_conf "listen = 127.0.0.1:$LPORT"
relayd_start
wait_for 5 log_has "listen: accepting SMTP on"
out=$(smtpc reply "$HDR" replies:4 'send:Subject: survive\r\n\r\nkeep me\r\n.\r\n' reply)
kill -KILL "$RELAYD_PID"
wait "$RELAYD_PID" 2>/dev/null
id=$(sed -nE 's/^250 2\.0\.0 Ok: queued as ([0-9A-F]{16})$/\1/p' <<<"$out")
check "crash: 250 came before the kill" [ -n "$id" ]
check "crash: the message is in the spool (drop or queue)" bash -c 'ls "$1/incoming/new" "$1/queue" | grep -q "$2"' _ "$RS" "$id"
SH_PORT=$good_port
relay_conf "listen = 127.0.0.1:$LPORT"
relayd_start
check "crash: relayd starts again on the same port" wait_for 10 log_has "listen: accepting SMTP on 127\.0\.0\.1:$LPORT"
wait_for 15 sh_has sh-crash
check "crash: the message is delivered after the restart" grep -q '^Subject: survive' "$T/sh-crash/mail/conn-1-msg-1.eml"
check "crash: with its id in the Received: line" grep -q "with ESMTP id $id;" "$T/sh-crash/mail/conn-1-msg-1.eml"
relayd_stop

# 3. SMTP smuggling: an end marker that is not CRLF.CRLF never ends DATA.
listen_setup smuggle
n=0
for variant in 'bare LF before the dot|\n.\r\n' 'dot then bare LF|\r\n.\n' 'bare LF both sides|\n.\n' 'CR before the dot|\r.\r\n'; do
	what=${variant%%|*} marker=${variant#*|}
	n=$((n + 1))
	out=$(smtpc reply "$HDR" replies:4 \
		"send:Subject: outer $n\\r\\n\\r\\nouter text$marker""MAIL FROM:<evil@example.org>\\r\\nRCPT TO:<victim@example.org>\\r\\nDATA\\r\\nSubject: smuggled $n\\r\\n\\r\\nevil\\r\\n.\\r\\n" \
		reply 'send:QUIT\r\n' reply)
	codes=$(awk '{print $1}' <<<"$out" | tr '\n' ' ')
	check "smuggling ($what): one 250 for the whole text, then QUIT ($codes)" \
		[ "$codes" = "220 250 250 250 354 250 221 " ]
	wait_for 10 sh_has "$LSH" "$n"
	f=$(grep -l "^Subject: outer $n" "$T/$LSH"/mail/*.eml 2>/dev/null | head -n 1)
	check "smuggling ($what): the smuggled lines stay inside the one message" grep -q "smuggled $n" "${f:-/dev/null}"
done
sleep 1
check "smuggling: exactly four messages, none for victim@ or from evil@" bash -c \
	'[ "$(ls "$1"/mail/*.eml | wc -l)" = 4 ]' _ "$T/$LSH"
check "smuggling: no envelope was ever made from smuggled commands" shq "$LSH" \
	'all(m["side"]["mail_from"] == "<s@example.org>" and [r["addr"] for r in m["side"]["rcpts"]] == ["<r@example.org>"] for m in mails)'
# Dot-unstuffing: "..x" is ".x", a lone "." after CRLF ends, "..\r\n" is ".".
out=$(smtpc reply "$HDR" replies:4 'send:Subject: dots\r\n\r\n..one\r\n...two\r\n..\r\n.\r\nQUIT\r\n' replies:2)
wait_for 10 sh_has "$LSH" 5
f=$(grep -l "^Subject: dots" "$T/$LSH"/mail/*.eml | head -n 1)
body=$(sed '1,/^\r$/d' "$f" | tr -d '\r')
check "dots: unstuffed exactly (.one, ..two, .)" [ "$body" = $'.one\n..two\n.' ]
relayd_stop

# 4. Limits: idle clients (slowloris) and a flood are bounded; sendmail and
# delivery go on meanwhile; the command timeout frees idle slots.
listen_setup limits "timeout_command = 4s"
"$PY" - "$LPORT" "$RD/held" <<'PY' &
import socket, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
socks, greets = [], []
for i in range(11):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(5)
    socks.append(s)
    greets.append(s.recv(200).decode().strip())
# A slowloris: half a command, one byte at a time, never a line end.
socks[0].sendall(b"EH")
with open(out, "w") as f:
    f.write("\n".join(greets) + "\n")
time.sleep(1.0)
socks[0].sendall(b"L")
time.sleep(6)
PY
hpid=$!
wait_for 5 test -s "$RD/held"
sleep 0.3
check "limits: ten connections from one address get 220" [ "$(grep -c '^220 ' "$RD/held")" = 10 ]
check "limits: the eleventh gets 421 4.7.0 (per-client limit)" grep -q '^421 4\.7\.0 .*too many connections from \[127\.0\.0\.1\]' "$RD/held"
check "limits: logged with the client address" log_has "listen: refused connection from \[127\.0\.0\.1\]: too many connections from this address"
out=$(smtpc --src 127.0.0.2 reply 'send:QUIT\r\n' reply)
check "limits: another address is still served meanwhile" grep -q '^220 ' <<<"$out"
test_message "while held" > "$RD/m1"
start=$(date +%s)
submit -f s@example.org r@example.org < "$RD/m1"
check "limits: sendmail submits while the listener is saturated" [ $? = 0 ]
wait_for 10 sh_has "$LSH"
check "limits: and relayd delivers it at once ($(( $(date +%s) - start ))s)" [ "$(sh_count "$LSH")" = 1 ]
wait $hpid
check "limits: idle sessions end with 421 4.4.2 after timeout_command" \
	log_has "listen: timeout from unknown\[127\.0\.0\.1\] in state greeted"
sleep 0.5
out=$(smtpc reply 'send:QUIT\r\n' reply)
check "limits: the slots are free again" grep -q '^220 ' <<<"$out"
# A flood from many addresses: LISTEN_MAX_CONNECTIONS (100) in total.
"$PY" - "$LPORT" "$RD/flood" <<'PY'
import socket, sys
port, out = int(sys.argv[1]), sys.argv[2]
socks, res = [], []
for i in range(105):
    s = socket.socket()
    s.settimeout(5)
    s.bind(("127.0.%d.%d" % (1 + i // 10, 1 + i % 10), 0))
    s.connect(("127.0.0.1", port))
    socks.append(s)
    try:
        res.append(s.recv(200).decode().strip()[:3])
    except OSError as e:
        res.append("ERR")
open(out, "w").write("\n".join(res) + "\n")
PY
check "flood: 100 sessions at once get 220 ($(grep -c '^220' "$RD/flood"))" [ "$(grep -c '^220' "$RD/flood")" = 100 ]
check "flood: the others get 421 at connect ($(grep -c '^421' "$RD/flood"))" [ "$(grep -c '^421' "$RD/flood")" = 5 ]
check "flood: logged" log_has "listen: refused connection from \[127\.0\.11\.[0-9]+\]: too many connections$"
refused_counted() { [ "$(relayd_metric nullrelay_listen_refused_total)" -ge 6 ]; }
# The metrics file is rewritten about once a second: wait for it, on a busy machine too.
check "flood: refused connections counted in the metrics" wait_for 10 refused_counted
relayd_stop
check "limits: relayd still stops cleanly (exit 0)" [ $? = 0 ]

# 5. SIGTERM: a session in the middle of a transaction finishes it.
listen_setup term
"$PY" - "$LPORT" "$RD/term" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(10)
f = s.makefile("rb")
def reply():
    lines = []
    while True:
        l = f.readline().decode()
        lines.append(l.strip())
        if len(l) < 4 or l[3] != "-":
            return lines[-1]
out = [reply()]
s.sendall(b"EHLO t.test\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<r@example.org>\r\nDATA\r\n")
out += [reply() for _ in range(4)]
open(sys.argv[2] + ".go", "w").close()
time.sleep(1.5)
s.sendall(b"Subject: during stop\r\n\r\nhi\r\n.\r\n")
out.append(reply())
s.sendall(b"NOOP\r\n")
out.append(reply())
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
tpid=$!
wait_for 5 test -e "$RD/term.go"
kill -TERM "$RELAYD_PID"
wait $tpid
check "term: the message under way is still queued after SIGTERM" grep -q '^250 2\.0\.0 Ok: queued as' "$RD/term"
check "term: then the session closes with 421 4.3.2" grep -q '^421 4\.3\.2' "$RD/term"
relayd_stop
check "term: relayd exits 0" [ $? = 0 ]
check "term: the drop is in the spool for the next start" bash -c '[ -n "$(find "$1/incoming/new" "$1/queue" -type f)" ]' _ "$RS"

# 6. systemd socket activation: LISTEN_PID/LISTEN_FDS, no listen line.
relay_new sd
sh_start sh-sd '{"ehlo":["PIPELINING"]}'
relay_conf
LPORT=$(closed_port)
"$PY" - "$LPORT" "$RELAYD" "$RC" "$RL" <<'PY' &
import os, socket, sys
port, relayd, conf, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
env = dict(os.environ, LISTEN_PID=str(os.getpid()), LISTEN_FDS="1", LISTEN_FDNAMES="smtp")
fd = os.open(log, os.O_WRONLY | os.O_APPEND)
os.dup2(fd, 2)
os.execve(relayd, [relayd, "-C", conf, "-f"], env)
PY
RELAYD_PID=$!
on_exit "kill $RELAYD_PID 2>/dev/null"
wait_for 5 log_has "listen: accepting SMTP on 127\.0\.0\.1:$LPORT"
check "systemd: relayd listens on the socket it was given" log_has "listen: accepting SMTP on 127\.0\.0\.1:$LPORT"
out=$(smtpc reply "$HDR" replies:4 'send:Subject: activated\r\n\r\nhi\r\n.\r\nQUIT\r\n' replies:2)
check "systemd: a message is accepted on it" grep -q '^250 2\.0\.0 Ok: queued as' <<<"$out"
wait_for 10 sh_has sh-sd
check "systemd: and delivered" grep -q '^Subject: activated' "$T/sh-sd/mail/conn-1-msg-1.eml"
relayd_stop
