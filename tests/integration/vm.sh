#!/bin/bash
# The built-in qemu domain with real QEMU under TCG: `ferryctl vm define`
# refuses every bad spec naming the field and writes nothing; a VM starts,
# is listed and shown, its serial console is captured line by line with a
# time; it survives SIGKILL of ferryd and is re-attached (same QEMU, still
# captured); a VM held by a migration job cannot be started, stopped or
# undefined; a QEMU killed behind ferryd's back is shown as crashed; stop
# (graceful and forced) and undefine (disks stay).
# Only the QEMU processes this test's ferryd started are stopped, by PID.
. "$(dirname "$0")/lib.sh"

QEMU=/usr/bin/qemu-system-x86_64
[ -x "$QEMU" ] || skip_all "$QEMU not installed"
command -v /usr/bin/qemu-img >/dev/null || skip_all "qemu-img not installed"
command -v python3 >/dev/null || skip_all "python3 not installed"
command -v sqlite3 >/dev/null || skip_all "sqlite3 not installed"

declare -A VM_PIDS=()
vm_cleanup() {
	local p
	for p in "${VM_PIDS[@]}"; do
		grep -qs "$T" "/proc/$p/cmdline" && kill -KILL "$p" 2>/dev/null
	done
	return 0
}
trap 'vm_cleanup; _cleanup' EXIT

# The boot image: the migration test guest when built, else a boot sector
# made here that prints "FERRY-TEST READY" and then "HB xxxxxxxx" lines.
BOOT=
for f in "$top_builddir/tests/guest/guest.img" "$top_builddir/tests/guest/guest.bin"; do
	[ -s "$f" ] && { BOOT=$f; break; }
done
if [ -z "$BOOT" ]; then
	BOOT=$T/boot.img
	python3 - "$BOOT" <<'EOF'
import sys
code = bytes.fromhex(
    "fa31c08ed88ed0bc007cbaf803be527ce8360066bf01000000be647ce82a00b908"
    "006689fb66c1c30488d8240f04303c3976020427eee2edb00aee664766b9000000"
    "04664975fcebd0ac84c07403eeebf8c346455252592d544553542052454144590a"
    "0048422000")
open(sys.argv[1], "wb").write(code + bytes(510 - len(code)) + b"\x55\xaa")
EOF
fi
diag "boot image $BOOT"
MEM=128		# MiB: the test guest sweeps 1-100 MiB

A=$T/a
mkdir -p "$A/ds1" "$A/ds2"
site_conf a "qemu_datastores ds1=$A/ds1,ds2=$A/ds2" "qemu_networks lan,dmz"
site_start a || { echo "Bail out! a did not start"; exit 1; }
DB=$(db_of a)

dbq() { sqlite3 -cmd ".timeout 5000" "$DB" "$@"; }
# jget EXPR: evaluate a Python expression on the JSON document on stdin (j).
jget() {
	python3 -c 'import json, sys
j = json.load(sys.stdin)
v = eval(sys.argv[1])
print(str(v).lower() if isinstance(v, bool) else v)' "$1"
}
show() { ctl a --json vm show "$1" | jget "$2"; }
state_of() { show "$1" 'j["status"]["state"]' 2>/dev/null; }
# wait_until SECS CMD...: poll every 0.2 s.
wait_until() {
	local secs=$1 i
	shift
	for i in $(seq 1 $((secs * 5))); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}
is_state() { [ "$(state_of "$1")" = "$2" ]; }
lines_above() { [ "$(show "$1" 'j["status"]["serial_lines"]')" -gt "$2" ]; }

# spec NAME [PYTHON...]: write $T/NAME.json, a base spec changed by the statements.
spec() {
	local name=$1
	shift
	python3 - "$T/$name.json" "$name" "$BOOT" "$MEM" "$@" <<'EOF'
import json, sys
out, name, boot, mem = sys.argv[1:5]
s = {"name": name, "memory_mib": int(mem), "boot": boot,
     "disks": [{"datastore": "ds1", "file": name + ".img", "size": "16M"}],
     "nics": [{"network": "lan"}]}
for stmt in sys.argv[5:]:
	exec(stmt)
json.dump(s, open(out, "w"))
EOF
	echo "$T/$name.json"
}

