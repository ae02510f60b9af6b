#!/usr/bin/env bash
# The three man pages are one dialect, mdoc(7): each lints clean with
# mandoc -Tlint at WARNING level (STYLE notes allowed), renders with man -l
# without a complaint, and relay.conf(5) documents every configuration key
# spool/conf_keys.c knows.
. "$(dirname "$0")/../lib/common.sh"

PAGES="man/relayd.8 man/sendmail.8 man/relay.conf.5"
if ! command -v mandoc >/dev/null; then
	fail "man pages: mandoc is not installed (scripts/install-deps installs it)"
	exit 0
fi
for p in $PAGES; do
	f=$TOP/$p
	check "$p: is mdoc (starts with .Dd, no man(7) .TH)" \
		eval "head -n 1 '$f' | grep -q '^\.Dd ' && ! grep -q '^\.TH ' '$f'"
	out=$(mandoc -Tlint -Wwarning "$f" 2>&1); rc=$?
	check "$p: mandoc -Tlint -Wwarning is clean${out:+: $out}" eval '[ $rc = 0 ] && [ -z "$out" ]'
	out=$(MANWIDTH=80 man -l "$f" 2>&1 >/dev/null)
	check "$p: man -l renders it without a warning${out:+: $out}" [ -z "$out" ]
	check "$p: man -l renders some text" eval "[ \"\$(MANWIDTH=80 man -l '$f' 2>/dev/null | wc -l)\" -gt 50 ]"
done

# Every key of the configuration table is an item of relay.conf(5).
missing=
for k in $(grep -o '{ *"[a-z0-9_]*"' "$TOP/spool/conf_keys.c" | tr -d '{" '); do
	grep -Eq "^\.It Ic $k( |$)|^\.It .* Ic $k( |$)|^\.It .*, Ic $k( |$)" "$TOP/man/relay.conf.5" ||
		missing="$missing $k"
done
check "relay.conf.5 documents every key of spool/conf_keys.c${missing:+ (missing:$missing)}" [ -z "$missing" ]
