#!/bin/bash
# The migration test guest (tests/guest) under QEMU with TCG: it boots and
# beats; a paused guest's RAM passes guestcheck and a one-byte change fails
# it, naming the page; QEMU measures a dirty rate that follows mkguest's
# --spin; QEMU's own migration to a second QEMU (-incoming defer -S, unix
# socket) leaves the same range on both sides, consistent on both, and the
# destination carries on counting; mkguest refuses bad values.
# Only the QEMU processes this test starts are stopped, by PID.
. "$(dirname "$0")/lib.sh"

QEMU=${QEMU:-qemu-system-x86_64}
command -v "$QEMU" >/dev/null || skip_all "$QEMU not installed"
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || skip_all "python3 not installed"
GDIR=$top_builddir/tests/guest
MKGUEST=$GDIR/mkguest
GUESTCHECK=$GDIR/guestcheck
TEMPLATE=$GDIR/guest.bin
for f in "$MKGUEST" "$GUESTCHECK" "$TEMPLATE"; do
	[ -e "$f" ] || { echo "Bail out! $f not built (make check builds it)"; exit 1; }
done
MEM=128				# MiB, the guests' -m
START=1 END=100			# MiB, mkguest's default range
RANGE_BYTES=$(((END - START) << 20))

declare -A QEMU_PID=()

# qemu_args NAME IMG: the command line, one word a line (ferryd's tests
# start the guest the same way).
qemu_args() {
	printf '%s\n' "$QEMU" -nodefaults -no-user-config -machine pc -accel tcg \
	    -m "$MEM" -smp 1 -display none -name "ferry-guest-$1" \
	    -drive "file=$2,format=raw,if=floppy,readonly=on" \
	    -serial "file:$T/$1.serial" -qmp "unix:$T/$1.qmp,server=on,wait=off"
}

# qemu_start NAME IMG [ARGS...]: start QEMU and wait (<= 10 s) for its QMP socket.
qemu_start() {
	local name=$1 img=$2 i argv
	shift 2
	rm -f "$T/$name.qmp" "$T/$name.serial"
	mapfile -t argv < <(qemu_args "$name" "$img")
	"${argv[@]}" "$@" >"$T/$name.log" 2>&1 &
	QEMU_PID[$name]=$!
	for i in $(seq 1 200); do
		[ -S "$T/$name.qmp" ] && return 0
		kill -0 "${QEMU_PID[$name]}" 2>/dev/null || break
		sleep 0.05
	done
	echo "QEMU $name did not start:" >&2
	cat "$T/$name.log" >&2
	return 1
}

# qemu_stop NAME: quit through QMP, wait (<= 5 s), else SIGKILL.
qemu_stop() {
	local name=$1 pid i
	pid=${QEMU_PID[$name]:-}
	[ -n "$pid" ] || return 0
	qmp "$name" quit >/dev/null 2>&1
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset "QEMU_PID[$name]"
}

# A QMP client: qmp NAME COMMAND [JSON-ARGUMENTS] prints the command's
# "return" as JSON (exit 1 and the error's description on an error).
cat >"$T/qmp.py" <<'EOF'
import json, socket, sys
path, cmd = sys.argv[1], sys.argv[2]
args = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
s.connect(path)
f = s.makefile("rwb", buffering=0)
def reply():
    while True:
        line = f.readline()
        if not line:
            if cmd == "quit":
                sys.exit(0)
            sys.exit("qmp %s: connection closed" % cmd)
        m = json.loads(line)
        if "event" not in m:
            return m
json.loads(f.readline())
for c, a in (("qmp_capabilities", None), (cmd, args)):
    req = {"execute": c}
    if a is not None:
        req["arguments"] = a
    f.write((json.dumps(req) + "\n").encode())
    m = reply()
    if "error" in m:
        sys.exit("qmp %s: %s" % (c, m["error"].get("desc")))