# --- usage errors exit 2
for args in "vm define" "vm start" "vm stop a b" "vm show x --lines abc" "vm list extra" "vm frob" \
    "vm stop x --bogus"; do
	ctl a vm $args >/dev/null 2>&1
	is "$?" 2 "ferryctl $args: usage error, exit 2"
done

# --- bad specs: each refused, naming the field; nothing written
bad() {	# bad DESC REGEX PYTHON...
	local desc=$1 re=$2 out rc
	shift 2
	out=$(ctl a vm define "$(spec bad "$@")" 2>&1)
	rc=$?
	if [ "$rc" -eq 1 ]; then
		like "$out" "$re" "define refuses $desc"
	else
		is "$rc" 1 "define refuses $desc (exit 1)"
	fi
}
bad "a bad name" "name: \"bad name!\"" 's["name"] = "bad name!"'
bad "a name starting with a dot" "name: \"\.hidden\"" 's["name"] = ".hidden"'
bad "an unknown datastore" "disks\[0\]\.datastore: no datastore nope" 's["disks"][0]["datastore"] = "nope"'
bad "an unknown network" "nics\[0\]\.network: no network wan" 's["nics"][0]["network"] = "wan"'
bad "a malformed MAC" "nics\[0\]\.mac: \"52:54:00:zz:00:01\"" 's["nics"][0]["mac"] = "52:54:00:zz:00:01"'
bad "a multicast MAC" "nics\[0\]\.mac: \"01:00:5e:00:00:01\"" 's["nics"][0]["mac"] = "01:00:5e:00:00:01"'
bad "a bad disk format" "disks\[0\]\.format: \"vmdk\"" 's["disks"][0]["format"] = "vmdk"'
bad "'..' in a disk file" "disks\[0\]\.file: \"\.\./escape\.img\"" 's["disks"][0]["file"] = "../escape.img"'
bad "an absolute disk file" "disks\[0\]\.file: \"/etc/passwd\"" 's["disks"][0]["file"] = "/etc/passwd"'
bad "a missing boot image" "boot: /nonexistent/boot\.img: No such file" 's["boot"] = "/nonexistent/boot.img"'
bad "a relative boot image" "boot: \"boot\.img\": expected an absolute path" 's["boot"] = "boot.img"'
bad "an unknown member" "spec: unknown member \"colour\"" 's["colour"] = "blue"'
bad "an unknown disk member" "disks\[0\]: unknown member \"sizee\"" 's["disks"][0]["sizee"] = 1'
bad "memory 0" "memory_mib: expected an integer from 1 to" 's["memory_mib"] = 0'
bad "65 vCPUs" "vcpus: expected an integer from 1 to 64" 's["vcpus"] = 65'
bad "an unknown accelerator" "accel: \"hvf\": expected tcg or kvm" 's["accel"] = "hvf"'
bad "a malformed UUID" "uuid: \"1234\"" 's["uuid"] = "1234"'
bad "a new disk without a size" "disks\[0\]\.size: .* does not exist: give a size" 'del s["disks"][0]["size"]'
bad "a bad size" "disks\[0\]\.size: \"12Q\"" 's["disks"][0]["size"] = "12Q"'
bad "two disks with one id" "disks\[1\]\.id: \"disk0\" is also disks\[0\]'s" \
    's["disks"].append({"id": "disk0", "datastore": "ds2", "file": "b.img", "size": "1M"})'
ln -s /tmp "$A/ds1/out"
bad "a disk leading out of its datastore" "disks\[0\]\.file: .* leads out of datastore ds1" \
    's["disks"][0]["file"] = "out/escape.img"'
rm -f "$A/ds1/out"
printf '{"name": "x",' >"$T/broken.json"
out=$(ctl a vm define "$T/broken.json" 2>&1); rc=$?
is "$rc" 1 "a file that is not JSON: exit 1"
like "$out" "broken\.json:1:[0-9]+: " "and the parse error names the place"
is "$(dbq 'SELECT count(*) FROM vms')" 0 "no bad spec wrote a VM"
is "$(ls -A "$A/ds1" "$A/ds2" | grep -c img)" 0 "no bad spec created a disk"

