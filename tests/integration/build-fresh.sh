#!/usr/bin/env bash
# A fresh machine (README's first lines): `make` either builds or stops at
# once with one line naming what pkg-config cannot find and the command that
# installs it; the goals that install it (deps, check) still run. And every
# tool the tests use can do its job once scripts/install-deps has run (a
# Debian package installed without its Recommends may lack what a test needs,
# as swaks lacks TLS without libnet-ssleay-perl).
. "$(dirname "$0")/../lib/common.sh"

not_grep() { ! grep -q "$@"; }
have() { command -v "$1" > /dev/null; }

command -v make > /dev/null || { skip "build-fresh: no make"; exit 0; }
REAL_PKG_CONFIG=$(command -v pkg-config) || { skip "build-fresh: no pkg-config"; exit 0; }

# run_make NAME ENV... -- MAKEARGS...: make in the source tree, objects in
# a scratch directory so the real build is not touched.
run_make() {
	local envs=()
	shift
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	# Not the make that runs the tests (make check): its flags stay out.
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SAN "${envs[@]+"${envs[@]}"}" timeout 300 make -s -C "$TOP" BUILD="$T/build" "$@" \
		> "$T/out" 2> "$T/err"
	RC=$?
}

# refused NAME WANT_NAMED WANT_APT: the last make stopped at once with one
# line naming WANT_NAMED and both ways to install it.
refused() {
	local name=$1 named=$2 apt=$3 lines
	check "$name: make fails (got $RC)" [ "$RC" != 0 ]
	lines=$(wc -l < "$T/err")
	if [ "$lines" = 1 ]; then
		pass "$name: exactly one line on stderr"
	else
		fail "$name: exactly one line on stderr (got $lines)"
		sed 's/^/    /' "$T/err" | head -n 5
	fi
	for w in $named; do
		check "$name: the line names $w" grep -qw -- "$w" "$T/err"
	done
	check "$name: the line says scripts/install-deps" grep -qF 'scripts/install-deps' "$T/err"
	check "$name: the line gives 'apt-get install $apt'" grep -qF "apt-get install $apt" "$T/err"
	check "$name: stopped at once (nothing compiled)" [ ! -e "$T/build" ]
	check "$name: stdout stays empty" [ ! -s "$T/out" ]
}

# ---- pkg-config knows no packages at all --------------------------------
run_make "no .pc files" PKG_CONFIG_LIBDIR=/nonexistent PKG_CONFIG_PATH= --
refused "pkg-config finds nothing" "openssl libbsd-overlay" "libssl-dev libbsd-dev"

# ---- only libbsd missing: a pkg-config that does not know it -------------
cat > "$T/pkg-config" <<EOF
#!/bin/sh
for a in "\$@"; do [ "\$a" = libbsd-overlay ] && exit 1; done
exec "$REAL_PKG_CONFIG" "\$@"
EOF
chmod 755 "$T/pkg-config"
run_make "no libbsd" -- PKG_CONFIG="$T/pkg-config"
refused "libbsd missing" "libbsd-overlay" "libbsd-dev"
check "libbsd missing: openssl is not named" not_grep -w openssl "$T/err"
run_make "no libbsd, all units" -- PKG_CONFIG="$T/pkg-config" all units
refused "libbsd missing (make all units)" "libbsd-overlay" "libbsd-dev"

# ---- no pkg-config at all ----------------------------------------------
run_make "no pkg-config" -- PKG_CONFIG=/nonexistent/pkg-config
refused "pkg-config missing" "pkg-config" "pkg-config libssl-dev libbsd-dev"

# ---- the goals that install what is missing still run -------------------
run_make "deps" PKG_CONFIG_LIBDIR=/nonexistent -- -n deps
check "make -n deps runs without the libraries (got $RC)" [ "$RC" = 0 ]
run_make "clean" PKG_CONFIG_LIBDIR=/nonexistent -- -n clean
check "make -n clean runs without the libraries (got $RC)" [ "$RC" = 0 ]

# ---- the package names in the message are the right ones ---------------
if command -v dpkg > /dev/null && dpkg -S libbsd-overlay.pc > /dev/null 2>&1; then
	check "libbsd-overlay.pc comes from libbsd-dev" \
		bash -c "dpkg -S libbsd-overlay.pc | grep -q '^libbsd-dev:'"
	check "openssl.pc comes from libssl-dev" bash -c "dpkg -S '*/pkgconfig/openssl.pc' | grep -q '^libssl-dev:'"
else
	skip "build-fresh: package names (dpkg does not know the .pc files)"
fi

# ---- control: with the libraries found, make goes ahead ----------------
run_make "control" -- -n all
check "with the libraries, make -n all plans the build (got $RC)" [ "$RC" = 0 ]
check "with the libraries, nothing on stderr" [ ! -s "$T/err" ]

# ---- every test tool can do its job --------------------------------------
if command -v swaks > /dev/null; then
	check "swaks has TLS (Net::SSLeay, for the interop harness checks)" \
		bash -c "swaks --support 2>&1 | grep -q '=== TLS supported'"
else
	fail "swaks is not installed (scripts/install-deps installs it)"
fi
check "Debian's python3 has ssl, email, mailbox, asyncio" \
	"$PY" -c 'import ssl, email.policy, mailbox, asyncio, smtplib, json'
check "openssl can make a test certificate" \
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=t -days 1 \
	-keyout "$T/k.pem" -out "$T/c.pem" -batch > /dev/null 2>&1
for tool in strace ss setpriv unshare pgrep; do
	check "$tool is installed (scripts/install-deps)" have "$tool"
done
