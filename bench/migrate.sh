#!/bin/bash
# bench/migrate.sh [BUILDDIR] - live migration through Ferry against QEMU's
# own direct migration, in the same run, on the same guests (not part of
# make check).
#
# Environments (ENVS, default "loopback wan20"):
#   loopback  two ferryd on 127.0.0.1; direct: QEMU to QEMU over a unix socket
#   wan20     two ferryd in network namespaces joined by tests/tools/wanem,
#             1 Gbit/s, 10 ms each way; direct: source QEMU in namespace a,
#             destination QEMU in namespace b (-incoming defer), tcp:10.77.0.2
#   wan100    the same at 1 Gbit/s, 50 ms each way, 0.1% loss
# Guests (tests/guest/mkguest, TCG): SIZES (MiB, default "128 1024") times
# RATES (default "low high"): low dirties 1M..mem/4 with a large spin (a few
# MB/s), high dirties 1M..mem-17M at spin 10000 (tens of MB/s).  The dirty
# rate calc-dirty-rate measures just before each direct migration is printed.
# Both paths get the same parameters: downtime-limit 300 ms (DOWNTIME_MS),
# max-bandwidth BW_MBIT (default 1000, Ferry's transport_link_rate, passed to
# Ferry as --bandwidth), no escalation (Ferry --escalate none; direct without
# auto-converge or xbzrle) and the same give-up rule: the expected downtime
# above the limit and not shrinking by a fifth for 3 passes (Ferry's
# migrate_stall_passes default) is "no convergence" (noconv).  THROTTLE=1
# adds a row per case with CPU throttling for both (Ferry --escalate
# throttle; direct auto-converge).  REPS (default 1) repeats each case.
#
# Ferry's numbers are its job summary (ferryctl --json migrate --wait):
# total_ms (begin to confirm), QEMU's downtime, bytes, and the pause the
# guest saw (the gap in its serial heartbeats).  Direct numbers are QEMU's
# total-time, downtime and ram.transferred, and the same heartbeat gap read
# by a timestamping reader of both serial sockets.
# Targets: on WAN profiles Ferry's total and downtime <= direct and downtime
# < 300 ms; on loopback Ferry's total <= 1.2x direct.
# Needs root (for the WAN profiles), QEMU and python3; exits 77 otherwise.
# PREFLIGHT=1 runs `ferryctl preflight` (a 2 s link test included) before each
# Ferry migration, as the documented flow does, outside Ferry's total.
# KEEP=1 keeps the work directory (logs, job JSON); LOG_LEVEL=debug logs more;
# PERF=1 (with KEEP=1) records a perf profile of both ferryd per migration.
# SPDX-License-Identifier: GPL-2.0-or-later
set -u
B=$(cd "${1:-$(dirname "$0")/../build}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
export top_builddir=$B top_srcdir=$SRC
ENVS=${ENVS:-"loopback wan20"}
SIZES=${SIZES:-"128 1024"}
RATES=${RATES:-"low high"}
REPS=${REPS:-1}
BW_MBIT=${BW_MBIT:-1000}
DOWNTIME_MS=${DOWNTIME_MS:-300}
THROTTLE=${THROTTLE:-0}
CASE_TIMEOUT=${CASE_TIMEOUT:-240}	# seconds, one migration by either path
QEMU=${QEMU:-/usr/bin/qemu-system-x86_64}
MKGUEST=$B/tests/guest/mkguest
TEMPLATE=$B/tests/guest/guest.bin

[ "$(id -u)" = 0 ] || { echo "bench/migrate.sh: not root" >&2; exit 77; }
[ -x "$QEMU" ] || { echo "bench/migrate.sh: $QEMU not installed" >&2; exit 77; }
command -v python3 >/dev/null || { echo "bench/migrate.sh: no python3" >&2; exit 77; }
[ -x "$MKGUEST" ] && [ -s "$TEMPLATE" ] && [ -x "$B/gateway/ferryd" ] ||
	{ echo "bench/migrate.sh: build $B first (and tests/guest/mkguest tests/guest/guest.bin tests/tools/wanem)" >&2; exit 77; }
case " $ENVS " in
*" wan"*)
	. "$SRC/tests/integration/wan.sh"
	reason=$(wan_can) || { echo "bench/migrate.sh: $reason" >&2; exit 77; }
	;;
