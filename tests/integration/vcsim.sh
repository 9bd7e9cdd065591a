#!/bin/bash
# vcsim.sh - the vCenter simulator fixture (tests/vcsim) does what the
# vSphere tests rely on: two instances as two sites with their own knobs,
# pinned TLS, enforced credentials, the inventory asked for, the added
# provisioning checker, and the fault knobs (malformed reply, stall, timeout).
# Talks SOAP 1.1 with curl, as a client would.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

VCSIM=$top_builddir/tests/vcsim/vcsim
[ -x "$VCSIM" ] || skip_all "vcsim not built (needs golang-go and golang-github-vmware-govmomi-dev)"
for tool in curl openssl python3; do
	command -v "$tool" >/dev/null 2>&1 || skip_all "$tool missing"
done

UUID_A=6a5f3c1e-0a0b-4c1d-9e2f-00000000000a
UUID_X=6a5f3c1e-0a0b-4c1d-9e2f-00000000c0de
BIOS_X=4231a1b2-0a0b-4c1d-9e2f-00000000b105
MAC_X=00:50:56:aa:bb:05
USER_A=administrator@vsphere.local
PASS_A=S3cret-pass

# vcsim_start NAME ARGS...: start a simulator, wait (bounded) for its ready file.
vcsim_start() {
	local name=$1 d=$T/$1 i; shift
	mkdir -p "$d/ds"
	"$VCSIM" -ready "$d/ready.json" -cert-out "$d/cert.pem" -dir "$d/ds" "$@" \
	    >"$d/stdout" 2>"$d/vcsim.log" &
	SITE_PID[$name]=$!
	for i in $(seq 1 300); do
		[ -s "$d/ready.json" ] && return 0
		kill -0 "${SITE_PID[$name]}" 2>/dev/null || break
		sleep 0.1
	done
	cat "$d/vcsim.log" >&2
	return 1
}

ready() { sed -n "s/.*\"$2\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p" "$T/$1/ready.json"; }
hostport() { ready "$1" url | sed 's|^https://||; s|/.*||'; }

ENV_HEAD='<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
ENV_TAIL='</soapenv:Body></soapenv:Envelope>'

