# wan.sh - two "sites" in network namespaces joined by the user-space WAN
# emulator (tests/tools/wanem), for integration tests and benches (bash).
# Source it; it sets no traps and defines only wan_* functions and WAN_*
# variables.  One link per shell at a time.
#
#   reason=$(wan_can) || skip_all "$reason"    # or exit 77
#   wan_trap                  # wan_down on EXIT, before any existing EXIT trap
#   wan_up t1 --rate 200 --delay 10           # options go to wanem
#   wan_exec a ping -c 3 "$(wan_addr b)"      # wan_addr a|b: 10.77.0.1|2
#   wan_bg b iperf3 -s -1     # background in b; wan_down stops it by PID
#   wan_stats                 # the emulator's JSON counters (fresh)
#   wan_stat ab bytes         # one counter of one direction
#   wan_mark; ...; wan_valid  # no emulator drops since the mark (or wan_up)
#   wan_down                  # WAN_RC: the emulator's exit status
#
# wanem stops by itself after WAN_SECONDS (300): a longer bench passes
# --seconds N to wan_up.
# Namespaces are fy-NAME-PID-a and fy-NAME-PID-b; each holds one TUN device
# fy0, created there by wanem itself (it enters the namespace with setns()
# only to open the device).  Addresses 10.77.0.1/24 (a) and 10.77.0.2/24 (b)
# exist only inside these two namespaces, which have no other route out:
# nothing sent to them can leave the machine.  MTU 1500.  wan_up sets
# tcp_rmem/tcp_wmem max to 64 MiB in both namespaces unless given
# --default-buffers (then they keep what the root namespace has).
# It also tries net.core.rmem_max/wmem_max = 64 MiB there, but this kernel
# refuses those in a child namespace (EINVAL) and wan_up never changes the
# root namespace's: explicit SO_RCVBUF/SO_SNDBUF (iperf3 -w) stay capped at
# the root's 4 MiB; TCP autotuning (tcp_rmem/tcp_wmem) is not capped by it.
# SPDX-License-Identifier: GPL-2.0-or-later

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
WANEM=${WANEM:-$top_builddir/tests/tools/wanem}
WAN_SECONDS=${WAN_SECONDS:-300}	# default lifetime bound passed to wanem
WAN_NET=10.77.0
WAN_DEV=fy0
WAN_TXQLEN=${WAN_TXQLEN:-4000}	# TUN queue the emulator reads from
WAN_NAME=
WAN_NS_A=
WAN_NS_B=
WAN_PID=
WAN_DIR=
WAN_BG_PIDS=()
WAN_MARK=(0 0 0)
WAN_RC=

# wan_can: exit 0 when namespaces and TUN devices can be used; else print
# the reason and return 1.
wan_can() {
	local ns=fy-probe-$$
	[ "$(id -u)" = 0 ] || { echo "not root"; return 1; }
	[ -c /dev/net/tun ] || { echo "no /dev/net/tun"; return 1; }
	command -v ip >/dev/null || { echo "no ip(8)"; return 1; }
	[ -x "$WANEM" ] || { echo "$WANEM not built"; return 1; }
	ip netns add "$ns" 2>/dev/null || { echo "ip netns add fails"; return 1; }
	if ! "$WANEM" --probe --netns-a "$ns" --netns-b "$ns" --tun-a fyp0 --tun-b fyp1 >/dev/null 2>&1; then
		ip netns del "$ns"
		echo "cannot create TUN devices"
		return 1
	fi
	ip netns del "$ns"
}

_wan_ns() {
	case $1 in
	a) echo "$WAN_NS_A" ;;
	b) echo "$WAN_NS_B" ;;
	*) echo "wan: side is a or b, not '$1'" >&2; return 1 ;;
	esac
}

# Is WAN_PID still our emulator?  (A PID that exited can be reused: never
# signal it blindly.)
_wan_emu() {
	[ -n "$WAN_PID" ] && [ -n "$WAN_NS_A" ] &&
	    tr '\0' ' ' <"/proc/$WAN_PID/cmdline" 2>/dev/null | grep -qF -- "--netns-a $WAN_NS_A "
}

# PIDs of the processes inside our two namespaces.
_wan_ns_pids() {
	local ns
	for ns in "$WAN_NS_A" "$WAN_NS_B"; do
		[ -z "$ns" ] || ip netns pids "$ns" 2>/dev/null
	done
}