# --- good specs
ok "define t1: a new 16M disk is created, UUID and MAC generated" ctl a vm define "$(spec t1)"
like "$(cat "$T/last.out")" "defined VM t1 \(uuid [0-9a-f-]{36}\)" "define prints the UUID"
j=$(dbq "SELECT spec FROM vms WHERE name = 't1'")
like "$(echo "$j" | jget 'j["uuid"]')" "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$" \
    "the generated UUID is a lower-case version 4 UUID"
like "$(echo "$j" | jget 'j["nics"][0]["mac"]')" "^52:54:00(:[0-9a-f]{2}){3}$" "the generated MAC is 52:54:00:xx:xx:xx"
is "$(echo "$j" | jget 'j["boot_sha256"]')" "$(sha256sum "$BOOT" | cut -d' ' -f1)" "the boot image's SHA-256 is recorded"
is "$(echo "$j" | jget 'j["disks"][0]["size"]')" 16777216 "the disk's virtual size is recorded"
is "$(echo "$j" | jget 'j["disks"][0]["format"]') $(echo "$j" | jget 'j["disks"][0]["id"]')" "raw disk0" \
    "format raw and id disk0 by default"
is "$(qemu-img info --output=json "$A/ds1/t1.img" | jget 'j["virtual-size"]')" 16777216 "the disk file exists, 16M"

qemu-img create -q -f qcow2 "$A/ds2/t2.qcow2" 8M
ok "define t2: an existing qcow2 disk, a given UUID and MAC" ctl a vm define "$(spec t2 \
    's["uuid"] = "6F5A1C44-0B7E-4D2A-9A53-2E0C6B1D7F10"' 's["nics"][0]["mac"] = "52:54:00:AB:CD:EF"' \
    's["nics"][0]["network"] = "dmz"' 's["disks"] = [{"datastore": "ds2", "file": "t2.qcow2"}]')"
j=$(dbq "SELECT spec FROM vms WHERE name = 't2'")
is "$(echo "$j" | jget 'j["uuid"]')" "6f5a1c44-0b7e-4d2a-9a53-2e0c6b1d7f10" "a given UUID is kept, in lower case"
is "$(echo "$j" | jget 'j["nics"][0]["mac"]')" "52:54:00:ab:cd:ef" "a given MAC is kept, in lower case"
is "$(echo "$j" | jget 'j["disks"][0]["format"] + " " + str(j["disks"][0]["size"])')" "qcow2 8388608" \
    "an existing disk's format and size are read with qemu-img info"
qemu-img create -q -f qcow2 "$A/ds2/other.qcow2" 1M
bad "a format the file does not have" "disks\[0\]\.format: .*other\.qcow2 is qcow2, not raw" \
    's["disks"] = [{"datastore": "ds2", "file": "other.qcow2", "format": "raw"}]'
bad "a duplicate name" "name: a VM named t1 already exists" 's["name"] = "t1"'
bad "a duplicate UUID" "uuid: 6f5a1c44-0b7e-4d2a-9a53-2e0c6b1d7f10 is already VM t2's" \
    's["uuid"] = "6f5a1c44-0b7e-4d2a-9a53-2e0c6b1d7f10"'
bad "a MAC another VM has" "nics\[0\]\.mac: 52:54:00:ab:cd:ef is already used by VM t2" \
    's["nics"][0]["mac"] = "52:54:00:ab:cd:ef"'
bad "a disk another VM has" "disks\[0\]\.file: t1\.img in datastore ds1 is already VM t1's" \
    's["disks"][0]["file"] = "t1.img"'
bad "a disk in a missing directory" "disks\[0\]\.file: directory .*/ds1/sub does not exist in datastore ds1" \
    's["disks"][0]["file"] = "sub/t3.img"'
is "$(dbq 'SELECT count(*) FROM vms')" 2 "still two VMs"
mkdir "$A/ds1/sub"
ok "define t3 from standard input, its disk in a subdirectory" \
    eval "ctl a vm define - <'$(spec t3 's["disks"][0]["file"] = "sub/t3.img"' 's["machine"] = "nosuch"')'"