esac

# The integration harness: site_conf, site_start, site_stop, pair, ctl, $T
# and an EXIT trap that stops our daemons and the guests they launched.
. "$SRC/tests/integration/lib.sh" >/dev/null
D=$T
DIRECT_PIDS=()
stop_direct() {
	local p f
	for f in "$D"/direct-dst/pid; do
		[ -s "$f" ] && DIRECT_PIDS+=("$(cat "$f")")
	done
	for p in "${DIRECT_PIDS[@]}"; do
		grep -qs "$D" "/proc/$p/cmdline" && kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	DIRECT_PIDS=()
}
bench_exit() {
	stop_direct
	if declare -F wan_down >/dev/null; then wan_down; fi
	if [ "${KEEP:-0}" = 1 ]; then
		_failed=1	# lib.sh's _cleanup keeps $T then
		echo "# work directory kept: $D" >&2
	fi
	_cleanup >/dev/null
}
trap bench_exit EXIT

# ---------------------------------------------------------------- QMP helper
cat >"$D/direct.py" <<'EOF'
# direct.py: QEMU's own migration between two QEMUs, driven over QMP, with
# the serial heartbeats of both timestamped.  Prints one JSON line.
import json, socket, subprocess, sys, threading, time

a = dict(x.split('=', 1) for x in sys.argv[1:])
DOWNTIME = int(a['downtime']); BW = int(a['bw']); DEADLINE = float(a['deadline'])
STALL = int(a.get('stall', '3'))

class QMP:
    def __init__(self, path):
        for _ in range(200):
            try:
                self.s = socket.socket(socket.AF_UNIX); self.s.connect(path); break
            except OSError:
                time.sleep(0.05)
        else:
            raise SystemExit('cannot connect to ' + path)
        self.s.settimeout(30)
        self.f = self.s.makefile('rb')
        self.read()                         # greeting
        self.cmd('qmp_capabilities')
    def read(self):
        while True:
            l = self.f.readline()
            if not l:
                raise SystemExit('QMP closed')
            m = json.loads(l)
            if 'event' not in m:
                return m
    def cmd(self, c, **args):
        m = {'execute': c}
        if args:
            m['arguments'] = args
        self.s.sendall(json.dumps(m).encode() + b'\n')
        r = self.read()
        if 'error' in r:
            raise RuntimeError('%s: %s' % (c, r['error'].get('desc')))
        return r.get('return')

class Serial(threading.Thread):
    def __init__(self, path):
        super().__init__(daemon=True)
        self.s = socket.socket(socket.AF_UNIX)
        for _ in range(200):
            try:
                self.s.connect(path); break
            except OSError:
                time.sleep(0.05)
        self.lines = []                     # wall-clock ms of each HB line
        self.start()
    def run(self):
        buf = b''
        while True:
            try:
                d = self.s.recv(65536)
            except OSError:
                return
            if not d:
                return
            t = time.time() * 1000
            buf += d
            while b'\n' in buf:
                l, buf = buf.split(b'\n', 1)
                if b'HB ' in l:
                    self.lines.append(t)

out = {}
ss = Serial(a['src_serial'])
src = QMP(a['src_qmp'])
time.sleep(float(a.get('warm', '2')))
# The guest's dirty rate, as Ferry estimates it (page sampling, 1 s).
try:
    src.cmd('calc-dirty-rate', **{'calc-time': 1, 'mode': 'page-sampling'})
    for _ in range(50):
        time.sleep(0.1)
        r = src.cmd('query-dirty-rate')
        if r.get('status') == 'measured':
            out['dirty_mbs'] = r.get('dirty-rate'); break
except RuntimeError as e:
    out['dirty_err'] = str(e)
