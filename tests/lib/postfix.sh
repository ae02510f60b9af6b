# A private Postfix instance for interoperability tests (bash). Source after
# common.sh and relay.sh. Needs root.
#
# Postfix is not installed: Debian's postfix and sasl2-bin .debs are fetched
# with `apt-get download` (cached under /var/cache/nullrelay-test) and
# unpacked with dpkg -x into a scratch prefix. Its binaries look for their
# shared libraries in /usr/lib/postfix (RUNPATH), so every Postfix process
# gets LD_LIBRARY_PATH pointing at the prefix (master passes it on through
# import_environment). Everything else Postfix reads or writes is named in
# the main.cf written here: config, queue, data, daemon and meta directories
# are all under the test's temp dir. The only thing made on the host is the
# account Postfix runs its daemons as (mail_owner, default "nrpostfix") and
# a group for its setgid_group (default "nrpostdrop").
#
#   pf_fetch DIR             unpack Postfix into DIR/root; on failure PF_WHY
#                            says why and it returns 2 (skip) or 1 (fail)
#   pf_setup DIR PORT CERT KEY DOMAIN UID
#                            write DIR/etc/{main,master}.cf, the queue, a
#                            Cyrus sasldb and the mailbox map; mail to DOMAIN
#                            goes into Maildirs under DIR/vmail owned by UID
#   pf_user USER PASSWORD    add a SASL user (login name USER@DOMAIN)
#   pf_mailbox ADDR          accept mail for ADDR (delivered to
#                            DIR/vmail/ADDR/ as a Maildir); before pf_start
#   pf_start                 run master -d in a session of its own (PF_PID),
#                            stopped at exit; waits for PORT to accept
#   pf_stop                  stop master and its daemons by PID / group
# Set by pf_setup: PF_ETC, PF_VMAIL, PF_LOG (Postfix's maillog_file).

PF_OWNER=${PF_OWNER:-nrpostfix}
# setgid_group: Postfix insists it exists and shares no id with mail_owner
# or default_privs (nobody/nogroup); only postdrop would use it.
PF_GROUP=${PF_GROUP:-nrpostdrop}
PF_CACHE=${NULLRELAY_TEST_CACHE:-/var/cache/nullrelay-test}

# _pf_deb NAME: the cached .deb of package NAME, downloaded if need be.
_pf_deb() {
	local deb
	deb=$(ls "$PF_CACHE/$1"_*.deb 2>/dev/null | tail -n 1)
	if [ -z "$deb" ]; then
		mkdir -p "$PF_CACHE" || return 1
		# A fresh machine may have no package lists yet: update them once.
		(cd "$PF_CACHE" && timeout 120 apt-get download "$1" >/dev/null 2>&1) ||
			{ timeout 180 apt-get update -qq >/dev/null 2>&1
			  (cd "$PF_CACHE" && timeout 120 apt-get download "$1" >/dev/null 2>&1); }
		deb=$(ls "$PF_CACHE/$1"_*.deb 2>/dev/null | tail -n 1)
	fi
	[ -n "$deb" ] && echo "$deb"
}