ok "the disk is created there" test -f "$A/ds1/sub/t3.img"
fails "start a VM whose QEMU cannot start (machine nosuch)" ctl a vm start t3
like "$(cat "$T/last.out")" "VM t3: QEMU exited at start: .*machine" "is refused with QEMU's own words"
is "$(state_of t3)" shutoff "t3 stays shut off"
like "$(ctl a audit)" "vm-start +failed +VM t3: .*QEMU exited at start" "the failed start is audited"
ok "undefine t3" ctl a vm undefine t3
[ ! -e "$A/ds1/bad.img" ]; is "$?" 0 "no disk was left behind by the refused specs"

# --- start, list, show, serial capture
ok "start t1" ctl a vm start t1
PID1=$(show t1 'j["status"]["pid"]')
[ "${PID1:-0}" -gt 0 ] && VM_PIDS[t1]=$PID1
like "$(tr '\0' ' ' <"/proc/$PID1/cmdline" 2>/dev/null)" "-name guest=t1 .*-nodefaults .*-accel tcg -m $MEM " \
    "QEMU runs with the spec's name, memory and TCG"
unlike "$(tr '\0' ' ' <"/proc/$PID1/cmdline" 2>/dev/null)" "-incoming|-S " "an ordinary start is neither -S nor -incoming"
is "$(state_of t1)" running "t1 is running"
VMD=$A/state/vms/t1
is "$(stat -c %a "$VMD")" 700 "the VM's directory is 0700"
ok "with the supervisor, job and serial sockets" test -S "$VMD/qmp.sock" -a -S "$VMD/job.sock" -a -S "$VMD/serial.sock"
is "$(cat "$VMD/qemu.pid" 2>/dev/null)" "$PID1" "and QEMU's pid file"
like "$(ctl a vm list)" "t1 +running +1 +${MEM}M +1 +1 +$PID1 +-" "vm list shows t1 running with its pid"
like "$(ctl a vm list)" "t2 +shutoff " "and t2 shut off"
is "$(ctl a --json vm list | jget '",".join(v["name"] + "=" + v["state"] for v in j)')" "t1=running,t2=shutoff" \
    "vm list --json"
ok "the guest's serial lines are captured" wait_until 30 lines_above t1 2
like "$(head -n 1 "$VMD/serial.log")" "^[0-9]{13} (FERRY-(GUEST|TEST) READY|HB [0-9a-f]{8})$" \
    "each serial line is prefixed with the wall-clock time in ms"
like "$(cat "$VMD/serial.log")" "[0-9]{13} HB [0-9a-f]{8}" "heartbeat lines arrive"
out=$(ctl a vm show t1)
like "$out" "state +running" "vm show: the state"
like "$out" "serial +[0-9]+ lines" "vm show: the serial line count"
like "$out" "  [0-9]{13} HB [0-9a-f]{8}" "vm show: the tail of the console"
first=$(show t1 'j["status"]["serial_first_ms"]')
last=$(show t1 'j["status"]["serial_last_ms"]')
now=$(date +%s%3N)
ok "serial_first_ms <= serial_last_ms <= now" test "$first" -gt 0 -a "$first" -le "$last" -a "$last" -le "$now"
fails "start t1 again" ctl a vm start t1
like "$(cat "$T/last.out")" "VM t1 is already running" "is refused as already running"
fails "undefine a running VM" ctl a vm undefine t1
like "$(cat "$T/last.out")" "VM t1 is running: stop it first" "is refused"

# --- ferryd dies; QEMU lives on and is re-attached
lines=$(show t1 'j["status"]["serial_lines"]')
site_stop a KILL
ok "QEMU survives SIGKILL of ferryd" kill -0 "$PID1"
t_restart=$(date +%s%3N)
site_start a || { echo "Bail out! a did not restart"; exit 1; }
is "$(show t1 'j["status"]["pid"]')" "$PID1" "after the restart t1 has the same QEMU pid"
is "$(state_of t1)" running "and is still running"
like "$(cat "$A/ferryd.log")" "VM t1: re-attached to QEMU pid $PID1 \(running\)" "ferryd says it re-attached"
ok "the serial console is captured again" wait_until 30 lines_above t1 "$lines"
last=$(show t1 'j["status"]["serial_last_ms"]')
ok "with lines written after the restart" test "$last" -gt "$t_restart"