throttle = a.get('throttle') == '1'
# End to end, as an operator would do it by hand: start the destination, then migrate.
t_e2e = time.time()
dp = subprocess.Popen(['/bin/sh', a['dst_start']])
open(a['dst_pidfile'], 'w').write('%d\n' % dp.pid)
sd = Serial(a['dst_serial'])
dst = QMP(a['dst_qmp'])
dst.cmd('migrate-set-capabilities', capabilities=[{'capability': 'events', 'state': True}])
dst.cmd('migrate-incoming', uri=a['uri'])
src.cmd('migrate-set-capabilities', capabilities=[
    {'capability': 'events', 'state': True}, {'capability': 'auto-converge', 'state': throttle},
    {'capability': 'xbzrle', 'state': False}])
src.cmd('migrate-set-parameters', **{'downtime-limit': DOWNTIME, 'max-bandwidth': BW})
t0 = time.time()
src.cmd('migrate', uri=a['uri'])
last_pass = last_exp = stalled = 0
status = 'none'
mbps = []
while True:
    r = src.cmd('query-migrate')
    status = r.get('status', 'none')
    if status in ('completed', 'failed', 'cancelled'):
        break
    ram = r.get('ram', {})
    p = ram.get('dirty-sync-count', 0)
    if ram.get('mbps', 0) > 0:
        mbps.append(ram['mbps'])
    # Ferry's give-up rule (gateway/job.c migrate_memory), so both paths stop alike.
    if p > last_pass and p > 1:
        last_pass = p
        exp = r.get('expected-downtime', 0)
        if ram.get('mbps', 0) > 0:
            exp = ram.get('remaining', 0) * 8 / (ram['mbps'] * 1000)
        stalled = stalled + 1 if exp > DOWNTIME and (last_exp <= 0 or exp * 5 > last_exp * 4) else 0
        last_exp = exp
        if stalled >= STALL and not throttle:
            status = 'noconv'
            break
    if time.time() - t0 > DEADLINE:
        status = 'timeout'
        break
    time.sleep(0.05)
out['passes'] = r.get('ram', {}).get('dirty-sync-count')
out['mbps'] = int(sum(mbps) / len(mbps)) if mbps else None
if status in ('noconv', 'timeout'):
    out['wall_ms'] = int((time.time() - t0) * 1000)
    try:
        src.cmd('migrate_cancel')
    except RuntimeError:
        pass
    out['status'] = status
    print(json.dumps(out)); sys.exit(0)
out['status'] = status
if status != 'completed':
    out['error'] = r.get('error-desc')
    print(json.dumps(out)); sys.exit(0)
time.sleep(0.005)                           # total-time and downtime read 0 at completion
r = src.cmd('query-migrate')
ram = r.get('ram', {})
out.update(total_ms=r.get('total-time'), downtime_ms=r.get('downtime'), setup_ms=r.get('setup-time'),
           bytes=max(ram.get('transferred', 0), ram.get('multifd-bytes', 0)), passes=ram.get('dirty-sync-count'),
           throttle=r.get('cpu-throttle-percentage', 0))
# The destination was started with -S: resume it, as Ferry's Finish does.
for _ in range(200):
    if dst.cmd('query-status').get('status') in ('paused', 'prelaunch', 'postmigrate'):
        try:
            dst.cmd('cont'); break
        except RuntimeError:
            pass
    time.sleep(0.01)
out['resume_wall_ms'] = int((time.time() - t0) * 1000)
out['e2e_ms'] = int((time.time() - t_e2e) * 1000)
for _ in range(500):
    if sd.lines:
        break
    time.sleep(0.01)
if ss.lines and sd.lines:
    out['guest_pause_ms'] = int(sd.lines[0] - ss.lines[-1])
print(json.dumps(out))
EOF

