# bench/table.awk: the side-by-side table of bench/report.sh, from
# peer_rows.tsv (FIG, hi|lo, LABEL: the rows, in order) and peers.tsv (FIG,
# PEER, UNIT, MEDIAN, MIN, MAX, N, RAW: one program's values for one row,
# RAW = the per-round values, comma-separated, round i of every program
# taken in the same pass). Prints, per row, each program's median with its
# range, then nullrelay / peer: the median over the rounds of the paired
# ratios (round i against round i), which holds when the machine's speed
# drifts; with a single value each, the plain quotient.
#   awk -F '\t' -f bench/table.awk peer_rows.tsv peers.tsv
function fmt(v) {
	if (v == "-" || v == "") return "-"
	v += 0
	if (v >= 1000) return sprintf("%.0f", v)
	if (v >= 100) return sprintf("%.0f", v)
	if (v >= 10) return sprintf("%.1f", v)
	return sprintf("%.2f", v)
}
function median(a, n,    i, j, t) {
	for (i = 1; i < n; i++) for (j = i; j > 0 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return n % 2 ? a[int(n / 2)] : (a[n / 2 - 1] + a[n / 2]) / 2
}
# paired(FIG, PEER): median of nullrelay_i / PEER_i over the rounds.
function paired(f, p,    x, y, nx, ny, i, n, r) {
	if (!((f, "nullrelay") in raw) || !((f, p) in raw)) return "-"
	nx = split(raw[f, "nullrelay"], x, ","); ny = split(raw[f, p], y, ",")
	n = 0
	if (nx == ny) {
		for (i = 1; i <= nx; i++)
			if (x[i] != "-" && y[i] != "-" && y[i] + 0 > 0) r[n++] = x[i] / y[i]
	} else if (med[f, p] + 0 > 0 && med[f, "nullrelay"] != "-") {
		r[n++] = med[f, "nullrelay"] / med[f, p]
	}
	return n ? sprintf("%.2f", median(r, n)) : "-"
}
FNR == NR { order[++rows] = $1; dir[$1] = $2; lab[$1] = $3; next }
{
	med[$1, $2] = $4; lo[$1, $2] = $5; hi[$1, $2] = $6; cnt[$1, $2] = $7; raw[$1, $2] = $8; unit[$1] = $3
	rounds[$1] = $7 > rounds[$1] ? $7 : rounds[$1]
}
END {
	np = split("nullmailer dma postfix floor nullrelay", peer, " ")
	printf "%-46s", "figure (median [min-max], rounds)"
	for (i = 1; i <= np; i++) printf " %-19s", peer[i]
	printf " %6s %6s %6s %6s\n", "nr/nm", "nr/dma", "nr/pf", "nr/flr"
	for (r = 1; r <= rows; r++) {
		f = order[r]
		printf "%-46s", substr(lab[f], 1, 38) " x" rounds[f] (dir[f] == "hi" ? " ^" : " v")
		for (i = 1; i <= np; i++) {
			p = peer[i]
			if (p == "floor" && !((f, p) in med) && ((f, "floor_libs") in med)) p = "floor_libs"
			if (!((f, p) in med)) { printf " %-19s", "-"; continue }
			c = fmt(med[f, p])
			if (cnt[f, p] > 1) c = c " [" fmt(lo[f, p]) "-" fmt(hi[f, p]) "]"
			printf " %-19s", c
		}
		printf " %6s %6s %6s %6s\n", paired(f, "nullmailer"), paired(f, "dma"), paired(f, "postfix"), paired(f, "floor")
	}
	print "^ = higher is better (nr/peer > 1: nullrelay better); v = lower is better (nr/peer < 1: nullrelay better)"
}