# call NAME BODY [CURL-ARGS...]: POST a SOAP request to NAME's /sdk, trusting
# only NAME's certificate and keeping its session cookie.  Sets REPLY (the
# body, on one line), CODE (HTTP status), RC (curl's exit status) and LEN (Content-Length).
call() {
	local name=$1 body=$2; shift 2
	rm -f "$T/reply" "$T/headers"
	CODE=$(printf '%s%s%s' "$ENV_HEAD" "$body" "$ENV_TAIL" |
	    curl -s -m 10 --cacert "$T/$name/cert.pem" -b "$T/$name/cookies" -c "$T/$name/cookies" \
	    -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: "urn:vim25/7.0"' \
	    -D "$T/headers" -o "$T/reply" -w '%{http_code}' --data-binary @- "$@" "$(ready "$name" url)")
	RC=$?
	REPLY=$(tr '\n' ' ' <"$T/reply" 2>/dev/null)	# one line: regexes span it
	LEN=$(tr -d '\r' <"$T/headers" 2>/dev/null | sed -n 's/^[Cc]ontent-[Ll]ength: *//p' | tail -n 1)
}

# text TAG: the text of every <TAG> element of REPLY, one a line.
text() { printf '%s' "$REPLY" | grep -o "<$1>[^<]*</$1>" | sed "s|<$1>||; s|</$1>||"; }

SI='<_this type="ServiceInstance">ServiceInstance</_this>'
SM='<_this type="SessionManager">SessionManager</_this>'
PC='<_this type="PropertyCollector">propertyCollector</_this>'
PVC='<_this type="VirtualMachineProvisioningChecker">ProvChecker</_this>'
login() { call "$1" "<Login xmlns=\"urn:vim25\">$SM<userName>$2</userName><password>$3</password></Login>"; }
about() { local n=$1; shift; call "$n" "<RetrieveServiceContent xmlns=\"urn:vim25\">$SI</RetrieveServiceContent>" "$@"; }
wellformed() { python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$1"; }

# objects NAME TYPE PATH...: every object of TYPE through a ContainerView on
# the root folder, one <objects> element a line (RetrievePropertiesEx).
objects() {
	local name=$1 type=$2 view p ps=""; shift 2
	call "$name" "<CreateContainerView xmlns=\"urn:vim25\"><_this type=\"ViewManager\">ViewManager</_this><container type=\"Folder\">group-d1</container><type>$type</type><recursive>true</recursive></CreateContainerView>"
	view=$(printf '%s' "$REPLY" | sed -n 's|.*<returnval type="ContainerView">\([^<]*\)</returnval>.*|\1|p')
	for p in "$@"; do ps="$ps<pathSet>$p</pathSet>"; done
	call "$name" "<RetrievePropertiesEx xmlns=\"urn:vim25\">$PC<specSet><propSet><type>$type</type>$ps</propSet><objectSet><obj type=\"ContainerView\">$view</obj><skip>true</skip><selectSet xsi:type=\"TraversalSpec\"><type>ContainerView</type><path>view</path><skip>false</skip></selectSet></objectSet></specSet><options/></RetrievePropertiesEx>"
	printf '%s' "$REPLY" | sed 's|<objects>|\n<objects>|g' | grep '^<objects>'
}
moref_of() { grep ">$1</val>" | sed -n 's|^<objects><obj type="[^"]*">\([^<]*\)</obj>.*|\1|p'; }

# task_info NAME TASK: REPLY becomes the task's info.
task_info() {
	call "$1" "<RetrievePropertiesEx xmlns=\"urn:vim25\">$PC<specSet><propSet><type>Task</type><pathSet>info</pathSet></propSet><objectSet><obj type=\"Task\">$2</obj></objectSet></specSet><options/></RetrievePropertiesEx>"
}

# --- two sites, and two short-lived instances for the fault knobs
ok "site A simulator starts" vcsim_start a -instance-uuid "$UUID_A" \
	-vc-version 7.0.3 -vc-build 20150588 -api-version 7.0.3.0 -vc-hostname vc-a.site-a.test \
	-esx-version 7.0.3 -esx-build 20036589 -host-esx DC0_C0_H1=6.7.0:8169922 \
	-user "$USER_A" -password "$PASS_A" \
	-vms 6 -vm-prefix A_VM -hw-version vmx-15 -vm-hw A_VM1=vmx-19 \
	-portgroup "Prod A" -dvportgroup "DV Prod A" -vm-nic "A_VM4=Prod A" \
	-ds-capacity 2T -ds-free 100G -encrypted-vm A_VM2 -key-provider "HyTrust KMS" \
	-cluster-evc intel-broadwell -host-max-evc intel-cascadelake -vm-min-evc intel-sandybridge \
	-maintenance DC0_C0_H2 -disconnected DC0_H0 -dns-domain site-a.test -dns-server 192.0.2.53 \
	-checker-warning "A_VM0=Virtual NIC on a port group with no uplink" \
	-checker-error "A_VM1=The key provider HyTrust KMS is not available" \
	-suspended A_VM5 -vm-power-state A_VM0=migrating -vm-uuid "A_VM5=$UUID_X" -vm-bios-uuid "A_VM5=$BIOS_X" \
	-vm-mac "A_VM5=$MAC_X" -host-evc DC0_C0_H1=intel-haswell \
	-portgroup-vlan "Prod A=10" -host-portgroup-vlan "DC0_C0_H1:Prod A=11" -portgroup-vlan "DV Prod A=pvlan:5" \
	-dvportgroup "DV Trunk" -portgroup-vlan "DV Trunk=trunk" -network-name "DV Trunk=Prod A" -max-seconds 120
ok "site B simulator starts with 1000 VMs" vcsim_start b -vms 1000 -vm-prefix B_VM \
	-checker off -malformed CurrentTime -datastores 2 -ds-no-free LocalDS_1 -max-seconds 120

# --- the ready line
is "$(cat "$T/a/stdout")" "$(cat "$T/a/ready.json")" "the ready line on stdout is the ready file's"
like "$(ready a url)" '^https://127\.0\.0\.1:[0-9]+/sdk$' "ready url is https on loopback /sdk"
is "$(ready a pid)" "${SITE_PID[a]}" "ready pid is the simulator's"
is "$(ready a instance_uuid)" "$UUID_A" "ready instance_uuid is the configured one"

# --- TLS: its own certificate per instance, the thumbprints announced are its
fp() { openssl s_client -connect "$(hostport "$1")" </dev/null 2>/dev/null |
	openssl x509 -noout -fingerprint "-$2" | sed 's/.*=//'; }
is "$(fp a sha1)" "$(ready a thumbprint_sha1)" "site A serves the certificate of its SHA-1 thumbprint"
is "$(fp a sha256)" "$(ready a thumbprint_sha256)" "site A serves the certificate of its SHA-256 thumbprint"
like "$(ready a thumbprint_sha1)" '^([0-9A-F]{2}:){19}[0-9A-F]{2}$' "SHA-1 thumbprint in vCenter's AA:BB form"
ok "the two sites have different certificates" test "$(ready a thumbprint_sha256)" != "$(ready b thumbprint_sha256)"
fails "site B's certificate does not verify site A" \
	curl -s -m 5 --cacert "$T/b/cert.pem" -o /dev/null -d x "$(ready a url)"

# --- RetrieveServiceContent: identity and versions, per instance
about a
is "$(text instanceUuid)" "$UUID_A" "site A about.instanceUuid"
is "$(text version)/$(text build)/$(text apiVersion)" "7.0.3/20150588/7.0.3.0" "site A about version/build/apiVersion"
about b
is "$(text instanceUuid)" "$(ready b instance_uuid)" "site B about.instanceUuid is the one announced"
ok "the two sites have different instance UUIDs" test "$(text instanceUuid)" != "$UUID_A"
is "$(text version)" "6.5.0" "site B keeps the simulator's default version"

# --- credentials and sessions
call a "<RetrievePropertiesEx xmlns=\"urn:vim25\">$PC<specSet><propSet><type>SessionManager</type><pathSet>currentSession</pathSet></propSet><objectSet><obj type=\"SessionManager\">SessionManager</obj></objectSet></specSet><options/></RetrievePropertiesEx>"
like "$CODE $REPLY" '^500 .*NotAuthenticatedFault' "reading properties before login: NotAuthenticated"
# A fresh cookie jar for each attempt: the simulator also refuses a Login on
# a session that is already logged in.
rm -f "$T/a/cookies"
login a "$USER_A" wrong-password
like "$CODE $REPLY" '^500 .*<InvalidLoginFault' "site A refuses a wrong password with InvalidLogin"
rm -f "$T/a/cookies"
login a other-user "$PASS_A"
like "$CODE $REPLY" '^500 .*<InvalidLoginFault' "site A refuses a wrong user with InvalidLogin"
rm -f "$T/a/cookies"
login a "$USER_A" "$PASS_A"
is "$CODE $(text userName)" "200 $USER_A" "site A accepts the right credentials"
login b someone something
is "$CODE" 200 "site B (no -user) accepts any non-empty credentials"

# --- inventory through a ContainerView
vms_a=$(objects a VirtualMachine name config.version config.keyId runtime.minRequiredEVCModeKey runtime.connectionState config.hardware.device runtime.powerState config.instanceUuid config.uuid)
vms_b=$(objects b VirtualMachine name)
is "$(printf '%s\n' "$vms_a" | grep -c '<name>name</name>')" 6 "site A has the 6 VMs asked for"
is "$(printf '%s\n' "$vms_b" | grep -c '<name>name</name>')" 1000 "site B has the 1000 VMs asked for"
like "$(printf '%s\n' "$vms_b" | head -n 1)" '>B_VM[0-9]+</val>' "site B's VMs carry its prefix"
vm1=$(printf '%s\n' "$vms_a" | grep '>A_VM1</val>')
vm2=$(printf '%s\n' "$vms_a" | grep '>A_VM2</val>')
like "$vm1" '>vmx-19</val>' "per-VM hardware version override"
is "$(printf '%s\n' "$vms_a" | grep -c '>vmx-15</val>')" 5 "the other VMs have the configured hardware version"
like "$vm2" '<keyId>[0-9a-f-]{36}</keyId><providerId><id>HyTrust KMS</id>' "the encrypted VM has a key from the configured provider"
is "$(printf '%s\n' "$vms_a" | grep -c '<name>config.keyId</name>')" 1 "only that VM is encrypted"
is "$(printf '%s\n' "$vms_a" | grep -c '>intel-sandybridge</val>')" 6 "VMs' runtime.minRequiredEVCModeKey"
like "$(printf '%s\n' "$vms_a" | grep '>A_VM3</val>')" '>disconnected</val>' "a VM on the disconnected host is disconnected"
like "$(printf '%s\n' "$vms_a" | grep '>A_VM4</val>')" '<deviceName>Prod A</deviceName>' "per-VM NIC network override (standard port group)"
like "$(printf '%s\n' "$vms_a" | grep '>A_VM0</val>')" 'VirtualEthernetCardDistributedVirtualPortBackingInfo' "default NIC on a distributed port group"
vm5=$(printf '%s\n' "$vms_a" | grep '>A_VM5</val>')
like "$vm5" 'runtime.powerState</name><val[^>]*>suspended<' "-suspended: runtime.powerState suspended"
like "$(printf '%s\n' "$vms_a" | grep '>A_VM0</val>')" 'runtime.powerState</name><val[^>]*>migrating<' \
	"-vm-power-state: a state vSphere's enum lacks, as given"
is "$(printf '%s\n' "$vms_a" | grep -c 'runtime.powerState</name><val[^>]*>poweredOn<')" 4 "the other VMs are powered on"
like "$vm5" "config.instanceUuid</name><val[^>]*>$UUID_X<" "-vm-uuid: config.instanceUuid"
like "$vm5" "config.uuid</name><val[^>]*>$BIOS_X<" "-vm-bios-uuid: config.uuid"
like "$vm5" "<macAddress>$MAC_X</macAddress>" "-vm-mac: the NIC's MAC address"
like "$vm5" "<addressType>manual</addressType><macAddress>$MAC_X<|<macAddress>$MAC_X</macAddress>.*<addressType>manual<" \
	"-vm-mac: a manual MAC"
is "$(printf '%s\n' "$vms_a" | grep -c "$UUID_X\|$BIOS_X\|$MAC_X")" 1 "no other VM has those UUIDs or that MAC"

nets_a=$(objects a Network name | sed -n 's|.*<val[^>]*>\([^<]*\)</val>.*|\1|p' | sort | tr '\n' '|')
is "$(printf '%s' "$nets_a" | tr '|' '\n' | grep -c '^Prod A$')" 2 "-network-name: two networks named Prod A"
like "$(objects a Network name | grep '>Prod A</val>' | grep -o 'type="[A-Za-z]*"' | sort | tr '\n' ' ')" \
	'type="DistributedVirtualPortgroup" type="Network"' "-network-name: the renamed one is the distributed one"
dvpgs_a=$(objects a DistributedVirtualPortgroup config.name config.defaultPortConfig)
like "$(printf '%s\n' "$dvpgs_a" | grep '>DV Prod A</val>')" 'VmwareDistributedVirtualSwitchPvlanSpec.*<pvlanId>5</pvlanId>' \
	"-portgroup-vlan pvlan:5: a private VLAN spec on the distributed port group"
like "$(printf '%s\n' "$dvpgs_a" | grep '>Prod A</val>')" 'VmwareDistributedVirtualSwitchTrunkVlanSpec.*<start>0</start><end>4094</end>' \
	"-portgroup-vlan trunk: a trunk 0-4094 (by the name made with, before -network-name)"
nets_b=$(objects b Network name | sed -n 's|.*<val[^>]*>\([^<]*\)</val>.*|\1|p' | sort | tr '\n' '|')
like "$nets_a" '(^|\|)Prod A\|' "site A has the standard port group with a space in its name"
like "$nets_a" '(^|\|)DV Prod A\|' "site A has the distributed port group"
like "$nets_a" '(^|\|)VM Network\|' "site A keeps VM Network"
unlike "$nets_b" 'Prod A' "site B does not have site A's port groups"
like "$(objects a Network summary | grep '>DV Prod A</name>')" 'DistributedVirtualPortgroup' "a -dvportgroup is a DistributedVirtualPortgroup"

ds_a=$(objects a Datastore summary.freeSpace summary.capacity)
like "$ds_a" '>107374182400</val>' "datastore free space is the configured 100G"
like "$ds_a" '>2199023255552</val>' "datastore capacity is the configured 2T"
ds_b=$(objects b Datastore summary.name summary.freeSpace summary.capacity)
like "$(printf '%s\n' "$ds_b" | grep '>LocalDS_1</val>')" 'summary.capacity' "-ds-no-free: the datastore's capacity is there"
unlike "$(printf '%s\n' "$ds_b" | grep '>LocalDS_1</val>')" 'summary.freeSpace' "-ds-no-free: its free space is not"
like "$(printf '%s\n' "$ds_b" | grep '>LocalDS_0</val>')" 'summary.freeSpace</name><val[^>]*>[0-9]+<' "the other datastore's free space is"
ds1=$(printf '%s\n' "$ds_b" | moref_of LocalDS_1)
call b "<RetrieveProperties xmlns=\"urn:vim25\">$PC<specSet><propSet><type>Datastore</type><pathSet>summary.name</pathSet><pathSet>summary.freeSpace</pathSet></propSet><objectSet><obj type=\"Datastore\">$ds1</obj></objectSet></specSet></RetrieveProperties>"
like "$REPLY" '>LocalDS_1</val>' "-ds-no-free: RetrieveProperties (not Ex) answers"
unlike "$REPLY" 'summary.freeSpace' "-ds-no-free: without the free space either"

hosts_a=$(objects a HostSystem name config.product.version config.product.build config.network.dnsConfig runtime.inMaintenanceMode runtime.connectionState summary.maxEVCModeKey summary.currentEVCModeKey config.network.portgroup)
like "$(printf '%s\n' "$hosts_a" | grep '>DC0_C0_H1</val>')" '>6\.7\.0</val>.*>8169922</val>' "per-host ESXi version override"
is "$(printf '%s\n' "$hosts_a" | grep -c '>7\.0\.3</val>.*>20036589</val>')" 3 "the other hosts have the configured ESXi version"
like "$(printf '%s\n' "$hosts_a" | grep '>DC0_C0_H2</val>')" 'inMaintenanceMode</name><val[^>]*>true<' "host in maintenance mode"
like "$(printf '%s\n' "$hosts_a" | grep '>DC0_H0</val>')" 'connectionState</name><val[^>]*>disconnected<' "disconnected host"
is "$(printf '%s\n' "$hosts_a" | grep -c 'connectionState</name><val[^>]*>connected<')" 3 "the other hosts are connected"
like "$(printf '%s\n' "$hosts_a" | grep '>DC0_C0_H0</val>')" '<hostName>DC0_C0_H0</hostName><domainName>site-a\.test</domainName><address>192\.0\.2\.53</address>' "hosts' DNS config"
is "$(printf '%s\n' "$hosts_a" | grep -c 'maxEVCModeKey</name><val[^>]*>intel-cascadelake<')" 3 "hosts' max EVC mode"
like "$(printf '%s\n' "$hosts_a" | grep '>DC0_C0_H1</val>')" 'maxEVCModeKey</name><val[^>]*>intel-haswell<' "-host-evc: that host's max EVC mode"
is "$(printf '%s\n' "$hosts_a" | grep -o '<spec><name>Prod A</name><vlanId>[0-9]*<' | sort | uniq -c | tr -s ' ' | tr '\n' ';')" \
	" 3 <spec><name>Prod A</name><vlanId>10<; 1 <spec><name>Prod A</name><vlanId>11<;" \
	"-portgroup-vlan, -host-portgroup-vlan: Prod A on VLAN 10 on three hosts, 11 on the fourth"
like "$(printf '%s\n' "$hosts_a" | grep '>DC0_C0_H1</val>')" '<spec><name>Prod A</name><vlanId>11<' "... that fourth is DC0_C0_H1"
like "$(objects a ClusterComputeResource summary)" '<currentEVCModeKey>intel-broadwell</currentEVCModeKey>' "cluster's current EVC mode"
call a "<RetrievePropertiesEx xmlns=\"urn:vim25\">$PC<specSet><propSet><type>OptionManager</type><pathSet>setting</pathSet></propSet><objectSet><obj type=\"OptionManager\">VpxSettings</obj></objectSet></specSet><options/></RetrievePropertiesEx>"
like "$REPLY" '<key>VirtualCenter\.FQDN</key><value[^>]*>vc-a\.site-a\.test</value>' "vCenter host name in VirtualCenter.FQDN"

# --- the provisioning checker
host1=$(printf '%s\n' "$hosts_a" | moref_of DC0_C0_H1)
check_relocate() {	# check_relocate VM-NAME: REPLY becomes the task's info
	local vm task
	vm=$(printf '%s\n' "$vms_a" | moref_of "$1")
	call a "<CheckRelocate_Task xmlns=\"urn:vim25\">$PVC<vm type=\"VirtualMachine\">$vm</vm><spec><host type=\"HostSystem\">$host1</host></spec></CheckRelocate_Task>"
	task=$(printf '%s' "$REPLY" | sed -n 's|.*<returnval type="Task">\([^<]*\)</returnval>.*|\1|p')
	[ -n "$task" ] && task_info a "$task"
}
check_relocate A_VM3
like "$REPLY" '<state>success</state>.*ArrayOfCheckResult.*<CheckResult><vm type="VirtualMachine">[^<]*</vm><host type="HostSystem">'"$host1"'</host></CheckResult>' "CheckRelocate_Task: a clear CheckResult for the destination host"
check_relocate A_VM1
like "$REPLY" '<CheckResult>.*<error><fault [^>]*type="MigrationFault"[^>]*></fault><localizedMessage>The key provider HyTrust KMS is not available</localizedMessage></error>' "CheckRelocate_Task: the configured error"
unlike "$REPLY" '<warning>' "CheckRelocate_Task: no warning where none is configured"
check_relocate A_VM0
like "$REPLY" '<warning>.*<localizedMessage>Virtual NIC on a port group with no uplink</localizedMessage></warning>' "CheckRelocate_Task: the configured warning"
unlike "$REPLY" '<error>' "CheckRelocate_Task: no error where none is configured"
call a "<CheckRelocate_Task xmlns=\"urn:vim25\">$PVC<vm type=\"VirtualMachine\">vm-nosuch</vm><spec/></CheckRelocate_Task>"
like "$CODE $REPLY" '^500 .*ManagedObjectNotFoundFault' "CheckRelocate_Task on an unknown VM: ManagedObjectNotFound"
vm0=$(printf '%s\n' "$vms_a" | moref_of A_VM0)
vm1=$(printf '%s\n' "$vms_a" | moref_of A_VM1)
host2=$(printf '%s\n' "$hosts_a" | moref_of DC0_C0_H0)
call a "<QueryVMotionCompatibilityEx_Task xmlns=\"urn:vim25\">$PVC<vm type=\"VirtualMachine\">$vm0</vm><vm type=\"VirtualMachine\">$vm1</vm><host type=\"HostSystem\">$host1</host><host type=\"HostSystem\">$host2</host></QueryVMotionCompatibilityEx_Task>"
task_info a "$(printf '%s' "$REPLY" | sed -n 's|.*<returnval type="Task">\([^<]*\)</returnval>.*|\1|p')"
is "$(printf '%s' "$REPLY" | grep -o '<CheckResult>' | wc -l)" 4 "QueryVMotionCompatibilityEx_Task: one CheckResult per VM and host"
is "$(printf '%s' "$REPLY" | grep -o '<error>' | wc -l)" 2 "QueryVMotionCompatibilityEx_Task: the error on both hosts of that VM"
vmb=$(printf '%s\n' "$vms_b" | moref_of B_VM0)
call b "<CheckRelocate_Task xmlns=\"urn:vim25\">$PVC<vm type=\"VirtualMachine\">$vmb</vm><spec/></CheckRelocate_Task>"
like "$CODE $REPLY" '^500 .*MethodNotFoundFault' "with -checker off, CheckRelocate_Task is MethodNotFound"

# --- malformed reply
call b "<CurrentTime xmlns=\"urn:vim25\">$SI</CurrentTime>"
is "$CODE/$RC" "200/0" "-malformed: the reply is a complete HTTP 200"
is "$LEN" "$(wc -c <"$T/reply")" "-malformed: Content-Length matches the body sent"
like "$REPLY" '^<\?xml' "-malformed: the body starts as a SOAP reply"
fails "-malformed: the body is not well-formed XML" wellformed "$T/reply"
about b
ok "other methods' replies stay well-formed" wellformed "$T/reply"

# --- bad knob values: refused at start (exit 1), the message naming the flag
# rejects DESC REGEX ARGS...: a simulator given ARGS exits 1, its message matching REGEX
rejects() {
	local desc=$1 re=$2 out rc; shift 2
	mkdir -p "$T/bad/ds"
	out=$(timeout 30 "$VCSIM" -dir "$T/bad/ds" -max-seconds 20 -vms 1 "$@" 2>&1 >/dev/null)
	rc=$?
	like "$rc $out" "^1 vcsim: $re" "$desc"
}
rejects "-vm-mac with a bad MAC" '-vm-mac VM0=00:50:56:zz:00:01: .*invalid MAC' -vm-mac VM0=00:50:56:zz:00:01
rejects "-vm-uuid of a VM that is not there" '-vm-uuid: no VM named "VM7"' -vm-uuid "VM7=$UUID_X"
rejects "-vm-power-state without a state" '-vm-power-state "VM0": want NAME=VALUE' -vm-power-state VM0
rejects "-suspended of a powered-off VM" '-suspended VM0: not powered on' -suspended VM0 -powered-off VM0
rejects "-host-evc of a host that is not there" '-host-evc: no host named "DC0_C9_H9"' -host-evc DC0_C9_H9=intel-haswell
rejects "-network-name of a network that is not there" '-network-name Nope=X: no network named "Nope"' -network-name Nope=X
rejects "-portgroup-vlan trunk on a standard port group" \
	'-portgroup-vlan "VM Network=trunk": VM Network is a standard port group: give a VLAN ID' -portgroup-vlan "VM Network=trunk"
rejects "-portgroup-vlan out of range" '-portgroup-vlan "DC0_DVPG0=4096": want a VLAN ID 0..4095' -portgroup-vlan DC0_DVPG0=4096
rejects "-host-portgroup-vlan on a distributed port group" \
	'-host-portgroup-vlan "DC0_C0_H0:DC0_DVPG0=5": DC0_DVPG0 is not a standard port group' \
	-host-portgroup-vlan DC0_C0_H0:DC0_DVPG0=5
rejects "-ds-no-free of a datastore that is not there" '-ds-no-free: no datastore named "LocalDS_9"' -ds-no-free LocalDS_9
is "$(ls -A "$T/bad/ds")" "" "a refused start leaves no datastore directory behind"

# --- stall: hang (C) and close (D)
t0=$(date +%s)
# (10 s: on a loaded machine the calls below must all come before C ends itself)
ok "fault instance C starts (stall after 1 request, max 10 s)" vcsim_start c \
	-vms 0 -stall-after 1 -max-seconds 10
ok "fault instance D starts (close on Login)" vcsim_start d \
	-vms 0 -stall-after 0 -stall-method Login -stall-mode close -max-seconds 60
about c
is "$CODE" 200 "-stall-after 1: the first request is answered"
about c -m 2
is "$RC" 28 "-stall-after 1: the second request gets no answer (client timeout)"
about d
is "$CODE" 200 "-stall-method Login: other methods are answered"
login d user pass
is "$RC" 52 "-stall-mode close: Login's connection is closed without a reply"
about d
is "$CODE" 200 "... and the simulator still answers other calls"

# --- -max-seconds: C ends by itself (status 124), leaving nothing behind
for i in $(seq 1 150); do
	kill -0 "${SITE_PID[c]}" 2>/dev/null || break
	sleep 0.1
done
fails "-max-seconds 10: the simulator has exited" kill -0 "${SITE_PID[c]}"
wait "${SITE_PID[c]}" 2>/dev/null
is "$?" 124 "-max-seconds: exit status 124"
unset "SITE_PID[c]"
t1=$(($(date +%s) - t0))
ok "-max-seconds: not before its time nor long after (${t1} s)" test "$t1" -ge 9 -a "$t1" -le 15
fails "-max-seconds: ready file removed" test -e "$T/c/ready.json"
is "$(ls -A "$T/c/ds")" "" "-max-seconds: datastore directories removed"

# --- SIGTERM: a clean exit
ok "site A stops on SIGTERM with status 0" site_stop a
fails "SIGTERM: ready file removed" test -e "$T/a/ready.json"
is "$(ls -A "$T/a/ds")" "" "SIGTERM: datastore directories removed"

if [ "$_failed" -ne 0 ]; then
	for f in "$T"/*/vcsim.log; do
		[ -s "$f" ] && { echo "# --- $f"; tail -n 20 "$f" | sed 's/^/# /'; }
	done
fi
done_testing