# jf FILE EXPR: a value from a JSON file (j), "-" when missing.
jf() { python3 -c "import json,sys
try:
    j=json.load(open(sys.argv[1]))
    v=$2
    print('-' if v is None else v)
except Exception:
    print('-')" "$1"; }

qemu_args() {	# qemu_args NAME IMG MEM DIR [incoming]
	local n=$1 img=$2 mem=$3 dir=$4
	echo "-name guest=$n -no-user-config -nodefaults -display none -vga none -machine pc -accel tcg -m $mem -smp 1"
	echo "-msg timestamp=on -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny -pidfile $dir/qemu.pid"
	echo "-chardev socket,id=qmp,path=$dir/qmp.sock,server=on,wait=off -mon chardev=qmp,mode=control"
	echo "-chardev socket,id=serial0,path=$dir/serial.sock,server=on,wait=off -serial chardev:serial0"
	echo "-drive file=$img,format=raw,if=none,id=boot,snapshot=on"
	echo "-device ide-hd,drive=boot,bus=ide.0,unit=0,bootindex=0,id=dev-boot"
	[ "${5:-}" = incoming ] && echo "-S -incoming defer"
}

guest_img() {	# guest_img SIZE RATE: path of the image (made once)
	local size=$1 rate=$2 f=$D/guest-$1-$2.img
	if [ ! -s "$f" ]; then
		case $rate in
		low) "$MKGUEST" -o "$f" --mem "$size" --start 1 --end $((size / 4)) --spin "${LOW_SPIN:-200000}" \
			--hb-pages 16 "$TEMPLATE" >&2 ;;
		high) "$MKGUEST" -o "$f" --mem "$size" --start 1 --end $((size - 17)) --spin "${HIGH_SPIN:-10000}" \
			--hb-pages 256 "$TEMPLATE" >&2 ;;
		esac
	fi
	echo "$f"
}

# run_direct ENV SIZE RATE THROTTLE OUT: QEMU to QEMU; one JSON line in OUT.
run_direct() {
	local env=$1 size=$2 rate=$3 thr=$4 out=$5 img s d uri
	img=$(guest_img "$size" "$rate")
	s=$D/direct-src d=$D/direct-dst
	rm -rf "$s" "$d"; mkdir -p "$s" "$d"
	# The destination QEMU is started by direct.py when the migration
	# begins, as Ferry's prepare starts it: "D e2e" counts it like Ferry's total.
	if [ "$env" = loopback ]; then
		uri=unix:$D/direct-mig.sock
		rm -f "$D/direct-mig.sock"
		# shellcheck disable=SC2046
		"$QEMU" $(qemu_args direct "$img" "$size" "$s") >"$s/log" 2>&1 &
		DIRECT_PIDS+=($!)
		printf 'exec %s >%q 2>&1\n' "$QEMU $(qemu_args direct "$img" "$size" "$d" incoming | tr "\n" " ")" "$d/log" >"$d/start.sh"
	else
		uri=tcp:$(wan_addr b):4444
		# shellcheck disable=SC2046
		ip netns exec "$WAN_NS_A" "$QEMU" $(qemu_args direct "$img" "$size" "$s") >"$s/log" 2>&1 &
		DIRECT_PIDS+=($!)
		printf 'exec ip netns exec %s %s >%q 2>&1\n' "$WAN_NS_B" "$QEMU $(qemu_args direct "$img" "$size" "$d" incoming | tr "\n" " ")" \
			"$d/log" >"$d/start.sh"
	fi
	timeout "$CASE_TIMEOUT" python3 "$D/direct.py" src_qmp="$s/qmp.sock" dst_qmp="$d/qmp.sock" \
		dst_start="$d/start.sh" dst_pidfile="$d/pid" \
		src_serial="$s/serial.sock" dst_serial="$d/serial.sock" uri="$uri" downtime="$DOWNTIME_MS" \
		bw=$((BW_MBIT * 1000000 / 8)) deadline=$((CASE_TIMEOUT - 20)) throttle="$thr" warm=3 >"$out" 2>"$out.err" ||
		echo '{"status": "error"}' >"$out"
	stop_direct
}

