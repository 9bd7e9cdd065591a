# lib.sh - shared harness for Ferry's integration tests (bash, TAP output).
# Each test runs real ferryd processes on loopback with private state
# directories, fresh keys and their own ports; `ferryd -n` runs before each
# start; the EXIT trap stops only the daemons this test started, by PID.
# SPDX-License-Identifier: GPL-2.0-or-later

set -u
: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
FERRYD=$top_builddir/gateway/ferryd
FERRYCTL=$top_builddir/gateway/ferryctl
FEDPROBE=$top_builddir/tests/tools/fedprobe
# Sanitizer builds: faketime's preload must not upset ASan's link-order check.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

TNAME=$(basename "$0" .sh)
T=$(mktemp -d "/tmp/ferry-$TNAME.XXXXXX")
_n=0
_failed=0
declare -A SITE_PID=()

diag() { printf '# %s\n' "$*"; }

ok() {	# ok DESC CMD...: passes when CMD exits 0
	local d=$1; shift
	_n=$((_n + 1))
	if "$@" >"$T/last.out" 2>&1; then
		echo "ok $_n - $d"
	else
		echo "not ok $_n - $d"
		_failed=$((_failed + 1))
		sed 's/^/#   /' "$T/last.out" | head -n 20
	fi
}

fails() {	# fails DESC CMD...: passes when CMD exits non-zero
	local d=$1; shift
	_n=$((_n + 1))
	if "$@" >"$T/last.out" 2>&1; then
		echo "not ok $_n - $d (command succeeded)"
		_failed=$((_failed + 1))
		sed 's/^/#   /' "$T/last.out" | head -n 20
	else
		echo "ok $_n - $d"
	fi
}

is() {	# is GOT WANT DESC
	_n=$((_n + 1))
	if [ "$1" = "$2" ]; then
		echo "ok $_n - $3"
	else
		echo "not ok $_n - $3"
		_failed=$((_failed + 1))
		printf '#   got:  %s\n#   want: %s\n' "$1" "$2"
	fi
}

like() {	# like TEXT REGEX DESC
	_n=$((_n + 1))
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		echo "ok $_n - $3"
	else
		echo "not ok $_n - $3"
		_failed=$((_failed + 1))
		printf '%s\n' "$1" | head -n 10 | sed 's/^/#   got: /'
		printf '#   want match: %s\n' "$2"
	fi
}

unlike() {	# unlike TEXT REGEX DESC
	_n=$((_n + 1))
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		echo "not ok $_n - $3"
		_failed=$((_failed + 1))
		printf '%s\n' "$1" | grep -E -- "$2" | head -n 5 | sed 's/^/#   matched: /'
	else
		echo "ok $_n - $3"
	fi
}

skip_all() { echo "1..0 # SKIP $*"; rm -rf "$T"; exit 0; }

done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}