print(json.dumps(m["return"]))
EOF
qmp() { local name=$1; shift; "$PY" "$T/qmp.py" "$T/$name.qmp" "$@"; }
# json_get JSON KEY.KEY...: one value ("" when absent).
json_get() {
	"$PY" -c 'import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("" if v is None else str(v).lower() if isinstance(v, bool) else v)' "$1" "$2"
}

# wait_serial NAME REGEX SECONDS: wait until the guest printed a matching line.
wait_serial() {
	local i n=$(($3 * 20))
	for i in $(seq 1 "$n"); do
		grep -aEq -- "$2" "$T/$1.serial" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
# last_hb NAME: the last heartbeat count, in decimal (-1 if none).
hb_lines() { grep -a '^HB [0-9a-f]\{8\}$' "$T/$1.serial" 2>/dev/null; }
hb_dec() { local h; read -r _ h || { echo -1; return; }; echo $((16#$h)); }
last_hb() { hb_lines "$1" | tail -n 1 | hb_dec; }
hb_count() { hb_lines "$1" | wc -l; }
# hb_seq FILE...: the heartbeats in FILEs, concatenated, count 1, 2, ... N
# with no gap or repeat (a line cut at the switch-over is completed by the
# destination).  Prints N, or where the sequence breaks.
hb_seq() {
	cat "$@" | grep -a '^HB [0-9a-f]\{8\}$' | awk '
		{ v = 0; h = tolower($2)
		  for (i = 1; i <= 8; i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
		  if (v != NR) { printf "line %d: HB %s, want %d\n", NR, $2, NR; bad = 1; exit 1 } }
		END { if (!bad) print NR }'
}

# dirty_rate_start NAME, then dirty_rate NAME: QEMU's page-sampling
# estimate over 1 s, in MB/s.
dirty_rate_start() {
	qmp "$1" calc-dirty-rate '{"calc-time": 1, "sample-pages": 4096, "mode": "page-sampling"}' >/dev/null
}
dirty_rate() {
	local i j st
	for i in $(seq 1 50); do
		j=$(qmp "$1" query-dirty-rate) || return 1
		st=$(json_get "$j" status)
		if [ "$st" = measured ]; then
			json_get "$j" dirty-rate
			return 0
		fi
		sleep 0.1
	done
	echo "query-dirty-rate still $st" >&2
	return 1
}

# pmemsave NAME FILE [ADDR SIZE]: dump guest memory (default all RAM).
pmemsave() {
	qmp "$1" pmemsave "{\"val\": ${3:-0}, \"size\": ${4:-$((MEM << 20))}, \"filename\": \"$2\"}" >/dev/null
}

# poke FILE OFFSET BYTE: overwrite one byte (BYTE in decimal) of a dump.
poke() { printf "$(printf '\\%03o' "$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
peek() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
sha_of() { sed -n 's/^sha256 \([0-9a-f]\{64\}\) .*/\1/p' <<<"$1"; }

guest_cleanup() {
	local name f
	for name in "${!QEMU_PID[@]}"; do
		kill -TERM "${QEMU_PID[$name]}" 2>/dev/null
	done
	for name in "${!QEMU_PID[@]}"; do
		for f in $(seq 1 40); do
			kill -0 "${QEMU_PID[$name]}" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "${QEMU_PID[$name]}" 2>/dev/null
		wait "${QEMU_PID[$name]}" 2>/dev/null
	done
	rm -f "$T"/*.dump
	if [ "$_failed" -ne 0 ]; then
		for f in "$T"/*.log "$T"/*.serial; do
			[ -f "$f" ] || continue
			echo "# --- $f (last 10 lines)"
			tail -n 10 "$f" | sed 's/^/# /'
		done
	fi
	_cleanup
}
trap guest_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
t_start=$(date +%s%N)

# mkguest: values that make no guest are refused, naming the option (exit 2).
rejects() {	# rejects DESC REGEX MKGUEST-ARGS...
	local d=$1 re=$2 rc
	shift 2
	"$MKGUEST" -o "$T/bad.img" "$@" "$TEMPLATE" >"$T/mk.out" 2>&1
	rc=$?
	like "rc=$rc $(cat "$T/mk.out")" "^rc=2 mkguest: $re" "mkguest refuses $d"
}
rejects "start >= end" "--end 50: must be above --start \(50\)" --start 50 --end 50
rejects "an end beyond memory" "--end 120: beyond guest memory: at most 111 MiB with --mem 128" --end 120
rejects "an end beyond a small --mem" "--end 60: beyond guest memory: at most 47 MiB with --mem 64" --mem 64 --end 60
rejects "a misaligned start" "--start 1030k: not a multiple of 4 KiB" --start 1030k
rejects "a start in the BIOS's first MiB" "--start 0: below 1 MiB" --start 0
rejects "a non-number" "--end ten: not a number" --end ten
rejects "a non-number spin" "--spin 1e3: not a whole number" --spin 1e3
rejects "zero heartbeat pages" "--hb-pages 0: not a whole number in \[1, " --hb-pages 0
ok "refused values leave no image" test ! -e "$T/bad.img"
fails "mkguest refuses a file that is not the template" "$MKGUEST" -o "$T/bad.img" /etc/hostname
ok "mkguest writes a fast guest (defaults)" "$MKGUEST" -o "$T/fast.img" "$TEMPLATE"
ok "and a tiny one (1 MiB)" "$MKGUEST" -o "$T/tiny.img" --start 1 --end 2 --spin 20000 --hb-pages 64 "$TEMPLATE"
is "$(od -An -tx1 -j 448 -N 24 "$T/tiny.img" | tr -d ' \n')" \
    "4659475545535431""00001000""00002000""204e0000""40000000" "the parameter block holds the values"
is "$(cmp "$T/fast.img" "$TEMPLATE" && echo same)" same "the template carries mkguest's defaults"

# guestcheck on made-up dumps of 16 pages at 1 MiB (--offset 1): FIRSTS
# are the pages' first bytes.
synth() {	# synth FILE FIRST...
	local f=$1
	shift
	"$PY" -c 'import sys
b = bytearray(16 * 4096)
for i, v in enumerate(sys.argv[2:]):
    b[i * 4096] = int(v, 0)
open(sys.argv[1], "wb").write(b)' "$f" "$@"
}
gc16() { "$GUESTCHECK" --start 1024k --end 1088k --offset 1 "$@"; }
synth "$T/s.dump" 0 0 0 0 0 0xff 0xff 0xff 0xff 0xff 0xff 0xff 0xff 0xff 0xff 0xff
like "$(gc16 "$T/s.dump")" "OK 16 pages: 0x00 below 0x00105000, 0xff from there" "guestcheck: the edge may wrap (0x00 then 0xff)"
synth "$T/s.dump" 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7
like "$(gc16 "$T/s.dump")" "OK 16 pages: all 0x07" "all equal is consistent (between sweeps)"
synth "$T/s.dump" 5 5 5 5 4 4 4 4 3 3 3 3 3 3 3 3
fails "two edges are not" gc16 "$T/s.dump"
like "$(cat "$T/last.out")" "BAD page 0x00108000: .* a second sweep edge \(the first at 0x00104000\)" "and guestcheck says where both are"
synth "$T/s.dump" 5 5 5 5 3 3 3 3 3 3 3 3 3 3 3 3
fails "a step of two is not" gc16 "$T/s.dump"
synth "$T/s.dump" 5 5 5 5 6 6 6 6 6 6 6 6 6 6 6 6
fails "a step up is not" gc16 "$T/s.dump"
like "$(cat "$T/last.out")" "BAD page 0x00104000: first byte 0x06 after 0x05" "naming the page"
gc16 --end 2 "$T/s.dump" >/dev/null 2>&1
is $? 2 "a dump shorter than the range is a usage error (exit 2)"

# Boot: READY, then heartbeats whose count goes up.
qemu_start src "$T/fast.img" || { echo "Bail out! QEMU did not start"; exit 1; }
diag "$(qemu_args src "$T/fast.img" | tr '\n' ' ')"
ok "the guest says READY within 10 s" wait_serial src '^FERRY-GUEST READY$' 10
ok "and beats within 10 s" wait_serial src '^HB 00000002$' 10
cp "$T/src.serial" "$T/snap.serial"; t1=$(date +%s%N)
h1=$(last_hb snap) n1=$(hb_count snap)
sleep 1
cp "$T/src.serial" "$T/snap.serial"; t2=$(date +%s%N)
h2=$(last_hb snap) n2=$(hb_count snap)
[ "$h2" -gt "$h1" ]; is $? 0 "the heartbeat count goes up ($h1 -> $h2)"
is "$((h2 - h1))" "$((n2 - n1))" "by one per line"
[ "$n2" -gt "$n1" ] && diag "heartbeat every $(( (t2 - t1) / 1000000 / (n2 - n1) )) ms (--hb-pages 256)"

# QEMU's dirty rate: a guest that sweeps 1 MiB cannot dirty more than
# 1 MiB a second, however much CPU it gets, while the default guest does
# 50-100 MB/s on an idle machine.  (Comparing two --spin values is at the
# mercy of the scheduler: on a loaded machine 5x the spin measured 9 MB/s
# against 16.)  Both guests are measured over the same second.
qemu_start tiny "$T/tiny.img" || { echo "Bail out! QEMU did not start"; exit 1; }
ok "the tiny guest beats" wait_serial tiny '^HB 00000001$' 10
ok "calc-dirty-rate (default guest)" dirty_rate_start src
ok "calc-dirty-rate (tiny guest)" dirty_rate_start tiny
sleep 1
fast=$(dirty_rate src)
tiny=$(dirty_rate tiny)
[ "${fast:-0}" -gt 0 ]; is $? 0 "QEMU measures a dirty rate (${fast:-none} MB/s)"
like "${tiny:-none}" "^[0-9]+$" "and one for the tiny guest (${tiny:-none} MB/s)"
[ "${fast:-0}" -gt $((2 * ${tiny:-0})) ]; is $? 0 "the 99 MiB range dirties more than twice as fast"
qemu_stop tiny

# Paused: the heartbeats stop, and RAM passes guestcheck.
ok "stop" qmp src stop
n1=$(hb_count src)
sleep 0.3
is "$(hb_count src)" "$n1" "a stopped guest does not beat"
ok "pmemsave of all RAM" pmemsave src "$T/ram.dump"
ok "guestcheck passes the paused guest's RAM" "$GUESTCHECK" "$T/ram.dump"
out=$(cat "$T/last.out")
like "$out" "^sha256 [0-9a-f]{64}  0x00100000-0x06400000" "and prints the range's SHA-256"
like "$out" "OK 25344 pages: 0x[0-9a-f]{2} (below 0x[0-9a-f]{8}, 0x[0-9a-f]{2} from there|all)" "and where the sweep was"
sha0=$(sha_of "$out")
is "$(dd if="$T/ram.dump" bs=1M skip="$START" count=$((END - START)) status=none | sha256sum | cut -c1-64)" \
    "$sha0" "the SHA-256 is the range's"
is "$(sha_of "$("$GUESTCHECK" --hash-only "$T/ram.dump")")" "$sha0" "--hash-only prints the same"

# One byte changed: guestcheck names the page.
victim=$((0x3000000))
b=$(peek "$T/ram.dump" $victim)
poke "$T/ram.dump" $victim $(((b + 128) % 256))
fails "a changed first byte fails guestcheck" "$GUESTCHECK" "$T/ram.dump"
like "$(cat "$T/last.out")" "^BAD page 0x03000000: first byte " "naming the page"
poke "$T/ram.dump" $victim "$b"
poke "$T/ram.dump" $((0x4000123)) 90
fails "a byte the guest never writes fails it" "$GUESTCHECK" "$T/ram.dump"
like "$(cat "$T/last.out")" "^BAD page 0x04000000: byte 0x123 is 0x5a" "naming the page and the byte"
poke "$T/ram.dump" $((0x4000123)) 0
is "$(sha_of "$("$GUESTCHECK" "$T/ram.dump")")" "$sha0" "restored, the dump passes again"

# QEMU's own migration to a second QEMU, paused on arrival (-S).
ok "cont" qmp src cont
qemu_start dst "$T/fast.img" -incoming defer -S || { echo "Bail out! QEMU did not start"; exit 1; }
ok "destination listens" qmp dst migrate-incoming "{\"uri\": \"unix:$T/mig.sock\"}"
ok "source: max-bandwidth 10 GiB/s" qmp src migrate-set-parameters '{"max-bandwidth": 10737418240}'
ok "migrate" qmp src migrate "{\"uri\": \"unix:$T/mig.sock\"}"
st=""
for i in $(seq 1 300); do	# <= 30 s
	j=$(qmp src query-migrate) || break
	st=$(json_get "$j" status)
	case $st in completed|failed|cancelled) break ;; esac
	sleep 0.1
done
is "$st" completed "the migration completes (within 30 s)"
j=$(qmp src query-migrate)
sent=$(json_get "$j" ram.transferred)
diag "total $(json_get "$j" total-time) ms, downtime $(json_get "$j" downtime) ms," \
    "$(( ${sent:-0} >> 20 )) MiB sent, $(json_get "$j" ram.dirty-sync-count) syncs"
is "$(json_get "$(qmp src query-status)" status)" postmigrate "the source is paused (postmigrate)"
is "$(json_get "$(qmp dst query-status)" running)" false "the destination waits (-S)"
hb_src=$(last_hb src)

ok "pmemsave at the source" pmemsave src "$T/src.dump"
ok "pmemsave at the destination" pmemsave dst "$T/dst.dump"
ok "guestcheck passes at the source" "$GUESTCHECK" "$T/src.dump"
src_out=$(cat "$T/last.out")
ok "guestcheck passes at the destination" "$GUESTCHECK" "$T/dst.dump"
dst_out=$(cat "$T/last.out")
is "$(sha_of "$dst_out")" "$(sha_of "$src_out")" "the range's SHA-256 is the same on both sides"
is "$dst_out" "$src_out" "and so is the sweep's position"
unlike "$(sha_of "$src_out")" "^$sha0$" "the guest moved on since the first dump"
if cmp -s "$T/src.dump" "$T/dst.dump"; then diag "all $MEM MiB of RAM identical"; else diag "RAM outside the range differs: $(cmp "$T/src.dump" "$T/dst.dump" | head -n 1)"; fi
ok "a range dump (--offset) checks the same" pmemsave dst "$T/range.dump" $((START << 20)) "$RANGE_BYTES"
is "$("$GUESTCHECK" --offset "$START" "$T/range.dump")" "$dst_out" "guestcheck --offset $START of a range dump agrees"
is "$("$GUESTCHECK" --image "$T/fast.img" "$T/dst.dump")" "$dst_out" "and so does guestcheck --image"

# The destination carries on: its first heartbeat follows the source's last.
ok "cont at the destination" qmp dst cont
ok "the destination beats within 10 s" wait_serial dst '^HB ' 10
sleep 0.5
cp "$T/dst.serial" "$T/snap.serial"
h=$(last_hb snap)
[ "$h" -gt "$((hb_src + 1))" ]; is $? 0 "and keeps counting (source's last $hb_src, now $h)"
like "$(hb_seq "$T/src.serial" "$T/snap.serial")" "^$h$" "source and destination together beat 1..$h, none lost or repeated"
unlike "$(grep -a READY "$T/dst.serial")" . "the destination did not boot again"
is "$(last_hb src)" "$hb_src" "the source stays paused"
ok "stop at the destination" qmp dst stop
ok "pmemsave after running on" pmemsave dst "$T/dst2.dump"
ok "guestcheck passes after running on" "$GUESTCHECK" "$T/dst2.dump"

qemu_stop dst
qemu_stop src
diag "took $(( ($(date +%s%N) - t_start) / 1000000 )) ms"
done_testing