VMN=0
# sample_job FILE: the progress of the newest job at a, every 0.5 s (the
# rate QEMU reports, its pass and expected downtime), until killed.  Only
# ferryctl runs meanwhile: the JSON is parsed after the migration (samples
# FILE), so the sampler takes no CPU from the migration it watches.
sample_job() {
	local job=""
	: >"$1.raw"
	for _ in $(seq 1 100); do
		job=$(ctl a --json jobs 2>/dev/null | tr -d ' \n' | sed -n 's/.*"id":"\(m-[0-9a-f]*\)"[^}]*"outcome":"active".*/\1/p')
		[ -n "$job" ] && break
		sleep 0.1
	done
	[ -n "$job" ] || return 0
	while :; do
		{ ctl a --json job show "$job" 2>/dev/null | tr -d '\n'; echo; } >>"$1.raw"
		sleep 0.5
	done
}
# samples FILE: FILE.raw (one job document per line) to FILE (its progress per line).
samples() {
	python3 - "$1.raw" >"$1" 2>/dev/null <<'PY'
import json, sys
for l in open(sys.argv[1]):
    try:
        print(json.dumps(json.loads(l).get('progress')))
    except ValueError:
        pass
PY
}
# cpu_ticks SITE: user + system clock ticks of the site's ferryd so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$(cat "$D/$1/ferryd.pid")/stat" 2>/dev/null || echo 0; }
# gw_cpu OUT: CPU ms both ferryd used during the migration (source+destination).
gw_cpu() {
	paste -d' ' "$1.cpu0" "$1.cpu1" 2>/dev/null | awk -v hz="$(getconf CLK_TCK)" \
		'{ d[NR] = ($2 - $1) * 1000 / hz } END { if (NR == 2) printf "%d+%d", d[1], d[2]; else print "-" }'
}
# run_ferry ENV SIZE RATE THROTTLE OUT: through the two ferryd; the job JSON in OUT.
run_ferry() {
	local env=$1 size=$2 rate=$3 thr=$4 out=$5 img vm n0 job
	img=$(guest_img "$size" "$rate")
	VMN=$((VMN + 1)); vm=g$VMN
	printf '{ "name": "%s", "vcpus": 1, "memory_mib": %s, "boot": "%s" }\n' "$vm" "$size" "$img" >"$D/$vm.json"
	ctl a vm define "$D/$vm.json" >/dev/null && ctl a vm start "$vm" >/dev/null ||
		{ echo '{"outcome": "error"}' >"$out"; return 1; }
	for _ in $(seq 1 100); do	# booted and beating
		[ "$(grep -cs ' HB ' "$D/a/state/vms/$vm/serial.log")" -ge 3 ] && break
		sleep 0.1
	done
	# PREFLIGHT=1: the documented flow, a pre-flight (with its 2 s link test)
	# before the move; not counted in Ferry's total.  The move takes the
	# link test's session (transport_keep_idle) and its measured goodput.
	if [ "${PREFLIGHT:-0}" = 1 ]; then
		ctl a preflight "$vm" --to b >"$out.preflight" 2>&1 || echo "# preflight of $vm: exit $?" >&2
	fi
	sleep 3	# the same warm-up as the direct run
	sample_job "$out.samples" &
	SAMPLER=$!
	cpu_ticks a >"$out.cpu0"; cpu_ticks b >>"$out.cpu0"
	if [ -n "${PERF:-}" ]; then	# PERF=1: a profile of both ferryd during the migration, in OUT.perf
		perf record -q -g -F 1999 -o "$out.perf" -p "$(cat "$D/a/ferryd.pid"),$(cat "$D/b/ferryd.pid")" \
			>/dev/null 2>&1 &
		PERFPID=$!
		sleep 2	# perf is ready
	fi
	timeout "$CASE_TIMEOUT" "$FERRYCTL" -s "$D/a/ferryd.sock" --json migrate "$vm" --to b --bandwidth "$BW_MBIT" \
		--downtime-ms "$DOWNTIME_MS" --escalate "$([ "$thr" = 1 ] && echo throttle || echo none)" --wait \
		>"$out" 2>"$out.err"
	cpu_ticks a >"$out.cpu1"; cpu_ticks b >>"$out.cpu1"
	[ -n "${PERF:-}" ] && { kill -TERM "$PERFPID"; wait "$PERFPID"; } 2>/dev/null
	kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null
	samples "$out.samples"
	job=$(jf "$out" "j.get('id')")
	if [ "$job" != - ]; then
		ctl a --json job show "$job" >"$out.src" 2>&1
		ctl b --json job show "$job" >"$out.dst" 2>&1
		[ "$(jf "$out" "j.get('outcome')")" = active ] && ctl a job cancel "$job" >/dev/null 2>&1
	else
		job=$(ctl a --json jobs 2>/dev/null | sed -n 's/.*"id": "\(m-[0-9a-f]*\)".*/\1/p' | head -n 1)
		[ -n "$job" ] && ctl a job cancel "$job" >/dev/null 2>&1
		[ -n "$job" ] && ctl a --json job show "$job" >"$out.src" 2>&1
		echo '{"outcome": "timeout"}' >"$out"
	fi
	for _ in $(seq 1 100); do	# the job lets go of the VM
		ctl a vm list 2>/dev/null | grep -q "^$vm .*m-" || ctl b vm list 2>/dev/null | grep -q "^$vm .*m-" || break
		sleep 0.2
	done
	for n0 in a b; do
		ctl "$n0" vm stop "$vm" --force >/dev/null 2>&1
		ctl "$n0" vm undefine "$vm" >/dev/null 2>&1
	done
}

