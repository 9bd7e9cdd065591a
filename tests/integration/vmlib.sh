# vmlib.sh - what the migration tests share (bash; source after lib.sh):
# VM state at a site, the exactly-one-site invariant, heartbeats from the
# serial capture, and waits on jobs.  Every wait is bounded.
# SPDX-License-Identifier: GPL-2.0-or-later

# vm_state SITE VM: shutoff, running, paused, incoming, crashed, "absent" or "error"
vm_state() {
	ctl "$1" --json vm list >"$T/list.json" 2>/dev/null || { echo "error"; return; }
	python3 -c "import json,sys; l=json.load(open(sys.argv[1])); m=[v['state'] for v in l if v['name']==sys.argv[2]]; print(m[0] if m else 'absent')" \
		"$T/list.json" "$2"
}

# one_site VM SITE: the invariant, running at SITE and absent at the other of a and b
one_site() {
	local other sa sb
	[ "$2" = a ] && other=b || other=a
	sa=$(vm_state "$2" "$1"); sb=$(vm_state "$other" "$1")
	[ "$sa" = running ] && [ "$sb" = absent ] && return 0
	echo "VM $1: $sa at $2, $sb at $other (want running at $2 only)"
	return 1
}

# heartbeats SITE VM: how many heartbeat lines ferryd captured so far
heartbeats() {
	local f=$T/$1/state/vms/$2/serial.log
	if [ -f "$f" ]; then grep -c ' HB ' "$f" || true; else echo 0; fi
}

# wait_beats SITE VM N: at least N more heartbeats within 20 s
wait_beats() {
	local n0 i
	n0=$(heartbeats "$1" "$2")
	for i in $(seq 1 200); do
		[ "$(heartbeats "$1" "$2")" -ge $((n0 + $3)) ] && return 0
		sleep 0.1
	done
	echo "no heartbeats from $2 at $1"
	return 1
}

# job_of FILE: the job id in ferryctl migrate's output
job_of() { sed -n 's/^job \(m-[0-9a-f]*\).*/\1/p' "$1" | head -n 1; }

# wait_job SITE JOB: its outcome once it is no longer active (bounded: 120 s)
wait_job() {
	local i o
	for i in $(seq 1 600); do
		o=$(ctl "$1" --json job show "$2" 2>/dev/null | sed -n 's/^  "outcome": "\([a-z]*\)".*/\1/p')
		[ -n "$o" ] && [ "$o" != active ] && { echo "$o"; return 0; }
		sleep 0.2
	done
	echo "timeout"
	return 1
}

# wait_phase SITE JOB PHASE: until the job reached PHASE (bounded: 60 s)
wait_phase() {
	local i
	for i in $(seq 1 300); do
		ctl "$1" --json job show "$2" 2>/dev/null | grep -q "\"phase\": \"$3\"" && return 0
		sleep 0.2
	done
	return 1
}

# wait_event SITE JOB TEXT: until the job's events mention TEXT (bounded: 60 s)
wait_event() {
	local i
	for i in $(seq 1 300); do
		ctl "$1" job show "$2" 2>/dev/null | grep -q "$3" && return 0
		sleep 0.2
	done
	return 1
}
