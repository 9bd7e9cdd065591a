#!/bin/bash
# mandoc-lint.sh - lint Ferry's mdoc(7) pages with `mandoc -Tlint -W warning`
# (TAP).  A page fails when mandoc prints anything at warning level or above,
# or exits non-zero.  Skipped when mandoc is not installed.
# SPDX-License-Identifier: GPL-2.0-or-later

set -u
pages=(ferryd.8 ferryctl.8 ferryd.conf.5 ferry-vm.5 ferry-findings.7)

if ! command -v mandoc >/dev/null 2>&1; then
	echo "1..0 # SKIP mandoc not installed"
	exit 0
fi
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"

echo "1..${#pages[@]}"
n=0
failed=0
for page in "${pages[@]}"; do
	n=$((n + 1))
	f=$top_srcdir/man/$page
	if [ ! -r "$f" ]; then
		echo "not ok $n - $page: cannot read $f"
		failed=$((failed + 1))
		continue
	fi
	rc=0
	out=$(mandoc -Tlint -W warning "$f" 2>&1) || rc=$?
	if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
		echo "ok $n - $page"
	else
		echo "not ok $n - $page (mandoc exit $rc)"
		failed=$((failed + 1))
		printf '%s\n' "$out" | sed 's/^/#   /'
	fi
done
[ "$failed" -eq 0 ]
