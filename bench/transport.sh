#!/bin/bash
# bench/transport.sh [BUILDDIR] - Ferry's transport against peers on the same
# emulated WAN links, in the same run (not part of make check).
#
# Profiles (tests/tools/wanem between two network namespaces, 1 Gbit/s):
#   a  20 ms RTT, 0% loss          b  100 ms RTT, 0.1% loss
#   c  100 ms RTT, 1% loss         d  100 ms RTT, 0% loss, default kernel buffers
# On each: Ferry (ferryctl link test: every byte verified at the far end by
# XXH3-128, TLS 1.3, checksummed chunks), iperf3 -P1 and -P8 with cubic and
# bbr (plain TCP, no encryption: the raw ceiling), and socat + OpenSSL (one
# TLS stream).  Each runs SECS seconds (default 20; Ferry also stops at 2 GiB).
# Prints goodput at the receiver, the ratio to the link's payload ceiling
# (965 Mbit/s at MTU 1500), CPU seconds per GiB at each end, the packets the
# emulated bottleneck queue dropped during the run (both directions: what
# the senders overran it by; random loss not included), the emulator's own
# drop counter (a run is valid only when it is 0), and Ferry / best peer.
# The emulator must be built: make -C BUILDDIR tests/tools/wanem.
# Needs root, iperf3, socat, openssl, python3.  PROFILES="a b" and
# TOOLS="ferry iperf3 socat" limit the run; FERRY_STREAMS=N fixes Ferry's
# stream count, FERRY_CONF adds ferryd.conf lines (\n between them).
set -u
B=$(cd "${1:-$(dirname "$0")/../build}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
SECS=${SECS:-20}
PROFILES=${PROFILES:-"a b c d"}
TOOLS=${TOOLS:-"ferry iperf3 socat"}
export top_builddir=$B top_srcdir=$SRC
. "$SRC/tests/integration/wan.sh"
reason=$(wan_can) || { echo "bench/transport.sh: $reason" >&2; exit 77; }
wan_trap
D=$(mktemp -d /tmp/ferry-bench-tp.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wan_down; rm -rf "$D"' EXIT
CEIL=965
TICK=$(getconf CLK_TCK)

cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

profile_args() {
	case $1 in
	a) echo "--rate 1000 --delay 10" ;;
	b) echo "--rate 1000 --delay 50 --loss 0.1" ;;
	c) echo "--rate 1000 --delay 50 --loss 1" ;;
	d) echo "--default-buffers --rate 1000 --delay 50" ;;
	esac
}

start_ferryd() {	# start_ferryd SIDE
	local d=$D/$1 i
	mkdir -p "$d"
	printf 'site_name %s\nlisten %s:7443\nstate_dir %s/state\nadmin_socket %s/sock\npidfile %s/pid\nlog_level warning\n' \
		"$1" "$(wan_addr "$1")" "$d" "$d" "$d" >"$d/conf"
	[ -z "${FERRY_CONF:-}" ] || printf '%b\n' "$FERRY_CONF" >>"$d/conf"	# e.g. "transport_congestion cubic"
	wan_bg "$1" "$B/gateway/ferryd" -d -f "$d/conf"
	PIDS+=("$WAN_BG_PID")
	eval "FERRYD_$1=$WAN_BG_PID"
	for i in $(seq 100); do [ -S "$d/sock" ] && return 0; sleep 0.05; done
	return 1
}
ctl() { local s=$1; shift; "$B/gateway/ferryctl" -s "$D/$s/sock" "$@"; }

# Bottleneck queue drops so far, both directions.
qdrops() {
	local j
	j=$(wan_stats 2>/dev/null) || { echo 0; return; }
	echo $(($(wan_stat ab queue_drops "$j") + $(wan_stat ba queue_drops "$j")))
}
mark() { wan_mark; Q0=$(qdrops); }

