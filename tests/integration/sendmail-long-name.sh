#!/usr/bin/env bash
# A From: that sendmail generates from a long -F name is folded like the
# fields it rewrites (no line over 998 octets, 78 where the text allows),
# and a name that cannot be folded that short is refused with 65.
. "$(dirname "$0")/../lib/common.sh"

mk_spool "$T/spool"
write_conf "$T/conf" "spool = $T/spool" "hostname = h.example.org"
name=$(for i in $(seq 0 299); do printf 'Word%d ' "$i"; done)
name=${name% }
printf 'Subject: x\n\nbody\n' | "$SENDMAIL" -C "$T/conf" -F "$name" -i a@example.org
check "a 2000-octet -F name is queued" test $? = 0
f=$(only_drop "$T/spool")
longest=$(drop_message "$f" | awk '{ if (length($0) > m) m = length($0) } END { print m }')
check "every line of the queued message is at most 78 octets (longest $longest)" test "$longest" -le 78
unfolded=$(drop_message "$f" | sed -n '/^From:/,/^[^ ]/p' | sed '$d' | tr -d '\n')
check "unfolding the From: gives back the name exactly" \
	test "$unfolded" = "From: $name <$(id -un)@h.example.org>"
rm -f "$T"/spool/incoming/new/*
long=$(head -c 1200 /dev/zero | tr '\0' x)
err=$(printf 'Subject: x\n\nbody\n' | "$SENDMAIL" -C "$T/conf" -F "$long" -i a@example.org 2>&1)
rc=$?
check "an unfoldable 1200-octet -F name is refused with 65 (got $rc)" test "$rc" = 65
check "the refusal names -F" grep -q -- '-F name' <<<"$err"
check "nothing is queued" test -z "$(ls "$T/spool/incoming/new")"