# --- a VM held by a migration job
dbq "UPDATE vms SET job = 'job-0042' WHERE name IN ('t1', 't2')"
fails "start a VM held by a job" ctl a vm start t2
like "$(cat "$T/last.out")" "VM t2 is held by migration job job-0042" "is refused, naming the job"
fails "stop a VM held by a job" ctl a vm stop t1 --force
like "$(cat "$T/last.out")" "VM t1 is held by migration job job-0042" "is refused, naming the job"
fails "undefine a VM held by a job" ctl a vm undefine t2
like "$(cat "$T/last.out")" "held by migration job job-0042" "is refused, naming the job"
is "$(show t2 'j["status"]["job"]')" job-0042 "vm show names the job"
dbq "UPDATE vms SET job = NULL"

# --- graceful stop
ok "stop t1 (power button, then quit after the grace period)" ctl a vm stop t1
is "$(state_of t1)" shutoff "t1 is shut off"
like "$(cat "$A/ferryd.log")" "VM t1 stopped \(quit after the grace period\)" \
    "through the re-attached monitor (the test guest ignores the power button)"
ok "its QEMU is gone" wait_until 10 eval "! kill -0 $PID1 2>/dev/null"
is "$(show t1 'j["status"]["pid"]')" 0 "no pid is shown"
fails "stop it again" ctl a vm stop t1
like "$(cat "$T/last.out")" "VM t1 is not running \(shutoff\)" "is refused: not running"

# --- a QEMU killed behind ferryd's back
ok "start t2" ctl a vm start t2
PID2=$(show t2 'j["status"]["pid"]')
[ "${PID2:-0}" -gt 0 ] && VM_PIDS[t2]=$PID2
ok "t2 runs" wait_until 10 is_state t2 running
kill -KILL "$PID2"
ok "killed behind ferryd's back, t2 shows as crashed" wait_until 15 is_state t2 crashed
like "$(ctl a audit)" "ferryd .* vm-exit +crashed +VM t2: QEMU pid $PID2 exited" "the crash is audited"
ok "a crashed VM can be started again" ctl a vm start t2
PID2=$(show t2 'j["status"]["pid"]')
[ "${PID2:-0}" -gt 0 ] && VM_PIDS[t2b]=$PID2
t0=$(date +%s%3N)
ok "stop --force" ctl a vm stop t2 --force
ok "is quick (no grace period)" test $(($(date +%s%3N) - t0)) -lt 3000
is "$(state_of t2)" shutoff "t2 is shut off"

# --- undefine
ok "undefine t1" ctl a vm undefine t1
like "$(cat "$T/last.out")" "undefined VM t1 \(its 1 disk file stays" "undefine says the disks stay"
ok "its directory is removed" test ! -e "$VMD"
ok "its disk stays" test -f "$A/ds1/t1.img"
fails "show an undefined VM" ctl a vm show t1
like "$(cat "$T/last.out")" "no VM named t1" "is refused: no VM named t1"
out=$(ctl a --json vm start nope); rc=$?
is "$rc" 1 "--json: a failure exits 1"
is "$(echo "$out" | jget 'j["error"] + ": " + j["message"]')" "NOTFOUND: no VM named nope" "--json: the error is JSON"
like "$(ctl a audit)" "vm-define +ok +VM t1: defined, uuid" "define is audited"
like "$(ctl a audit)" "vm-stop +ok +VM t2: forced" "stop is audited"
like "$(ctl a audit)" "vm-undefine +ok +VM t1" "undefine is audited"

# --- facts
out=$(ctl a --json vm facts)
is "$(echo "$out" | jget 'j["type"] + " " + ",".join(j["networks"]) + " " + ",".join(d["name"] for d in j["datastores"])')" \
    "qemu lan,dmz ds1,ds2" "vm facts: type, networks, datastores"
like "$(echo "$out" | jget 'j["qemu_version"]')" "^[0-9]+\.[0-9]+" "vm facts: the QEMU version"
ok "vm facts: free bytes" test "$(echo "$out" | jget 'j["datastores"][0]["free_bytes"]')" -gt 0

check_sanitizers
done_testing