# A free TCP port on 127.0.0.1: random, below the kernel's ephemeral range
# (where outgoing connections take theirs), and not in use in any state.
free_port() {
	local p i lo
	lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	[ -n "$lo" ] && [ "$lo" -gt 11000 ] || lo=32768
	for i in $(seq 1 50); do
		p=$((10000 + (RANDOM * 32768 + RANDOM) % (lo - 10000)))
		if ! ss -Htan "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# site_conf NAME [extra config lines...]: write $T/NAME/ferryd.conf
site_conf() {
	local name=$1; shift
	local d=$T/$name port
	mkdir -p "$d"
	port=$(free_port) || { echo "no free port" >&2; return 1; }
	{
		echo "site_name $name"
		echo "listen 127.0.0.1:$port"
		echo "state_dir $d/state"
		echo "admin_socket $d/ferryd.sock"
		echo "pidfile $d/ferryd.pid"
		echo "log_level debug"
		for l in "$@"; do echo "$l"; done
	} >"$d/ferryd.conf"
	echo "$port" >"$d/port"
}

site_port() { cat "$T/$1/port"; }
site_endpoint() { echo "127.0.0.1:$(site_port "$1")"; }

# site_start NAME [WRAPPER...]: check the config, start ferryd -d, wait for it.
site_start() {
	local name=$1; shift
	local d=$T/$name i try port
	"$FERRYD" -n -f "$d/ferryd.conf" || return 1
	for try in 1 2 3 4 5; do
		rm -f "$d/ferryd.pid"
		"$@" "$FERRYD" -d -f "$d/ferryd.conf" >>"$d/ferryd.log" 2>&1 &
		SITE_PID[$name]=$!
		for i in $(seq 1 200); do
			if [ -s "$d/ferryd.pid" ] && [ -S "$d/ferryd.sock" ]; then
				return 0
			fi
			kill -0 "${SITE_PID[$name]}" 2>/dev/null || break
			sleep 0.05
		done
		wait "${SITE_PID[$name]}" 2>/dev/null
		unset "SITE_PID[$name]"
		# Another test on this machine took the port meanwhile: take another
		# (only for loopback sites the harness placed; a fixed address stays).
		if tail -n 3 "$d/ferryd.log" | grep -q "Address already in use" &&
		    grep -q "^listen 127.0.0.1:" "$d/ferryd.conf" &&
		    [ -z "$(sqlite3 -cmd ".timeout 5000" "$d/state/ferry.db" "SELECT 1 FROM peers LIMIT 1" 2>/dev/null)" ]; then
			port=$(free_port) || break
			sed -i "s|^listen .*|listen 127.0.0.1:$port|" "$d/ferryd.conf"
			echo "$port" >"$d/port"
			continue
		fi
		break
	done
	echo "ferryd $name did not start" >&2
	return 1
}

# site_stop NAME [SIGNAL]: stop the daemon we started and wait for it.
site_stop() {
	local name=$1 sig=${2:-TERM} pid i
	pid=${SITE_PID[$name]:-}
	[ -n "$pid" ] || return 0
	kill "-$sig" "$pid" 2>/dev/null
	for i in $(seq 1 200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		echo "ferryd $name did not stop on SIG$sig" >&2
		wait "$pid" 2>/dev/null
		unset "SITE_PID[$name]"
		return 1
	fi
	wait "$pid" 2>/dev/null
	local rc=$?
	unset "SITE_PID[$name]"
	[ "$sig" != TERM ] || [ "$rc" -eq 0 ]
}

# Prefix for site_start: run ferryd with its clock shifted by OFFSET seconds
# ("+120", "-30").  libfaketime is preloaded through env, which execs, so the
# PID we hold is ferryd's own.
FAKETIME_LIB=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -n 1)
have_faketime() { [ -n "$FAKETIME_LIB" ]; }
clock_shift() { echo env LD_PRELOAD="$FAKETIME_LIB" FAKETIME="$1" FAKETIME_DONT_RESET=1; }

ctl() { local name=$1; shift; "$FERRYCTL" -s "$T/$name/ferryd.sock" "$@"; }
probe() { local name=$1; shift; "$FEDPROBE" -f "$T/$name/ferryd.conf" "$@"; }
fp_of() { ctl "$1" --json status | sed -n 's/.*"fingerprint": "\([A-Z2-7-]*\)".*/\1/p' | head -n 1; }
audit_of() { ctl "$1" audit; }
db_of() { echo "$T/$1/state/ferry.db"; }

# pair INVITER JOINER
pair() {
	local inv
	inv=$(ctl "$1" pair invite 2>/dev/null) || return 1
	ctl "$2" pair join "$inv"
}

_stop_guests() {
	local f pid
	for f in "$T"/*/state/vms/*/qemu.pid; do
		[ -s "$f" ] || continue
		pid=$(cat "$f")
		case $pid in *[!0-9]*|'') continue ;; esac
		grep -qs "$T" "/proc/$pid/cmdline" && kill -KILL "$pid" 2>/dev/null
	done
	return 0
}

_cleanup() {
	local name
	for name in "${!SITE_PID[@]}"; do
		kill -TERM "${SITE_PID[$name]}" 2>/dev/null
	done
	sleep 0.2
	for name in "${!SITE_PID[@]}"; do
		kill -KILL "${SITE_PID[$name]}" 2>/dev/null
		wait "${SITE_PID[$name]}" 2>/dev/null
	done
	# QEMU guests the daemons launched outlive them by design: stop ours,
	# found by the pid files in this test's own state directories.
	_stop_guests
	if [ "$_failed" -ne 0 ] || grep -qs "ERROR: AddressSanitizer\|runtime error:" "$T"/*/ferryd.log; then
		for f in "$T"/*/ferryd.log; do
			[ -f "$f" ] || continue
			echo "# --- $f (last 40 lines)"
			tail -n 40 "$f" | sed 's/^/# /'
		done
		echo "# logs kept in $T"
	else
		rm -rf "$T"
	fi
}
trap _cleanup EXIT
trap "exit 143" TERM INT HUP

# Sanitizer reports in any daemon log fail the test.
check_sanitizers() {
	local f bad=""
	for f in "$T"/*/ferryd.log; do
		[ -f "$f" ] || continue
		grep -qs "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$f" && bad="$bad $f"
	done
	is "$bad" "" "no sanitizer reports in daemon logs"
}