sites_up() {	# sites_up ENV
	local env=$1 wrap_a=() wrap_b=()
	rm -rf "$D/a" "$D/b"
	mkdir -p "$D/ds-a" "$D/ds-b"
	site_conf a "qemu_datastores ds-a=$D/ds-a" "transport_keep_idle ${KEEP_IDLE:-60s}" || return 1
	site_conf b "qemu_datastores ds-b=$D/ds-b" "transport_keep_idle ${KEEP_IDLE:-60s}" || return 1
	sed -i "s/^log_level .*/log_level ${LOG_LEVEL:-info}/" "$D/a/ferryd.conf" "$D/b/ferryd.conf"
	case $env in
	loopback) ;;
	wan20|wan100)
		# shellcheck disable=SC2046
		WAN_SECONDS=7200 wan_up "mig$env" $(profile_args "$env") || return 1
		sed -i "s|^listen .*|listen $(wan_addr a):7443|" "$D/a/ferryd.conf"
		sed -i "s|^listen .*|listen $(wan_addr b):7443|" "$D/b/ferryd.conf"
		wrap_a=(ip netns exec "$WAN_NS_A")
		wrap_b=(ip netns exec "$WAN_NS_B")
		;;
	*) echo "unknown environment $env" >&2; return 1 ;;
	esac
	site_start a "${wrap_a[@]}" && site_start b "${wrap_b[@]}" && pair a b >/dev/null
}

sites_down() {
	site_stop a; site_stop b
	_stop_guests
	# (wan.sh's _wan_emu reads /proc/PID/cmdline of an emulator that may have exited)
	if [ "$1" != loopback ]; then wan_down 2> >(grep -v '/cmdline: No such file' >&2); fi
}

profile_args() {
	case $1 in
	wan20) echo "--rate 1000 --delay 10" ;;
	wan100) echo "--rate 1000 --delay 50 --loss 0.1" ;;
	esac
}

ms() { [ "$1" = - ] && echo - || printf '%d' "$1"; }
mib() { [ "$1" = - ] && echo - || awk -v b="$1" 'BEGIN{printf "%.0f", b / 1048576}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "-" || b == "-" || b + 0 <= 0) print "-"; else printf "%.2f", a / b }'; }

