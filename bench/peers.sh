#!/usr/bin/env bash
# bench/peers.sh: fetch the programs nullrelay is compared with, from Debian's
# own packages, and unpack them (dpkg -x, never installed) under $PEERS
# (default /var/cache/nullrelay-bench, outside the git tree):
#   $PEERS/debs/*.deb           the downloaded packages (cache)
#   $PEERS/nullmailer/          nullmailer's files (usr/sbin/sendmail, ...)
#   $PEERS/postfix/             postfix's files (usr/sbin/smtp-sink, usr/lib/postfix):
#                               the sink for every drain, and a peer itself
#                               (bench/pf-ns.sh; as root, with the accounts
#                               nrpostfix / nrpostdrop made here if missing)
#   $PEERS/dma/                 dma's files (usr/sbin/dma)
# Writes $W/peers.env with HAVE_NULLMAILER, HAVE_SMTP_SINK and the paths.
. "$(dirname "$0")/lib.sh"

mkdir -p "$PEERS/debs"
# apt's download sandbox user must be able to write there.
chown _apt "$PEERS/debs" 2>/dev/null

fetch() {
	local pkg=$1
	ls "$PEERS/debs/${pkg}_"*.deb >/dev/null 2>&1 && return 0
	is_root || { note "$pkg: not cached in $PEERS/debs and not root to download it"; return 1; }
	say "downloading $pkg (apt-get download)"
	cmd "(cd $PEERS/debs && apt-get download $pkg)"
	(cd "$PEERS/debs" && apt-get download "$pkg" >/dev/null 2>&1) && return 0
	# Package lists may be missing or stale on a fresh machine.
	apt-get update >/dev/null 2>&1
	(cd "$PEERS/debs" && apt-get download "$pkg" >/dev/null 2>&1) ||
		{ note "$pkg: apt-get download failed"; return 1; }
}

unpack() {
	local pkg=$1 deb
	deb=$(ls "$PEERS/debs/${pkg}_"*.deb 2>/dev/null | tail -n 1)
	[ -n "$deb" ] || return 1
	# One directory per package: both ship a usr/sbin/sendmail.
	if [ ! -e "$PEERS/$pkg/.from" ] || [ "$(cat "$PEERS/$pkg/.from")" != "$deb" ]; then
		rm -rf "$PEERS/$pkg" && mkdir -p "$PEERS/$pkg" &&
		dpkg -x "$deb" "$PEERS/$pkg" && printf '%s\n' "$deb" > "$PEERS/$pkg/.from" ||
			{ note "$pkg: dpkg -x $deb failed"; return 1; }
		cmd "dpkg -x $deb $PEERS/$pkg"
	fi
}
version() { dpkg-deb -f "$(cat "$PEERS/$1/.from" 2>/dev/null)" Version 2>/dev/null; }

HAVE_NULLMAILER=0 HAVE_SMTP_SINK=0
fetch postfix && unpack postfix && [ -x "$PEERS/postfix/usr/sbin/smtp-sink" ] && HAVE_SMTP_SINK=1
fetch nullmailer && unpack nullmailer && [ -x "$PEERS/nullmailer/usr/sbin/nullmailer-send" ] && HAVE_NULLMAILER=1
HAVE_DMA=0 HAVE_POSTFIX=0
if [ "$HAVE_SMTP_SINK" = 1 ] && is_root && [ -x "$PEERS/postfix/usr/lib/postfix/sbin/master" ]; then
	missing=$(for f in master pickup cleanup qmgr smtp; do
		LD_LIBRARY_PATH=$PEERS/postfix/usr/lib/postfix ldd "$PEERS/postfix/usr/lib/postfix/sbin/$f"; done 2>&1 |
		grep 'not found' | sort -u | tr -s ' \t\n' ' ')
	if [ -n "$missing" ]; then
		note "postfix: libraries missing (run scripts/install-deps):$missing; postfix not compared"
	else
		getent group "$PF_GROUP" >/dev/null || groupadd --system "$PF_GROUP"
		getent passwd "$PF_OWNER" >/dev/null || useradd --system --user-group --home-dir /nonexistent \
			--no-create-home --shell /usr/sbin/nologin "$PF_OWNER"
		getent passwd "$PF_OWNER" >/dev/null && getent group "$PF_GROUP" >/dev/null && HAVE_POSTFIX=1 ||
			note "postfix: cannot create the accounts $PF_OWNER / $PF_GROUP; postfix not compared"
	fi
elif [ "$HAVE_SMTP_SINK" = 1 ]; then
	note "postfix as a peer needs root (mount namespace); only its smtp-sink is used"
fi
fetch dma && unpack dma && [ -x "$PEERS/dma/usr/sbin/dma" ] && HAVE_DMA=1

{
	echo "HAVE_SMTP_SINK=$HAVE_SMTP_SINK"
	echo "SMTP_SINK=$PEERS/postfix/usr/sbin/smtp-sink"
	echo "SMTP_SINK_LIBS=$PEERS/postfix/usr/lib/postfix"
	echo "POSTFIX_VERSION=$(version postfix)"
	echo "HAVE_POSTFIX=$HAVE_POSTFIX"
	echo "PF_TREE=$PEERS/postfix"
	echo "HAVE_NULLMAILER=$HAVE_NULLMAILER"
	echo "NM_TREE=$PEERS/nullmailer"
	echo "NULLMAILER_VERSION=$(version nullmailer)"
	echo "HAVE_DMA=$HAVE_DMA"
	echo "DMA=$PEERS/dma/usr/sbin/dma"
	echo "DMA_VERSION=$(version dma)"
} > "$W/peers.env"
exit 0