# Delete namespaces fy-*-PID-[ab] left behind by a shell that no longer
# runs (killed with SIGKILL) and that no process uses any more.
_wan_reap() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^fy-.+-[0-9]+-[ab]$'); do
		pid=${ns%-[ab]}; pid=${pid##*-}
		kill -0 "$pid" 2>/dev/null && continue
		[ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && ip netns del "$ns" 2>/dev/null
	done
	return 0
}

# wan_up NAME [--default-buffers] [wanem options...]: build the two sites
# and start the emulator between them.  Returns non-zero (and cleans up)
# on failure, with the emulator's log on stderr.
wan_up() {
	local name=$1 tune=1 a i ns args=()
	shift
	for a in "$@"; do
		case $a in
		--default-buffers) tune=0 ;;
		*) args+=("$a") ;;
		esac
	done
	[ -z "$WAN_PID" ] || { echo "wan_up: link $WAN_NAME is already up" >&2; return 1; }
	_wan_reap
	WAN_MARK=(0 0 0)
	WAN_RC=
	WAN_NAME=$name
	WAN_NS_A=fy-$name-$$-a
	WAN_NS_B=fy-$name-$$-b
	WAN_DIR=$(mktemp -d "/tmp/ferry-wan-$name.XXXXXX") || return 1
	for ns in "$WAN_NS_A" "$WAN_NS_B"; do
		ip netns add "$ns" || { wan_down; return 1; }
		ip -n "$ns" link set lo up
		if [ "$tune" = 1 ]; then
			ip netns exec "$ns" sysctl -qw net.ipv4.tcp_rmem="4096 131072 67108864" \
			    net.ipv4.tcp_wmem="4096 16384 67108864" || { wan_down; return 1; }
			ip netns exec "$ns" sysctl -qw net.core.rmem_max=67108864 \
			    net.core.wmem_max=67108864 2>/dev/null || :
		fi
	done
	"$WANEM" --netns-a "$WAN_NS_A" --netns-b "$WAN_NS_B" --tun-a "$WAN_DEV" --tun-b "$WAN_DEV" \
	    --pidfile "$WAN_DIR/wanem.pid" --stats "$WAN_DIR/stats.json" --seconds "$WAN_SECONDS" \
	    "${args[@]}" >"$WAN_DIR/wanem.log" 2>&1 &
	WAN_PID=$!
	for i in $(seq 1 100); do
		[ -s "$WAN_DIR/wanem.pid" ] && break
		kill -0 "$WAN_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$WAN_DIR/wanem.pid" ]; then
		echo "wan_up: wanem did not start:" >&2
		cat "$WAN_DIR/wanem.log" >&2
		wan_down
		return 1
	fi
	ip -n "$WAN_NS_A" addr add "$WAN_NET.1/24" dev "$WAN_DEV" &&
	ip -n "$WAN_NS_B" addr add "$WAN_NET.2/24" dev "$WAN_DEV" &&
	ip -n "$WAN_NS_A" link set "$WAN_DEV" mtu 1500 txqueuelen "$WAN_TXQLEN" up &&
	ip -n "$WAN_NS_B" link set "$WAN_DEV" mtu 1500 txqueuelen "$WAN_TXQLEN" up || { wan_down; return 1; }
}

wan_addr() {
	case $1 in
	a) echo "$WAN_NET.1" ;;
	b) echo "$WAN_NET.2" ;;
	*) echo "wan: side is a or b, not '$1'" >&2; return 1 ;;
	esac
}

# wan_exec SIDE CMD...: run CMD inside site SIDE's namespace.
wan_exec() {
	local ns
	ns=$(_wan_ns "$1") || return 1
	shift
	ip netns exec "$ns" "$@"
}

# wan_bg SIDE CMD...: start CMD in the background inside SIDE; its PID
# (ip netns exec execs CMD, so it is CMD's own) is in WAN_BG_PID and is
# stopped by wan_down if still running.
wan_bg() {
	local ns
	ns=$(_wan_ns "$1") || return 1
	shift
	ip netns exec "$ns" "$@" &
	WAN_BG_PID=$!
	WAN_BG_PIDS+=("$WAN_BG_PID")
}

# wan_stats: ask the emulator for fresh counters and print the JSON line.
wan_stats() {
	local i
	[ -n "$WAN_PID" ] || { echo "wan_stats: no link" >&2; return 1; }
	rm -f "$WAN_DIR/stats.json"
	_wan_emu && kill -USR1 "$WAN_PID" 2>/dev/null || { echo "wan_stats: wanem is gone" >&2; return 1; }
	for i in $(seq 1 100); do
		[ -s "$WAN_DIR/stats.json" ] && { cat "$WAN_DIR/stats.json"; return 0; }
		sleep 0.02
	done
	echo "wan_stats: no answer from wanem" >&2
	return 1
}

# wan_stat DIR KEY [JSON]: one counter ("ab" or "ba", e.g. loss_drops).
wan_stat() {
	local j=${3:-}
	[ -n "$j" ] || j=$(wan_stats) || return 1
	printf '%s\n' "$j" | sed -n "s/.*\"$1\":{[^}]*\"$2\":\([0-9]*\).*/\1/p"
}