pf_fetch() {
	PF_DIR=$1 PF_ROOT=$1/root PF_WHY=
	local p deb missing f
	mkdir -p "$PF_ROOT" || { PF_WHY="cannot create $PF_ROOT"; return 1; }
	for p in postfix sasl2-bin; do
		deb=$(_pf_deb "$p") || { PF_WHY="apt-get download $p failed: no Debian mirror reachable?"; return 2; }
		dpkg -x "$deb" "$PF_ROOT" || { PF_WHY="dpkg -x $deb failed"; return 1; }
		[ "$p" = postfix ] && PF_VERSION=$(basename "$deb" .deb | cut -d_ -f2)
	done
	PF_LIBS=$PF_ROOT/usr/lib/postfix
	PF_SBIN=$PF_ROOT/usr/lib/postfix/sbin
	for f in "$PF_SBIN/master" "$PF_SBIN/smtpd" "$PF_SBIN/virtual" "$PF_ROOT/usr/sbin/saslpasswd2"; do
		missing=$(LD_LIBRARY_PATH=$PF_LIBS ldd "$f" 2>&1 | grep 'not found' | tr -s ' \t\n' ' ')
		[ -z "$missing" ] || { PF_WHY="libraries missing for $(basename "$f"), run scripts/install-deps:$missing"; return 2; }
	done
	# PLAIN/LOGIN and the sasldb auxprop come from the system's Cyrus SASL.
	for f in libplain.so liblogin.so libsasldb.so; do
		ls /usr/lib/*/sasl2/"$f"* >/dev/null 2>&1 ||
			{ PF_WHY="Cyrus SASL plugin $f missing, run scripts/install-deps (libsasl2-modules, libsasl2-modules-db)"; return 2; }
	done
	if ! getent passwd "$PF_OWNER" >/dev/null; then
		useradd --system --user-group --home-dir /nonexistent --no-create-home \
			--shell /usr/sbin/nologin "$PF_OWNER" || { PF_WHY="cannot create user $PF_OWNER"; return 1; }
	fi
	if ! getent group "$PF_GROUP" >/dev/null; then
		groupadd --system "$PF_GROUP" || { PF_WHY="cannot create group $PF_GROUP"; return 1; }
	fi
	return 0
}

pf_setup() {
	local port=$2 cert=$3 key=$4 vuid=$6 q
	PF_DIR=$1 PF_PORT=$2 PF_DOMAIN=$5
	PF_ETC=$PF_DIR/etc PF_QUEUE=$PF_DIR/queue PF_DATA=$PF_DIR/data
	PF_VMAIL=$PF_DIR/vmail PF_LOG=$PF_DIR/maillog PF_SASLDB=$PF_DIR/etc/sasldb2
	mkdir -p "$PF_ETC/sasl" "$PF_QUEUE" "$PF_VMAIL" || return 1
	chmod 755 "$PF_DIR" "$PF_ETC"
	chown "$vuid" "$PF_VMAIL" && chmod 700 "$PF_VMAIL"
	install -d -m 700 -o "$PF_OWNER" "$PF_DATA" || return 1
	# The queue as post-install would make it (our own master creates no
	# directories). public/ and maildrop/ matter only to postdrop, unused.
	for q in active bounce corrupt defer deferred flush hold incoming private saved trace maildrop public; do
		install -d -m 700 -o "$PF_OWNER" "$PF_QUEUE/$q" || return 1
	done
	install -d -m 755 -o root "$PF_QUEUE/pid"
	install -m 644 "$cert" "$PF_ETC/cert.pem" && install -m 600 "$key" "$PF_ETC/key.pem" || return 1
	# Debian's postinst would generate this list of plugin map types; the
	# built-in ones (texthash) are all we use.
	: > "$PF_ETC/dynamicmaps.cf"
	: > "$PF_ETC/vmailbox"
	: > "$PF_LOG"
	cat > "$PF_ETC/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
sasldb_path: $PF_SASLDB
mech_list: PLAIN LOGIN
EOF
	cat > "$PF_ETC/main.cf" <<EOF
compatibility_level = 3.6
config_directory = $PF_ETC
meta_directory = $PF_ETC
queue_directory = $PF_QUEUE
data_directory = $PF_DATA
daemon_directory = $PF_SBIN
command_directory = $PF_ROOT/usr/sbin
shlib_directory = $PF_LIBS
mail_owner = $PF_OWNER
setgid_group = $PF_GROUP
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C LD_LIBRARY_PATH=$PF_LIBS
maillog_file = $PF_LOG
maillog_file_prefixes = $PF_DIR
myhostname = postfix.test
mydomain = postfix.test
myorigin = postfix.test
mydestination =
mynetworks = 127.0.0.1/32
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
smtputf8_enable = yes
biff = no
notify_classes =
disable_dns_lookups = yes
smtp_dns_support_level = disabled
alias_maps =
alias_database =
local_recipient_maps =
relay_domains =
message_size_limit = 10240000
smtpd_tls_cert_file = $PF_ETC/cert.pem
smtpd_tls_key_file = $PF_ETC/key.pem
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $PF_ETC/sasl
smtpd_sasl_authenticated_header = yes
broken_sasl_auth_clients = no
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
virtual_mailbox_domains = $PF_DOMAIN
virtual_mailbox_base = $PF_VMAIL
virtual_mailbox_maps = texthash:$PF_ETC/vmailbox
virtual_minimum_uid = 1
virtual_uid_maps = static:$(id -u "$vuid")
virtual_gid_maps = static:$(id -g "$vuid")
virtual_transport = virtual
EOF
	cat > "$PF_ETC/master.cf" <<EOF
127.0.0.1:$port inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
virtual   unix  - n n - - virtual
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
tlsmgr    unix  - - n 1000? 1 tlsmgr
EOF
	return 0
}

# smtpd reads the sasldb as mail_owner.
pf_user() {
	printf '%s' "$2" | "$PF_ROOT/usr/sbin/saslpasswd2" -f "$PF_SASLDB" -c -p -u "$PF_DOMAIN" "$1" || return 1
	chown "$PF_OWNER" "$PF_SASLDB" && chmod 600 "$PF_SASLDB"
}

pf_mailbox() {
	printf '%s %s/\n' "$1" "$1" >> "$PF_ETC/vmailbox"
}

_pf_port_open() {
	"$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$PF_PORT"
}

pf_start() {
	# In a session of its own, so that it and every daemon it started can be
	# stopped together by process group, whatever master itself does.
	LD_LIBRARY_PATH=$PF_LIBS MAIL_CONFIG=$PF_ETC setsid "$PF_SBIN/master" -c "$PF_ETC" -d \
		>>"$PF_DIR/master.out" 2>&1 </dev/null &
	PF_PID=$!
	on_exit "pf_stop"
	wait_for 10 _pf_port_open || return 1
	# master's own PID (the same unless setsid had to fork).
	local p
	p=$(tr -d ' \n' < "$PF_QUEUE/pid/master.pid" 2>/dev/null)
	[ -n "$p" ] && PF_PID=$p
	return 0
}

pf_stop() {
	[ -n "${PF_PID:-}" ] || return 0
	kill -TERM "$PF_PID" 2>/dev/null
	wait_for 10 _gone "$PF_PID" || kill -KILL "$PF_PID" 2>/dev/null
	wait "$PF_PID" 2>/dev/null
	# Any daemon master left behind (same process group, led by PF_PID).
	kill -KILL -- "-$PF_PID" 2>/dev/null
	PF_PID=
}