# breakdown FILE: where Ferry's total went, from the source job's events (ms):
# begin->prepared, transport open, dirty-rate estimate, pre-copy until the
# finish is recorded (QEMU's migration, the relays closing, the last
# heartbeat read), the Finish call (the destination resumes), confirm; and
# "idle": how long the stopped guest waited between the end of QEMU's
# downtime and the finish record.
breakdown() {
	python3 - "$1" <<'PY' 2>/dev/null || echo "-"
import json, sys
j = json.load(open(sys.argv[1]))
ev = j['events']
def at(pred):
    for e in ev:
        if pred(e):
            return e['time_ms']
    return None
t = [ev[0]['time_ms'],
     at(lambda e: e['phase'] == 'perform'),
     at(lambda e: e['message'].startswith('memory pre-copy')),
     at(lambda e: e['phase'] == 'finish'),
     at(lambda e: e['phase'] == 'confirm'),
     at(lambda e: e['phase'] == 'done')]
out = []
for i in range(5):
    out.append('-' if t[i] is None or t[i + 1] is None else str(t[i + 1] - t[i]))
# How long the guest stayed stopped after QEMU's downtime and before the
# Finish was recorded: the pause it saw, less QEMU's downtime, less the
# time from the finish record to the destination's "resumed".
try:
    p = j['progress']
    dres = [e['time_ms'] for e in json.load(open(sys.argv[1] + '.dst'))['events'] if e['phase'] == 'done'][0]
    out.append(str(p['guest_pause_ms'] - p['downtime_ms'] - (dres - t[3])))
except Exception:
    out.append('-')
print(' '.join('%7s' % x for x in out))
PY
}

mean_mbps() {	# mean_mbps SAMPLES: Ferry's mean QEMU rate during pre-copy (Mbit/s)
	python3 - "$1" <<'PY' 2>/dev/null || echo "-"
import json, sys
v = []
for l in open(sys.argv[1]):
    p = json.loads(l)
    if p and p.get('stage') == 'memory' and p.get('mbps', 0) > 0:
        v.append(p['mbps'])
print(int(sum(v) / len(v)) if v else '-')
PY
}

hdr='%-8s %5s %-6s %6s | %8s %6s %6s %6s %5s %-7s | %8s %7s %6s %6s %6s %5s %-7s | %5s %5s | %s\n'
printf '\nLive migration, Ferry against QEMU direct (same run): downtime limit %s ms, max-bandwidth %s Mbit/s, REPS=%s\n' \
	"$DOWNTIME_MS" "$BW_MBIT" "$REPS"
printf '%s\n' "times in ms, bytes in MiB; pause = gap in the guest's serial heartbeats; dirty = calc-dirty-rate MB/s (Ferry's estimate)"
printf "$hdr" env MiB rate dirty "F total" "F down" "F paus" "F MiB" "F pas" "F st" "D total" "D e2e" "D down" "D paus" \
	"D MiB" "D pas" "D st" "tot/D" "dn/D" verdict