# wan_valid: 0 when, since wan_up (or the last wan_mark), the emulator
# dropped nothing itself (ring overflow, TUN write error) and neither TUN
# device dropped a packet the emulator was too slow to read (tx_dropped).
# Prints the offending counters otherwise.
wan_valid() {
	local j emu txa txb
	j=$(wan_stats) || return 1
	emu=$(printf '%s\n' "$j" | sed -n 's/^{"emu_drops":\([0-9]*\),.*/\1/p')
	txa=$(wan_exec a cat "/sys/class/net/$WAN_DEV/statistics/tx_dropped")
	txb=$(wan_exec b cat "/sys/class/net/$WAN_DEV/statistics/tx_dropped")
	emu=$((${emu:-999999999} - WAN_MARK[0]))
	txa=$((${txa:-999999999} - WAN_MARK[1]))
	txb=$((${txb:-999999999} - WAN_MARK[2]))
	if [ "$emu" = 0 ] && [ "$txa" = 0 ] && [ "$txb" = 0 ]; then
		return 0
	fi
	echo "wan_valid: emu_drops=$emu tx_dropped a=$txa b=$txb"
	echo "$j"
	return 1
}

# wan_mark: let the next wan_valid count only drops from now on (for
# several measurements on one link).
wan_mark() {
	local j
	j=$(wan_stats) || return 1
	WAN_MARK=("$(printf '%s\n' "$j" | sed -n 's/^{"emu_drops":\([0-9]*\),.*/\1/p')"
	    "$(wan_exec a cat "/sys/class/net/$WAN_DEV/statistics/tx_dropped")"
	    "$(wan_exec b cat "/sys/class/net/$WAN_DEV/statistics/tx_dropped")")
}

# wan_down: stop the emulator and every process left in the two namespaces
# (by PID), delete the namespaces and the work directory.  Safe to call twice or after a
# failed wan_up.  Sets WAN_RC to the emulator's exit status (0 after an
# orderly stop; 99 when its log has a sanitizer report) and prints its log
# when that is not 0.  WAN_KEEP=1 keeps the directory (log, stats).
wan_down() {
	local p i
	# Everything still running inside the two namespaces was started by this
	# shell (wan_exec, wan_bg): a foreground client interrupted by a signal
	# would otherwise outlive the test.  PIDs come from the namespaces
	# themselves, never from a list that a reused PID could have joined.
	for p in $(_wan_ns_pids); do
		kill -TERM "$p" 2>/dev/null
	done
	if [ -n "$WAN_PID" ]; then
		if _wan_emu; then
			kill -TERM "$WAN_PID" 2>/dev/null
			kill -CONT "$WAN_PID" 2>/dev/null	# in case a test stopped it
			for i in $(seq 1 100); do
				_wan_emu || break
				sleep 0.05
			done
			_wan_emu && kill -KILL "$WAN_PID" 2>/dev/null
		fi
		wait "$WAN_PID" 2>/dev/null
		WAN_RC=$?
		if grep -qs "Sanitizer\|runtime error:" "$WAN_DIR/wanem.log"; then
			WAN_RC=99
		fi
		if [ "$WAN_RC" != 0 ]; then
			echo "wan_down: wanem exited with status $WAN_RC:" >&2
			tail -n 30 "$WAN_DIR/wanem.log" | sed 's/^/# /' >&2
		fi
	fi
	for i in $(seq 1 40); do	# up to 2 s for the rest to exit on SIGTERM
		[ -z "$(_wan_ns_pids)" ] && break
		sleep 0.05
	done
	for p in $(_wan_ns_pids); do
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${WAN_BG_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	WAN_BG_PIDS=()
	WAN_PID=
	[ -z "$WAN_NS_A" ] || ip netns del "$WAN_NS_A" 2>/dev/null
	[ -z "$WAN_NS_B" ] || ip netns del "$WAN_NS_B" 2>/dev/null
	WAN_NS_A= WAN_NS_B=
	if [ -n "$WAN_DIR" ] && [ "${WAN_KEEP:-0}" != 1 ]; then
		rm -rf "$WAN_DIR"
	fi
	WAN_DIR=
	return 0
}

# wan_log: the emulator's stderr so far (for diagnostics on failure).
wan_log() { [ -n "$WAN_DIR" ] && cat "$WAN_DIR/wanem.log"; }

# wan_trap: run wan_down on EXIT, then whatever EXIT trap was set before
# (lib.sh's _cleanup).  Call it after sourcing lib.sh; a trap set later
# replaces it, so a test that sets its own must call wan_down itself.
wan_trap() {
	local prev
	eval "prev=( $(trap -p EXIT) )"	# trap -- 'CMD' EXIT
	_WAN_PREV_TRAP=${prev[2]:-}
	trap 'wan_down; eval "$_WAN_PREV_TRAP"' EXIT
}