row() {	# row PROFILE TOOL MBIT CPU_SEND CPU_RECV VALID
	printf '%-3s %-22s %9.1f %7.3f %10.2f %10.2f %8s %6s\n' "$1" "$2" "$3" "$(awk -v g="$3" -v c=$CEIL 'BEGIN{print g/c}')" "$4" "$5" \
	    "$(($(qdrops) - Q0))" "$6"
	echo "$1|$2|$3" >>"$D/results"
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$D/k.pem" -out "$D/c.pem" \
	-days 1 -subj /CN=bench 2>/dev/null
cat "$D/c.pem" "$D/k.pem" >"$D/srv.pem"
head -c $((256 << 20)) /dev/urandom >"$D/random"

printf '\nTransport goodput on emulated 1 Gbit/s links, %s s per run (ceiling %s Mbit/s)\n' "$SECS" "$CEIL"
printf '%-3s %-22s %9s %7s %10s %10s %8s %6s\n' "" "tool" "Mbit/s" "/ceil" "CPUs/GiB tx" "CPUs/GiB rx" "qdrops" "valid"
for p in $PROFILES; do
	# shellcheck disable=SC2046
	wan_up "bench$p" $(profile_args "$p") || { echo "profile $p: link did not come up" >&2; continue; }
	start_ferryd a && start_ferryd b || { echo "profile $p: ferryd did not start" >&2; wan_down; continue; }
	ctl b pair join "$(ctl a pair invite 2>/dev/null)" >/dev/null || { echo "pairing failed" >&2; wan_down; continue; }

	# Ferry: initiator b sends to a.
	mark
	ca=$(cpu_of "$FERRYD_a"); cb=$(cpu_of "$FERRYD_b")
	j=$(ctl b --json link test a --seconds "$SECS" --bytes 2G --streams "${FERRY_STREAMS:-auto}")
	ca2=$(cpu_of "$FERRYD_a"); cb2=$(cpu_of "$FERRYD_b")
	[ -z "${VERBOSE:-}" ] || printf '%s\n' "$j" >&2
	g=$(printf '%s' "$j" | sed -n 's/.*"goodput_mbit": \([0-9.]*\).*/\1/p')
	bytes=$(printf '%s' "$j" | sed -n 's/.*"bytes": \([0-9]*\).*/\1/p')
	ver=$(printf '%s' "$j" | grep -q '"verified": true' && echo yes || echo NO)
	st=$(printf '%s' "$j" | sed -n 's/.*"streams": \([0-9]*\).*/\1/p')
	gib=$(awk -v b="${bytes:-0}" 'BEGIN{print (b > 0 ? b / 1073741824 : 1)}')
	v=$(wan_valid >/dev/null 2>&1 && echo yes || echo NO)
	row "$p" "ferry ($st streams, $ver)" "${g:-0}" "$(awk -v c=$((cb2 - cb)) -v t="$TICK" -v g="$gib" 'BEGIN{print c/t/g}')" \
	    "$(awk -v c=$((ca2 - ca)) -v t="$TICK" -v g="$gib" 'BEGIN{print c/t/g}')" "$v"
	kill "$FERRYD_a" "$FERRYD_b" 2>/dev/null; wait "$FERRYD_a" "$FERRYD_b" 2>/dev/null

	# iperf3, raw TCP: the ceiling without encryption.
	for cc in cubic bbr; do
		case " $TOOLS " in *" iperf3 "*) ;; *) continue ;; esac
		for n in 1 8; do
			mark
			wan_bg b iperf3 -s -1 -p 5201 >/dev/null 2>&1
			sleep 0.3
			j=$(wan_exec a iperf3 -c "$(wan_addr b)" -p 5201 -t "$SECS" -P "$n" -C "$cc" -J 2>/dev/null)
			wait "$WAN_BG_PID" 2>/dev/null
			g=$(printf '%s' "$j" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["end"]["sum_received"]["bits_per_second"]/1e6)' 2>/dev/null || echo 0)
			by=$(printf '%s' "$j" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["end"]["sum_received"]["bytes"])' 2>/dev/null || echo 1)
			ct=$(printf '%s' "$j" | python3 -c 'import json,sys; d=json.load(sys.stdin); c=d["end"]["cpu_utilization_percent"]; print(c["host_total"], c["remote_total"])' 2>/dev/null || echo "0 0")
			v=$(wan_valid >/dev/null 2>&1 && echo yes || echo NO)
			row "$p" "iperf3 -P$n $cc" "$g" "$(awk -v c="${ct% *}" -v s="$SECS" -v b="$by" 'BEGIN{print c/100*s/(b/1073741824)}')" \
			    "$(awk -v c="${ct#* }" -v s="$SECS" -v b="$by" 'BEGIN{print c/100*s/(b/1073741824)}')" "$v"
		done
	done

	# socat + OpenSSL: one TLS 1.3 stream of random data, counted at the receiver.
	case " $TOOLS " in *" socat "*) ;; *) wan_down; rm -rf "$D/a" "$D/b"; continue ;; esac
	mark
	rm -f "$D/count"
	wan_bg b bash -c "TIMEFORMAT='%U %S'; { time socat -u OPENSSL-LISTEN:5300,reuseaddr,cert=$D/srv.pem,verify=0 STDOUT | wc -c >$D/count; } 2>$D/cpu_rx"
	sleep 0.5
	wan_exec a timeout "$SECS" bash -c "while :; do cat $D/random; done | socat -u STDIN OPENSSL:$(wan_addr b):5300,verify=0"
	wait "$WAN_BG_PID" 2>/dev/null
	by=$(cat "$D/count" 2>/dev/null || echo 0)
	g=$(awk -v b="$by" -v s="$SECS" 'BEGIN{print b*8/s/1e6}')
	gib=$(awk -v b="$by" 'BEGIN{print (b > 0 ? b/1073741824 : 1)}')
	v=$(wan_valid >/dev/null 2>&1 && echo yes || echo NO)
	# The sender is killed by timeout, so its CPU is not accounted: shown as 0.
	row "$p" "socat+openssl (TLS)" "$g" "0" \
	    "$(awk -v g="$gib" '{print ($1+$2)/g}' "$D/cpu_rx" 2>/dev/null | tail -n 1)" "$v"
	wan_down
	rm -rf "$D/a" "$D/b"
done
printf '\nFerry / best peer on each profile:\n'
for p in $PROFILES; do
	awk -F'|' -v p="$p" '$1 == p { if ($2 ~ /^ferry/) f = $3; else if ($3 > b) { b = $3; bn = $2 } }
	    END { if (b > 0) printf "  %s: %.2f (best peer %s, %.0f Mbit/s)\n", p, f / b, bn, b }' "$D/results"
done