ROWS=$D/rows
: >"$ROWS"
: >"$D/breakdown"
for env in $ENVS; do
	echo "# $env: $(uptime | sed 's/.*load/load/')" >&2
	if ! sites_up "$env"; then
		echo "# $env: sites did not come up" >&2
		tail -n 20 "$D"/a/ferryd.log "$D"/b/ferryd.log >&2 2>/dev/null
		sites_down "$env"
		continue
	fi
	for size in $SIZES; do
		for rate in $RATES; do
			for thr in 0 $([ "$THROTTLE" = 1 ] && echo 1); do
				for rep in $(seq 1 "$REPS"); do
					c=$env-$size-$rate-t$thr-$rep
					if [ $((rep % 2)) = 1 ]; then
						run_ferry "$env" "$size" "$rate" "$thr" "$D/$c.ferry"
						run_direct "$env" "$size" "$rate" "$thr" "$D/$c.direct"
					else
						run_direct "$env" "$size" "$rate" "$thr" "$D/$c.direct"
						run_ferry "$env" "$size" "$rate" "$thr" "$D/$c.ferry"
					fi
					f=$D/$c.ferry; d=$D/$c.direct
					fst=$(jf "$f" "j.get('outcome')")
					case $fst in
					succeeded) fst=ok ;;
					failed) grep -q 'did not converge' "$f" && fst=noconv ;;
					esac
					dst=$(jf "$d" "j.get('status')")
					[ "$dst" = completed ] && dst=ok
					ft=$(jf "$f" "j['progress'].get('total_ms')"); fd=$(jf "$f" "j['progress'].get('downtime_ms')")
					fp=$(jf "$f" "j['progress'].get('guest_pause_ms')"); fb=$(jf "$f" "j['progress'].get('bytes')")
					fn=$(jf "$f" "j['progress'].get('passes')")
					fe=$(jf "$f" "j['progress'].get('dirty_rate_estimate', -1) // 1000000")
					dt=$(jf "$d" "j.get('total_ms')"); dd=$(jf "$d" "j.get('downtime_ms')")
					de=$(jf "$d" "j.get('e2e_ms')")
					dp=$(jf "$d" "j.get('guest_pause_ms')"); db=$(jf "$d" "j.get('bytes')")
					dn=$(jf "$d" "j.get('passes')"); dr=$(jf "$d" "j.get('dirty_mbs')")
					[ "$fst" = ok ] || { ft=-; fd=-; fp=-; }
					[ "$dst" = ok ] || { dt=-; dd=-; dp=-; de=-; }
					# Totals compared end to end: Ferry's job against direct from the
					# destination's start to its resume (QEMU's own total-time shown too).
					rt=$(ratio "$ft" "$de"); rd=$(ratio "$fd" "$dd")
					if [ "$fst" != ok ] && [ "$dst" != ok ]; then
						v="both $fst/$dst"
					elif [ "$fst" != ok ]; then
						v="MISS (Ferry $fst)"
					elif [ "$dst" != ok ]; then
						v="PASS (direct $dst)"
					elif [ "$env" = loopback ]; then
						v=$(awk -v r="$rt" 'BEGIN{print (r <= 1.2 ? "PASS" : "MISS")}')
					else
						v=$(awk -v t="$ft" -v dt="$de" -v d="$fd" -v dd="$dd" -v l="$DOWNTIME_MS" \
							'BEGIN{print (t <= dt && d <= dd && d < l ? "PASS" : "MISS")}')
					fi
					[ "$thr" = 1 ] && rl=$rate+thr || rl=$rate
					printf '%s %s %s %s %s %s %s\n' "$env" "$size" "$rl" "$(breakdown "$f")" "$(mean_mbps "$f.samples")" \
						"$(jf "$d" "j.get('mbps')")" "$(gw_cpu "$f")" >>"$D/breakdown"
					printf "$hdr" "$env" "$size" "$rl" "$dr($fe)" "$(ms "$ft")" "$(ms "$fd")" "$(ms "$fp")" \
						"$(mib "$fb")" "$fn" "$fst" "$(ms "$dt")" "$(ms "$de")" "$(ms "$dd")" "$(ms "$dp")" "$(mib "$db")" "$dn" \
						"$dst" "$rt" "$rd" "$v" | tee -a "$ROWS"
				done
			done
		done
	done
	if [ "$env" != loopback ] && ! wan_valid >/dev/null 2>&1; then
		echo "# $env: the emulator dropped packets itself: rows of $env are not valid" >&2
	fi
	sites_down "$env"
done
printf '\nWhere Ferry'"'"'s total went (ms, from the source job'"'"'s events):\n'
printf '%s\n' "(prepare: until the destination is prepared and the transport up; setup: relays, disk mirrors; precopy: QEMU's"
printf '%s\n' " migration until the finish is recorded; finish: the destination resumes; confirm: the source's copy goes)"
printf '%s\n' "(idle: the stopped guest's wait after QEMU's downtime, before the finish record; Mbit/s: mean of QEMU's ram.mbps)"
printf '%s\n' "(gw CPU: CPU ms the source's + the destination's ferryd used from migrate to its end)"
printf '%-8s %5s %-9s %7s %7s %7s %7s %7s %7s %9s %9s %9s\n' env MiB rate prepare setup precopy finish confirm \
	idle "F Mbit/s" "D Mbit/s" "gw CPU"
awk '{ printf "%-8s %5s %-9s %7s %7s %7s %7s %7s %7s %9s %9s %9s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 }' \
	"$D/breakdown"
echo "# done: $(uptime | sed 's/.*load/load/')" >&2
