# readme_block HEADING-PREFIX [N]: the N-th (default 1) ```conf block under the
# README.md heading that starts with HEADING-PREFIX (up to the next heading),
# so a recipe's test runs the very text a newcomer copies.
readme_block() {
	awk -v h="$1" -v want="${2:-1}" '
		index($0, h) == 1 { on = 1; next }
		on && /^##/ { exit }
		on && /^```conf$/ { n++; inb = (n == want); next }
		on && /^```$/ { if (inb) exit; next }
		inb { print }
	' "$TOP/README.md"
}
