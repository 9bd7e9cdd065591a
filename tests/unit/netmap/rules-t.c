/*
 * rules-t.c - the pre-flight rules (netmap_check): starting from a clean
 * vSphere pair that passes every rule, each test changes one fact and
 * checks that the rule's finding appears, with the values compared (the
 * positive case), and that a nearby value that is fine does not raise it
 * (the negative case).  Codes as in ferry-findings(7).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "netmap/netmap.h"
#include "tests/tap.h"
#include "tests/unit/netmap/fixture.h"

/* The finding code for vm (-1 site, -2 any) is there, with these values (NULL: any). */
static void
expect(struct fx *f, const char *code, int vm, const char *src, const char *dst, const char *what)
{
	const struct netmap_finding *x = netmap_report_find(f->r, code, vm);
	int good = x != NULL && (src == NULL || strcmp(x->src_value, src) == 0) &&
	    (dst == NULL || strcmp(x->dst_value, dst) == 0);

	ok(good, "%s: %s", code, what);
	if (x == NULL)
		diag("findings: %s", fx_codes(f->r));
	else if (!good)
		diag("values: \"%s\" | \"%s\"", x->src_value, x->dst_value);
}

/* Neither code nor any other finding of its area's severity at error/warning. */
static void
expect_none(struct fx *f, const char *code, const char *what)
{
	size_t n = fx_count(f->r, code, -2);

	ok(n == 0, "no %s: %s", code, what);
	if (n != 0)
		diag("findings: %s", fx_codes(f->r));
}

/* The message of the first finding code, "" when none. */
static const char *
msg(struct fx *f, const char *code)
{
	const struct netmap_finding *x = netmap_report_find(f->r, code, -2);

	return x ? x->message : "";
}

static void
t_clean(void)
{
	struct fx f;

	fx_init(&f);
	fx_run(&f);
	is_str(fx_codes(f.r), "FY-LINK-006 FY-LINK-002", "clean pair: only the transfer estimates");
	is_int(netmap_report_verdict(f.r, -1), NETMAP_CLEAR, "clean pair: clear");
	is_int(netmap_report_exit_code(f.r, 1), 0, "clean pair: exit 0 even with --strict");
	fx_free(&f);
}

static void
t_site(void)
{
	struct fx f;

	fx_init(&f);
	jset(f.dst, "type", json_string("qemu"));
	fx_run(&f);
	expect(&f, "FY-SITE-001", -1, "vsphere", "qemu", "vSphere to qemu is refused");
	is_int(netmap_report_verdict(f.r, 0), NETMAP_BLOCKED, "a site-level error blocks the VM");
	fx_free(&f);

	fx_init_qemu(&f);
	fx_run(&f);
	expect_none(&f, "FY-SITE-001", "qemu to qemu");
	fx_free(&f);
}

static void
t_versions(void)
{
	struct fx f;

	fx_init(&f);
	jset(f.src, "vcenter.version", json_string("5.5.0"));
	fx_run(&f);
	expect(&f, "FY-VER-001", -1, "5.5.0", "7.0.3", "a 5.5 source vCenter");
	jset(f.src, "vcenter.version", json_string("6.0.0"));
	jset(f.dst, "vcenter.version", json_string("6.0.0"));
	fx_run(&f);
	expect_none(&f, "FY-VER-001", "6.0 at both ends");
	expect_none(&f, "FY-VER-002", "6.0 at both ends");

	jset(f.src, "vcenter.version", json_string("8.0.2"));
	jset(f.dst, "vcenter.version", json_string("7.0.3"));
	fx_run(&f);
	expect(&f, "FY-VER-002", -1, "8.0.2", "7.0.3", "8.0 U2 to 7.0 U3 is a move to an older vCenter");
	ok(strstr(msg(&f, "FY-VER-002"), "8.0 U2") != NULL, "FY-VER-002 names the release line");
	jset(f.src, "vcenter.version", json_string("7.0.3"));
	jset(f.dst, "vcenter.version", json_string("8.0.0"));
	fx_run(&f);
	expect_none(&f, "FY-VER-002", "7.0.3 to 8.0.0 is newer");

	jset(f.dst, "vcenter.version", json_string("9.0.0"));
	fx_run(&f);
	expect(&f, "FY-VER-003", -1, "7.0.3", "9.0.0", "9.0 is not in the matrix");
	jset(f.dst, "vcenter.version", json_string("seven"));
	fx_run(&f);
	expect(&f, "FY-VER-003", -1, NULL, "seven", "an unreadable version");
	jset(f.dst, "vcenter.version", json_string("8.0.2"));
	fx_run(&f);
	expect_none(&f, "FY-VER-003", "8.0.2 is in the matrix");

	jdel(f.src, "vcenter");
	jdel(f.dst, "vcenter");
	fx_run(&f);
	expect(&f, "FY-VER-000", -1, "not reported", "not reported", "no management server versions");
	fx_free(&f);

	fx_init(&f);
	fx_run(&f);
	expect_none(&f, "FY-VER-000", "both versions reported");
	/* ESXi: the VM's host against the destination's. */
	jset(f.src, "hosts[0].version", json_string("8.0.2"));
	jset(f.dst, "hosts[0].hw_versions", J("[13, 14, 15, 17, 18, 19, 20, 21]"));
	fx_run(&f);
	expect(&f, "FY-VER-004", 0, "8.0.2", "1 of 1 hosts older (oldest 7.0.3)", "ESXi 8.0.2 to 7.0.3");
	jset(f.dst, "hosts[0].version", json_string("8.0.2"));
	fx_run(&f);
	expect_none(&f, "FY-VER-004", "same ESXi at the destination");
	fx_free(&f);

	fx_init_qemu(&f);
	jset(f.src, "qemu_version", json_string("8.1.0"));
	fx_run(&f);
	expect(&f, "FY-VER-005", -1, "8.1.0", "7.2.22", "QEMU 8 to QEMU 7");
	jset(f.src, "qemu_version", json_string("7.2.22"));
	jset(f.dst, "qemu_version", json_string("7.0.0"));
	fx_run(&f);
	expect_none(&f, "FY-VER-005", "same major, older minor");
	jset(f.dst, "qemu_version", json_string("8.2.0"));
	fx_run(&f);
	expect_none(&f, "FY-VER-005", "a newer QEMU at the destination");
	expect_none(&f, "FY-VER-003", "both QEMU versions readable");
	jset(f.dst, "qemu_version", json_string(""));
	fx_run(&f);
	expect(&f, "FY-VER-003", -1, "7.2.22", "", "QEMU version unknown at the destination");
	fx_free(&f);
}

static void
t_hw(void)
{
	struct fx f;

	fx_init(&f);
	jset(f.src, "vms[0].hw_version", json_integer(21));
	fx_run(&f);
	expect(&f, "FY-HW-001", 0, "vmx-21", "newest vmx-19", "vmx-21 on ESXi 7.0.3 (matrix: 19)");
	jset(f.src, "vms[0].hw_version", json_string("vmx-19"));
	fx_run(&f);
	expect_none(&f, "FY-HW-001", "vmx-19 on ESXi 7.0.3");
	/* A host's own list wins over the matrix. */
	jset(f.dst, "hosts[0].hw_versions", J("[13, 14]"));
	jset(f.src, "vms[0].hw_version", json_integer(15));
	fx_run(&f);
	expect(&f, "FY-HW-001", 0, "vmx-15", "newest vmx-14", "the host's list lacks 15");
	jset(f.dst, "hosts[0].hw_versions", J("[13, 14, 15]"));
	fx_run(&f);
	expect_none(&f, "FY-HW-001", "the host's list has 15");
	fx_free(&f);

	fx_init(&f);
	japp(f.dst, "hosts", J("{'name': 'esx2.b.example', 'version': '6.5.0', 'connection_state': 'connected'}"));
	japp(f.dst, "dns", J("{'name': 'esx2.b.example', 'forward': ['198.51.100.12'], 'reverse': ['esx2.b.example']}"));
	japp(f.src, "dns", J("{'name': 'esx2.b.example', 'forward': ['198.51.100.12'], 'reverse': ['esx2.b.example']}"));
	jset(f.src, "vms[0].hw_version", json_integer(17));
	jset(f.src, "vms[0].min_evc", json_null());
	fx_run(&f);
	expect(&f, "FY-HW-002", 0, "vmx-17", "1 of 2 hosts cannot", "an ESXi 6.5 host cannot run vmx-17");
	expect_none(&f, "FY-HW-001", "one host can");
	jset(f.src, "vms[0].hw_version", json_integer(13));
	fx_run(&f);
	expect_none(&f, "FY-HW-002", "both hosts run vmx-13");
	fx_free(&f);

	/* ESXi 6.7 U2 and later run vmx-15 but report 6.7.0: the build decides. */
	fx_init(&f);
	jset(f.dst, "hosts[0].version", json_string("6.7.0"));
	jset(f.dst, "hosts[0].build", json_string("13006603"));
	jset(f.src, "vms[0].hw_version", json_integer(15));
	jset(f.src, "vms[0].min_evc", json_null());
	fx_run(&f);
	expect_none(&f, "FY-HW-001", "vmx-15 on ESXi 6.7.0 build 13006603 (U2)");
	expect_none(&f, "FY-HW-003", "and it is judged, not unknown");
	jset(f.dst, "hosts[0].build", json_string("8169922"));
	fx_run(&f);
	expect(&f, "FY-HW-001", 0, "vmx-15", "newest vmx-14", "vmx-15 on ESXi 6.7.0 build 8169922 (GA)");
	jdel(f.dst, "hosts[0].build");
	fx_run(&f);
	expect_none(&f, "FY-HW-001", "without a build, vmx-15 on 6.7.0 is not refused");
	ok(fx_count(f.r, "FY-HW-003", 0) == 1, "but said unknown (FY-HW-003)");
	fx_free(&f);

	fx_init(&f);
	jset(f.dst, "hosts[0].version", json_string("9.1.0"));
	fx_run(&f);
	expect(&f, "FY-HW-003", 0, "vmx-13", "1 host unknown", "ESXi 9.1 without a list");
	japp(f.dst, "hosts", J("{'name': 'esx2.b.example', 'version': '9.1.0', 'connection_state': 'connected',"
	    " 'max_evc': 'intel-skylake'}"));
	fx_run(&f);
	expect(&f, "FY-HW-003", 0, "vmx-13", "2 hosts unknown", "two ESXi 9.1 hosts without a list");
	jdel(f.dst, "hosts[1]");
	jset(f.dst, "hosts[0].hw_versions", J("[13]"));
	fx_run(&f);
	expect_none(&f, "FY-HW-003", "ESXi 9.1 with a list");
	jdel(f.src, "vms[0].hw_version");
	fx_run(&f);
	expect(&f, "FY-HW-000", 0, "not reported", "", "no hardware version");
	fx_free(&f);

	fx_init(&f);
	fx_run(&f);
	expect_none(&f, "FY-HW-000", "hardware version reported");
	fx_free(&f);
}

static void
t_cpu(void)
{
	struct fx f;

	fx_init(&f);
	jset(f.src, "vms[0].min_evc", json_string("intel-icelake"));
	fx_run(&f);
	expect(&f, "FY-CPU-001", 0, "intel-icelake", "intel-broadwell", "icelake VM into a broadwell EVC cluster");
	jset(f.src, "vms[0].min_evc", json_string("intel-broadwell"));
	fx_run(&f);
	expect_none(&f, "FY-CPU-001", "broadwell VM into a broadwell EVC cluster");
	jset(f.src, "vms[0].min_evc", json_string("amd-zen"));
	fx_run(&f);
	expect(&f, "FY-CPU-001", 0, "amd-zen", "intel-broadwell", "AMD VM into an Intel cluster");
	/* EVC off in the cluster: the host's own maximum counts. */
	jset(f.dst, "clusters[0].evc_mode", json_null());
	jset(f.src, "vms[0].min_evc", json_string("intel-skylake"));
	fx_run(&f);
	expect_none(&f, "FY-CPU-001", "skylake VM, EVC off, skylake host");
	jset(f.src, "vms[0].min_evc", json_null());
	fx_run(&f);
	expect_none(&f, "FY-CPU-000", "no requirement is not 'not applicable'");
	expect_none(&f, "FY-CPU-001", "no requirement");

	jset(f.src, "vms[0].min_evc", json_string("intel-futurelake"));
	fx_run(&f);
	expect(&f, "FY-CPU-002", 0, "intel-futurelake", "", "an unknown EVC mode");
	jset(f.src, "vms[0].min_evc", json_string("intel-haswell"));
	jdel(f.dst, "hosts[0].max_evc");
	fx_run(&f);
	expect(&f, "FY-CPU-002", 0, "intel-haswell", "not reported", "no EVC mode at the destination");
	jset(f.dst, "hosts[0].max_evc", json_string("intel-skylake"));
	fx_run(&f);
	expect_none(&f, "FY-CPU-002", "known modes at both ends");

	jdel(f.src, "vms[0].min_evc");
	fx_run(&f);
	expect(&f, "FY-CPU-000", 0, "not reported", "", "no EVC facts");
	fx_free(&f);

	/* Two hosts, one in a cluster with a lower baseline. */
	fx_init(&f);
	japp(f.dst, "clusters", J("{'name': 'OLD', 'evc_mode': 'intel-westmere'}"));
	japp(f.dst, "hosts", J("{'name': 'esx2.b.example', 'version': '7.0.3', 'connection_state': 'connected',"
	    " 'max_evc': 'intel-skylake', 'cluster': 'OLD'}"));
	japp(f.dst, "dns", J("{'name': 'esx2.b.example', 'forward': ['198.51.100.12'], 'reverse': ['esx2.b.example']}"));
	japp(f.src, "dns", J("{'name': 'esx2.b.example', 'forward': ['198.51.100.12'], 'reverse': ['esx2.b.example']}"));
	fx_run(&f);
	expect(&f, "FY-CPU-004", 0, "intel-haswell", "1 of 2 hosts cannot", "one cluster is at westmere");
	f.opt.target_cluster = "CB";
	fx_run(&f);
	expect_none(&f, "FY-CPU-004", "the target cluster offers haswell");
	f.opt.target_cluster = "OLD";
	fx_run(&f);
	expect(&f, "FY-CPU-001", 0, "intel-haswell", "intel-westmere", "the target cluster does not");
	fx_free(&f);

	/* qemu: the accelerator. */
	fx_init_qemu(&f);
	jset(f.dst, "accelerators", J("['tcg']"));
	fx_run(&f);
	expect(&f, "FY-CPU-003", 0, "kvm", "tcg", "kvm VM to a tcg-only site");
	jset(f.dst, "accelerators", J("['tcg', 'kvm']"));
	fx_run(&f);
	expect_none(&f, "FY-CPU-003", "kvm at both ends");
	/*
	 * A destination's names cut to fit a finding must not cut a character
	 * in two: the JSON report would be refused (it must be valid UTF-8).
	 */
	{
		json_t *acc = json_array(), *rep;
		int k;
		for (k = 0; k < 16; k++) {
			char name[40];
			/* 15 x U+00E9 and two digits: 32 bytes, the most a name may have */
			snprintf(name, sizeof(name), "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
			    "\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9%02d", k);
			json_array_append_new(acc, json_string(name));
		}
		jset(f.dst, "accelerators", acc);
		fx_run(&f);
		ok(fx_count(f.r, "FY-CPU-003", 0) == 1, "16 accelerators with long non-ASCII names, no kvm: CPU-003");
		rep = netmap_report_json(f.r);
		ok(rep != NULL, "and the JSON report is still produced (the cut value is valid UTF-8)");
		json_decref(rep);
	}
	fx_free(&f);
}

static void
t_hosts(void)
{
	struct fx f;

	fx_init(&f);
	fx_run(&f);
	expect_none(&f, "FY-HOST-000", "both sites report hosts");
	expect_none(&f, "FY-HOST-001", "the source host is connected");
	jset(f.src, "hosts[0].connection_state", json_string("disconnected"));
	fx_run(&f);
	expect(&f, "FY-HOST-001", 0, "disconnected", "", "the VM's host is disconnected");
	jset(f.src, "hosts[0].connection_state", json_string("connected"));

	japp(f.dst, "hosts", J("{'name': 'esx2.b.example', 'version': '7.0.3', 'connection_state': 'notResponding',"
	    " 'max_evc': 'intel-skylake'}"));
	japp(f.dst, "hosts", J("{'name': 'esx3.b.example', 'version': '7.0.3', 'connection_state': 'connected',"
	    " 'maintenance': true, 'max_evc': 'intel-skylake'}"));
	fx_run(&f);
	expect(&f, "FY-HOST-002", -1, "", "notResponding", "a destination host not responding");
	expect(&f, "FY-HOST-003", -1, "", "in maintenance mode", "a destination host in maintenance");
	expect_none(&f, "FY-HOST-004", "esx1 can still receive");
	expect_none(&f, "FY-DNS-004", "unusable hosts are not looked up");
	is_int(netmap_report_verdict(f.r, 0), NETMAP_WARNINGS, "warnings only");
	f.opt.target_host = "esx1.b.example";
	fx_run(&f);
	expect_none(&f, "FY-HOST-003", "a host outside the target does not matter");
	expect_none(&f, "FY-HOST-002", "a host outside the target does not matter");
	fx_free(&f);

	fx_init(&f);
	jset(f.dst, "hosts[0].maintenance", json_true());
	fx_run(&f);
	expect(&f, "FY-HOST-004", -1, "", "none usable", "the only host is in maintenance");
	jset(f.dst, "hosts[0].maintenance", json_false());
	fx_run(&f);
	expect_none(&f, "FY-HOST-004", "out of maintenance");
	expect_none(&f, "FY-HOST-003", "out of maintenance");

	f.opt.target_host = "esx9.b.example";
	fx_run(&f);
	expect(&f, "FY-HOST-005", -1, "esx9.b.example", "", "a target host that does not exist");
	f.opt.target_host = "esx1.b.example";
	fx_run(&f);
	expect_none(&f, "FY-HOST-005", "the target host exists");
	f.opt.target_host = NULL;
	f.opt.target_cluster = "Nope";
	fx_run(&f);
	expect(&f, "FY-HOST-005", -1, "Nope", "", "a target cluster that does not exist");
	f.opt.target_cluster = "CB";
	fx_run(&f);
	expect_none(&f, "FY-HOST-005", "the target cluster exists");
	japp(f.dst, "clusters", J("{'name': 'EMPTY', 'evc_mode': null}"));
	f.opt.target_cluster = "EMPTY";
	fx_run(&f);
	expect(&f, "FY-HOST-004", -1, "", "no hosts", "a target cluster without hosts");
	expect_none(&f, "FY-HOST-005", "the empty cluster exists");
	fx_free(&f);
}

static void
t_networks(void)
{
	struct fx f;

	fx_init(&f);
	jset(f.src, "vms[0].nics[0].network", json_string("Prod-X"));
	fx_run(&f);
	expect(&f, "FY-NET-001", 0, "Prod-X", "missing", "a network the destination lacks");
	ok(strstr(msg(&f, "FY-NET-001"), "Network adapter 1") != NULL, "FY-NET-001 names the NIC");
	fx_nmap(&f, "Prod-X=VM Network");
	fx_run(&f);
	expect_none(&f, "FY-NET-001", "mapped to a network that exists");
	expect_none(&f, "FY-NET-002", "mapped to a network that exists");
	expect_none(&f, "FY-NET-008", "the map entry is used");
	fx_free(&f);

	fx_init(&f);
	fx_nmap(&f, "VM Network=Missing Net");
	fx_run(&f);
	expect(&f, "FY-NET-002", 0, "VM Network -> Missing Net", "missing", "the map's target is missing");
	expect_none(&f, "FY-NET-001", "a bad map target is its own finding");
	fx_free(&f);

	fx_init(&f);
	fx_nmap(&f, "VM Network=Prod-B");
	fx_run(&f);
	expect(&f, "FY-NET-003", 0, "VM Network (standard)", "Prod-B (distributed)", "standard to distributed");
	expect_none(&f, "FY-NET-002", "Prod-B exists");
	expect_none(&f, "FY-NET-005", "same VLAN 10");
	fx_free(&f);

	fx_init(&f);
	fx_run(&f);
	expect_none(&f, "FY-NET-003", "standard to standard");
	expect_none(&f, "FY-NET-000", "both kinds reported");
	jdel(f.dst, "networks[0].kind");
	fx_run(&f);
	expect(&f, "FY-NET-000", 0, NULL, NULL, "the destination's switch type is not reported");
	fx_free(&f);

	fx_init(&f);
	japp(f.dst, "networks", J("{'name': 'VM Network', 'kind': 'standard'}"));
	fx_run(&f);
	expect(&f, "FY-NET-004", 0, "VM Network", "2 networks", "two destination networks with the name");
	fx_free(&f);

	fx_init(&f);
	jset(f.dst, "networks[0].vlan", json_integer(11));
	fx_run(&f);
	expect(&f, "FY-NET-005", 0, "VM Network (VLAN 10)", "VM Network (VLAN 11)", "VLAN 10 to 11");
	jdel(f.dst, "networks[0].vlan");
	fx_run(&f);
	expect_none(&f, "FY-NET-005", "a VLAN not reported is not compared");
	fx_free(&f);

	/* A trunk (all VLANs, the guest tags) is a VLAN of its own: equal to a trunk only. */
	fx_init(&f);
	jdel(f.src, "networks[0].vlan");
	jset(f.src, "networks[0].vlan_kind", json_string("trunk"));
	fx_run(&f);
	expect(&f, "FY-NET-005", 0, "VM Network (VLAN trunk)", "VM Network (VLAN 10)", "a trunk to VLAN 10");
	ok(strstr(msg(&f, "FY-NET-005"), "moves from VLAN trunk to VLAN 10") != NULL, "the message names the trunk: %s",
	    msg(&f, "FY-NET-005"));
	jdel(f.dst, "networks[0].vlan");
	jset(f.dst, "networks[0].vlan_kind", json_string("trunk"));
	fx_run(&f);
	expect_none(&f, "FY-NET-005", "a trunk to a trunk");
	jset(f.dst, "networks[0].vlan", json_integer(4095));
	jset(f.dst, "networks[0].vlan_kind", json_string("vlan"));
	fx_run(&f);
	expect_none(&f, "FY-NET-005", "a trunk to a standard port group's 4095 (an older gateway's report)");
	jdel(f.dst, "networks[0].vlan");
	jset(f.dst, "networks[0].vlan_kind", json_string("pvlan"));
	fx_run(&f);
	expect_none(&f, "FY-NET-005", "a private VLAN has no ID to compare");
	fx_free(&f);

	/* MACs: kept ones against the destination's, case-blind. */
	fx_init(&f);
	jset(f.dst, "vms[0].nics[0].mac", json_string("00-50-56-00-00-01"));
	jset(f.src, "vms[0].nics[0].mac", json_string("00:50:56:00:00:01"));
	fx_run(&f);
	expect(&f, "FY-NET-006", 0, "00:50:56:00:00:01", "other", "the MAC is used by 'other'");
	expect_none(&f, "FY-NET-007", "keep policy");
	f.opt.mac = NETMAP_MAC_GENERATE;
	fx_run(&f);
	expect_none(&f, "FY-NET-006", "new MACs are generated");
	expect(&f, "FY-NET-007", 0, "keep", "generate", "generate policy");
	fx_free(&f);

	fx_init(&f);
	japp(f.src, "vms", J("{'name': 'web02', 'nics': [{'network': 'VM Network', 'mac': '00:50:56:00:00:01'}]}"));
	fx_run(&f);
	expect(&f, "FY-NET-006", 1, "00:50:56:00:00:01", "web01", "the same MAC twice in one request");
	expect_none(&f, "FY-NET-008", "no map");
	fx_nmap(&f, "Unused Net=VM Network");
	fx_run(&f);
	expect(&f, "FY-NET-008", -1, "Unused Net=VM Network", "", "a map entry no NIC uses");
	fx_free(&f);
}

static void
t_dns(void)
{
	struct fx f;

	fx_init(&f);
	jset(f.src, "dns[2]", J("{'name': 'esx1.b.example', 'forward': [], 'error': 'NXDOMAIN'}"));
	fx_run(&f);
	expect(&f, "FY-DNS-001", -1, "esx1.b.example", "NXDOMAIN", "a destination host unknown at the source");
	ok(strstr(msg(&f, "FY-DNS-001"), "source gateway") != NULL, "FY-DNS-001 says from which gateway");
	fx_free(&f);

	fx_init(&f);
	jset(f.dst, "dns[0]", J("{'name': 'vc.a.example', 'forward': ['192.0.2.1'], 'reverse': []}"));
	fx_run(&f);
	expect(&f, "FY-DNS-002", -1, "192.0.2.1", "no name", "no PTR for the source vCenter");
	expect_none(&f, "FY-DNS-001", "forward works");
	fx_free(&f);

	fx_init(&f);
	jset(f.dst, "dns[1]", J("{'name': 'vc.b.example', 'forward': ['198.51.100.1'], 'reverse': ['www.b.example']}"));
	fx_run(&f);
	expect(&f, "FY-DNS-003", -1, "vc.b.example", "www.b.example", "the PTR names another host");
	jset(f.dst, "dns[1]", J("{'name': 'vc.b.example', 'forward': ['198.51.100.1'], 'reverse': ['VC.B.Example.']}"));
	fx_run(&f);
	expect_none(&f, "FY-DNS-003", "case and a final dot do not matter");
	expect_none(&f, "FY-DNS-001", "all names resolve");
	expect_none(&f, "FY-DNS-002", "all names resolve back");
	fx_free(&f);

	fx_init(&f);
	jdel(f.dst, "dns[0]");
	fx_run(&f);
	expect(&f, "FY-DNS-004", -1, "vc.a.example", "not looked up", "the destination did not look up vc.a");
	is_int(fx_count(f.r, "FY-DNS-004", -2), 1, "only that name is unchecked");
	jdel(f.dst, "dns");
	fx_run(&f);
	expect(&f, "FY-DNS-004", -1, "destination gateway", "no lookups (3 names)",
	    "the destination reported no lookups");
	fx_free(&f);

	fx_init(&f);
	fx_run(&f);
	expect_none(&f, "FY-DNS-004", "every name looked up from both sides");
	expect_none(&f, "FY-DNS-000", "there are names");
	fx_free(&f);
}

static void
t_datastores(void)
{
	struct fx f;

	fx_init(&f);
	jset(f.src, "vms[0].storage[0].datastore", json_string("DS-X"));
	jset(f.src, "vms[0].disks[0].datastore", json_string("DS-X"));
	fx_run(&f);
	expect(&f, "FY-DS-001", 0, "DS-X", "missing", "a datastore the destination lacks");
	fx_dmap(&f, "DS-X=DS-A");
	fx_run(&f);
	expect_none(&f, "FY-DS-001", "mapped");
	expect_none(&f, "FY-DS-002", "mapped to one that exists");
	expect_none(&f, "FY-DS-004", "the map entry is used");
	fx_free(&f);

	fx_init(&f);
	fx_dmap(&f, "DS-A=DS-Nope");
	fx_run(&f);
	expect(&f, "FY-DS-002", 0, "DS-A -> DS-Nope", "missing", "the map's target is missing");
	fx_free(&f);

	fx_init(&f);
	fx_dmap(&f, "DS-Typo=DS-B");
	fx_run(&f);
	expect(&f, "FY-DS-004", -1, "DS-Typo=DS-B", "", "a map entry no disk uses");
	fx_free(&f);

	/* The boundary: need 20 GiB, margin 1 GiB + 5 % of 100 GiB. */
	fx_init(&f);
	fx_dmap(&f, "DS-A=DS-B");
	f.opt.margin_bytes = GiB;
	jset(f.dst, "datastores[1].capacity_bytes", json_integer(100 * GiB));
	jset(f.dst, "datastores[1].free_bytes", json_integer(26 * GiB));
	fx_run(&f);
	expect_none(&f, "FY-DS-003", "20 GiB + 6 GiB margin fit in 26 GiB");
	jset(f.dst, "datastores[1].free_bytes", json_integer(26 * GiB - 1));
	fx_run(&f);
	expect(&f, "FY-DS-003", 0, "20.0 GiB + 6.0 GiB margin", "26.0 GiB free on DS-B", "one byte short");
	is_int(netmap_report_verdict(f.r, 0), NETMAP_BLOCKED, "not enough space blocks");
	/* Uncommitted (thin) growth counts. */
	jset(f.src, "vms[0].storage[0].uncommitted_bytes", json_integer(0));
	fx_run(&f);
	expect_none(&f, "FY-DS-003", "10 GiB committed only");
	fx_free(&f);

	/* Space is shared: three VMs in order, 45 GiB free, no margin. */
	fx_init(&f);
	fx_dmap(&f, "DS-A=DS-B");
	f.opt.margin_pct = 0;
	jset(f.dst, "datastores[1].free_bytes", json_integer(45 * GiB));
	japp(f.src, "vms", J("{'name': 'web02', 'storage': [{'datastore': 'DS-A', 'committed_bytes': %lld,"
	    " 'uncommitted_bytes': %lld}]}", (long long)(15 * GiB), (long long)(5 * GiB)));
	japp(f.src, "vms", J("{'name': 'web03', 'disks': [{'datastore': 'DS-A', 'capacity_bytes': %lld}]}",
	    (long long)(4 * GiB)));
	fx_run(&f);
	expect_none(&f, "FY-DS-003", "20 GiB alone fits");
	ok(fx_count(f.r, "FY-DS-003", 0) == 0, "the first VM fits");
	jset(f.dst, "datastores[1].free_bytes", json_integer(39 * GiB));
	fx_run(&f);
	ok(fx_count(f.r, "FY-DS-003", 0) == 0, "first of two 20 GiB VMs fits in 39 GiB");
	expect(&f, "FY-DS-003", 1, "20.0 GiB + 20.0 GiB for 1 VM before it + 0 bytes margin",
	    "39.0 GiB free on DS-B", "the second does not: the space is shared");
	ok(fx_count(f.r, "FY-DS-003", 2) == 0, "the third (4 GiB) still fits: a refused VM takes no space");
	is_int(netmap_report_verdict(f.r, 0), NETMAP_CLEAR, "VM 1 clear");
	is_int(netmap_report_verdict(f.r, 1), NETMAP_BLOCKED, "VM 2 blocked");
	is_int(netmap_report_verdict(f.r, 2), NETMAP_CLEAR, "VM 3 clear");
	fx_free(&f);

	/*
	 * A VM refused on one datastore takes no space on the others either:
	 * web01 fits on DS-A but not on DS-B; web02, on DS-A only, must fit.
	 */
	fx_init(&f);
	f.opt.margin_pct = 0;
	jset(f.dst, "datastores[0].free_bytes", json_integer(15 * GiB));
	jset(f.dst, "datastores[1].free_bytes", json_integer(5 * GiB));
	jset(f.src, "vms[0].storage", J("[{'datastore': 'DS-A', 'committed_bytes': %lld},"
	    " {'datastore': 'DS-B', 'committed_bytes': %lld}]", (long long)(10 * GiB), (long long)(10 * GiB)));
	japp(f.src, "vms", J("{'name': 'web02', 'storage': [{'datastore': 'DS-A', 'committed_bytes': %lld}]}",
	    (long long)(10 * GiB)));
	fx_run(&f);
	expect(&f, "FY-DS-003", 0, "10.0 GiB + 0 bytes margin", "5.0 GiB free on DS-B",
	    "web01 does not fit on DS-B");
	ok(fx_count(f.r, "FY-DS-003", 1) == 0, "web02 fits on DS-A: the refused web01 took none of it");
	is_int(netmap_report_verdict(f.r, 1), NETMAP_CLEAR, "web02 clear");
	fx_free(&f);

	/* Two source datastores mapped onto one are summed. */
	fx_init(&f);
	f.opt.margin_pct = 0;
	jset(f.src, "vms[0].storage", J("[{'datastore': 'DS-A', 'committed_bytes': %lld},"
	    " {'datastore': 'DS-A2', 'committed_bytes': %lld}]", (long long)(6 * GiB), (long long)(6 * GiB)));
	fx_dmap(&f, "DS-A=DS-B");
	fx_dmap(&f, "DS-A2=DS-B");
	jset(f.dst, "datastores[1].free_bytes", json_integer(11 * GiB));
	fx_run(&f);
	expect(&f, "FY-DS-003", 0, "12.0 GiB + 0 bytes margin", "11.0 GiB free on DS-B", "6 + 6 GiB onto one");
	jset(f.dst, "datastores[1].free_bytes", json_integer(12 * GiB));
	fx_run(&f);
	expect_none(&f, "FY-DS-003", "6 + 6 GiB in 12 GiB");
	fx_free(&f);

	fx_init(&f);
	jdel(f.dst, "datastores[0].free_bytes");
	fx_run(&f);
	expect(&f, "FY-DS-000", 0, "", "not reported", "free space not reported");
	fx_free(&f);

	fx_init(&f);
	fx_run(&f);
	expect_none(&f, "FY-DS-000", "sizes reported");
	expect_none(&f, "FY-DS-005", "measured");
	jset(f.dst, "datastores[0].error", json_string("No such file or directory"));
	fx_run(&f);
	expect(&f, "FY-DS-005", 0, "DS-A", "No such file or directory", "the destination could not measure it");
	fx_free(&f);
}

static void
t_encryption(void)
{
	struct fx f;

	fx_init(&f);
	jset(f.src, "vms[0].encryption", J("{'key_id': '8b1c', 'key_provider': 'KMS-Site-A'}"));
	fx_run(&f);
	expect(&f, "FY-ENC-001", 0, "KMS-Site-A", "", "an encrypted VM");
	ok(strstr(msg(&f, "FY-ENC-001"), "KMS-Site-A") != NULL, "the message names the key provider");
	jset(f.src, "vms[0].encryption", json_null());
	jset(f.src, "vms[0].disks[0].encryption", J("{'key_id': '9a', 'key_provider': 'KMS-Disk'}"));
	fx_run(&f);
	expect(&f, "FY-ENC-001", 0, "KMS-Disk", "", "one encrypted disk");
	jset(f.src, "vms[0].disks[0].encryption", json_null());
	fx_run(&f);
	expect_none(&f, "FY-ENC-001", "not encrypted");
	expect_none(&f, "FY-ENC-000", "encryption: null is reported");
	jdel(f.src, "vms[0].encryption");
	fx_run(&f);
	expect(&f, "FY-ENC-000", 0, "not reported", "", "encryption not reported");
	fx_free(&f);
}

static void
t_power(void)
{
	struct fx f;

	fx_init(&f);
	jset(f.src, "vms[0].power_state", json_string("poweredOff"));
	fx_run(&f);
	expect(&f, "FY-PWR-002", 0, "poweredOff", "", "powered off moves cold");
	jset(f.src, "vms[0].power_state", json_string("suspended"));
	fx_run(&f);
	expect(&f, "FY-PWR-003", 0, "suspended", "", "suspended");
	jset(f.src, "vms[0].power_state", json_string("paused"));
	fx_run(&f);
	expect(&f, "FY-PWR-003", 0, "paused", "", "paused (qemu)");
	jset(f.src, "vms[0].power_state", json_string("crashed"));
	fx_run(&f);
	expect(&f, "FY-PWR-001", 0, "crashed", "", "crashed");
	jset(f.src, "vms[0].power_state", json_string("shutoff (live only)"));
	fx_run(&f);
	expect(&f, "FY-PWR-001", 0, "shutoff (live only)", "", "a state only a driver knows");
	jset(f.src, "vms[0].power_state", json_string("running"));
	fx_run(&f);
	expect_none(&f, "FY-PWR-001", "running (qemu)");
	expect_none(&f, "FY-PWR-002", "running");
	expect_none(&f, "FY-PWR-003", "running");
	jdel(f.src, "vms[0].power_state");
	fx_run(&f);
	expect(&f, "FY-PWR-000", 0, "not reported", "", "no power state");
	fx_free(&f);
}

static void
t_conflicts(void)
{
	struct fx f;

	fx_init(&f);
	/* As with two simulators: both vCenters report one instance UUID; no VM conflict follows. */
	fx_run(&f);
	expect_none(&f, "FY-DUP-001", "no VM named web01 at the destination");
	expect_none(&f, "FY-DUP-002", "the vCenters' shared instance UUID is not a VM's");
	expect_none(&f, "FY-DUP-000", "the destination reported its VMs");
	jset(f.dst, "vms[0].name", json_string("web01"));
	fx_run(&f);
	expect(&f, "FY-DUP-001", 0, "web01", "web01", "a VM named web01 exists there");
	jset(f.dst, "vms[0].name", json_string("web01-old"));
	jset(f.dst, "vms[0].instance_uuid", json_string("50010000-0000-0000-0000-000000000001"));
	fx_run(&f);
	expect(&f, "FY-DUP-002", 0, "50010000-0000-0000-0000-000000000001", NULL, "same instance UUID");
	expect_none(&f, "FY-DUP-001", "another name");
	jset(f.dst, "vms[0].instance_uuid", json_string("50010000-0000-0000-0000-0000000000FF"));
	jset(f.dst, "vms[0].bios_uuid", json_string("42010000-0000-0000-0000-000000000001"));
	fx_run(&f);
	expect(&f, "FY-DUP-003", 0, "42010000-0000-0000-0000-000000000001", NULL, "same BIOS UUID");
	expect_none(&f, "FY-DUP-002", "another instance UUID");
	jdel(f.dst, "vms");
	fx_run(&f);
	expect(&f, "FY-DUP-000", -1, "", "not reported", "no inventory from the destination");
	fx_free(&f);

	fx_init(&f);
	japp(f.src, "vms", J("{'name': 'web01'}"));
	japp(f.src, "vms", J("{'name': 'web02'}"));
	fx_run(&f);
	expect(&f, "FY-DUP-004", 1, "web01", "", "two VMs named web01 in one request");
	is_int(fx_count(f.r, "FY-DUP-004", -2), 1, "only the second is flagged");
	fx_free(&f);
}

static void
t_link(void)
{
	struct fx f;

	fx_init(&f);
	fx_run(&f);
	/* 4 GiB memory + 10 GiB committed = 14 GiB at 1 Gbit/s: 120.3 s. */
	expect(&f, "FY-LINK-002", 0, "4.0 GiB memory + 10.0 GiB disks", "1.00 Gbit/s", "the ETA of the VM");
	ok(strstr(msg(&f, "FY-LINK-002"), "2 min 00 s") != NULL, "ETA 2 min 00 s: %s", msg(&f, "FY-LINK-002"));
	expect(&f, "FY-LINK-006", -1, "14.0 GiB", "1.00 Gbit/s", "the total");
	expect_none(&f, "FY-LINK-000", "measured");
	expect_none(&f, "FY-LINK-001", "20 ms");

	f.link.rtt_ms = 150;
	fx_run(&f);
	expect_none(&f, "FY-LINK-001", "150 ms is within the limit");
	f.link.rtt_ms = 151;
	fx_run(&f);
	expect(&f, "FY-LINK-001", -1, "151.0 ms", "limit 150 ms", "151 ms");
	f.opt.rtt_max_ms = 200;
	fx_run(&f);
	expect_none(&f, "FY-LINK-001", "the limit is configurable");

	f.link.loss_pct = 2;
	fx_run(&f);
	expect(&f, "FY-LINK-004", -1, "2.00 %", "limit 1.00 %", "2 % loss");
	f.link.loss_pct = 0.5;
	fx_run(&f);
	expect_none(&f, "FY-LINK-004", "0.5 % loss");
	expect_none(&f, "FY-LINK-007", "the loss was measured");
	f.link.loss_pct = -1;
	fx_run(&f);
	expect(&f, "FY-LINK-007", -1, "", "not measured", "the loss not measured: said, not passed in silence");
	expect_none(&f, "FY-LINK-004", "and not judged");
	f.link.loss_pct = 0;

	jset(f.src, "vms[0].dirty_bytes_per_s", json_integer(200 * 1000 * 1000));
	fx_run(&f);
	expect(&f, "FY-LINK-005", 0, "1.60 Gbit/s", "1.00 Gbit/s", "dirtying faster than the link");
	jset(f.src, "vms[0].dirty_bytes_per_s", json_integer(50 * 1000 * 1000));
	fx_run(&f);
	expect_none(&f, "FY-LINK-005", "400 Mbit/s of dirtying on a 1 Gbit/s link");

	jset(f.src, "vms[0].power_state", json_string("poweredOff"));
	fx_run(&f);
	expect(&f, "FY-LINK-002", 0, "10.0 GiB disks (powered off)", "1.00 Gbit/s", "a cold move copies no memory");
	jset(f.src, "vms[0].power_state", json_string("poweredOn"));

	/* A diskless VM: its memory alone, no "+ 0 bytes disks". */
	jset(f.src, "vms[0].storage", json_array());
	jset(f.src, "vms[0].disks", json_array());
	fx_run(&f);
	expect(&f, "FY-LINK-002", 0, "4.0 GiB memory", "1.00 Gbit/s", "a VM without disks");
	ok(strstr(msg(&f, "FY-LINK-002"), "disks") == NULL, "no disks in the message: %s", msg(&f, "FY-LINK-002"));
	fx_free(&f);
	fx_init(&f);

	f.link.goodput_bps = 0;
	fx_run(&f);
	expect(&f, "FY-LINK-003", -1, "", "0 bit/s", "no goodput");
	expect_none(&f, "FY-LINK-002", "no estimate without goodput");
	f.link.goodput_bps = 1e9;

	jdel(f.src, "vms[0].memory_mib");
	fx_run(&f);
	expect(&f, "FY-LINK-000", 0, "not reported", NULL, "no memory size");
	expect_none(&f, "FY-LINK-002", "no memory size");

	f.no_link = 1;
	fx_run(&f);
	expect(&f, "FY-LINK-000", -1, "", "not measured", "no link measurement");
	expect_none(&f, "FY-LINK-006", "nothing to total");
	fx_free(&f);
}

static void
t_vcenter_checks(void)
{
	struct fx f;

	fx_init(&f);
	jset(f.src, "vms[0].vcenter_checks", J("{'offered': true, 'errors': ['The target host does not support "
	    "the virtual machine\\u0027s current hardware requirements.'], 'warnings': ['Network interface "
	    "Network adapter 1 uses network VM Network, which is not accessible.']}"));
	fx_run(&f);
	expect(&f, "FY-VC-001", 0, "error", "", "the vCenter's error");
	ok(strstr(msg(&f, "FY-VC-001"), "hardware requirements") != NULL, "the message is vCenter's");
	expect(&f, "FY-VC-002", 0, "warning", "", "the vCenter's warning");
	jset(f.src, "vms[0].vcenter_checks", J("{'offered': true}"));
	fx_run(&f);
	expect_none(&f, "FY-VC-001", "no errors");
	expect_none(&f, "FY-VC-002", "no warnings");
	expect_none(&f, "FY-VC-003", "offered");
	jset(f.src, "vms[0].vcenter_checks", J("{'offered': false}"));
	fx_run(&f);
	expect(&f, "FY-VC-003", 0, "not offered", "", "not offered (as with the simulator)");
	jdel(f.src, "vms[0].vcenter_checks");
	fx_run(&f);
	expect(&f, "FY-VC-000", 0, "", "", "no checker results");
	fx_free(&f);
}

/* 1,000 VMs of 1 GiB each onto 500 GiB: the first 500 fit, in order, the rest do not. */
static void
t_space_many(void)
{
	json_t *vms = json_array();
	struct fx f;
	size_t i, blocked = 0, first = 0;
	const struct netmap_finding *x;

	fx_init(&f);
	f.opt.margin_pct = 0;
	fx_dmap(&f, "DS-A=DS-B");
	jset(f.dst, "datastores[1].free_bytes", json_integer(500 * GiB));
	for (i = 0; i < 1000; i++)
		json_array_append_new(vms, J("{'name': 'vm%04zu', 'power_state': 'poweredOn',"
		    " 'storage': [{'datastore': 'DS-A', 'committed_bytes': %lld}],"
		    " 'nics': [{'network': 'VM Network', 'mac': '00:50:56:01:%02zx:%02zx'}]}",
		    i, (long long)GiB, i / 256, i % 256));
	jset(f.src, "vms", vms);
	fx_run(&f);
	for (i = 0; i < 1000; i++)
		if (fx_count(f.r, "FY-DS-003", (int)i) > 0 && blocked++ == 0)
			first = i;
	is_int(blocked, 500, "1,000 VMs of 1 GiB on 500 GiB: 500 do not fit");
	is_int(first, 500, "the 501st is the first that does not");
	x = netmap_report_find(f.r, "FY-DS-003", 500);
	ok(x != NULL && strcmp(x->src_value, "1.0 GiB + 500.0 GiB for 500 VMs before it + 0 bytes margin") == 0,
	    "it says what the 500 before it took");
	expect_none(&f, "FY-NET-006", "1,000 distinct MACs");
	fx_free(&f);
}

/* A qemu pair: every check that does not apply says so. */
static void
t_qemu_not_applicable(void)
{
	static const char *const na[] = { "FY-HOST-000", "FY-VER-000", "FY-HW-000", "FY-CPU-000",
	    "FY-ENC-000", "FY-DNS-000", "FY-VC-000", "FY-NET-000", NULL };
	const struct netmap_finding *x;
	struct fx f;
	size_t i;

	fx_init_qemu(&f);
	fx_run(&f);
	for (i = 0; na[i] != NULL; i++) {
		x = netmap_report_find(f.r, na[i], -2);
		ok(x != NULL && x->severity == NETMAP_INFO, "qemu: %s says not applicable (info)", na[i]);
	}
	ok(fx_count(f.r, "FY-HOST-000", -1) == 1, "qemu, no target named: one FY-HOST-000");
	f.opt.target_host = "esx1";
	f.opt.target_cluster = "C0";
	fx_run(&f);
	ok(fx_count(f.r, "FY-HOST-000", -1) == 3, "qemu with a target host and cluster: each said not checked");
	expect_none(&f, "FY-HOST-005", "a target at a qemu site is not judged missing");
	ok(strstr(fx_codes(f.r), "FY-HOST-004") == NULL, "nor judged unusable");
	f.opt.target_host = NULL;
	f.opt.target_cluster = NULL;
	fx_run(&f);
	expect_none(&f, "FY-VER-003", "the QEMU versions are compared");
	expect_none(&f, "FY-DS-000", "qemu disks have sizes: space is checked");
	is_int(netmap_report_verdict(f.r, -1), NETMAP_CLEAR, "qemu pair: clear");
	/* And the space check does run. */
	jset(f.dst, "datastores[0].free_bytes", json_integer(GiB));
	fx_run(&f);
	expect(&f, "FY-DS-003", 0, NULL, NULL, "qemu: 1 GiB disk + 5 % of 200 GiB in 1 GiB free");
	fx_free(&f);
}

static void
t_boot(void)
{
	struct fx f;
	const char *sum = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

	fx_init_qemu(&f);
	fx_run(&f);
	ok(fx_count(f.r, "FY-IMG-000", -2) + fx_count(f.r, "FY-IMG-001", -2) == 0,
	    "a VM without a boot image: no FY-IMG finding");
	jset(f.src, "vms[0].boot", J("{'path': '/srv/img/g.img', 'sha256': '%s'}", sum));
	fx_run(&f);
	expect(&f, "FY-IMG-000", 0, "/srv/img/g.img", "not reported", "the destination said nothing of it");
	jset(f.dst, "boot_images", J("[{'path': '/srv/img/g.img', 'same': true}]"));
	fx_run(&f);
	expect_none(&f, "FY-IMG-001", "the same image at the same path");
	expect_none(&f, "FY-IMG-002", "with the same content");
	is_int(netmap_report_verdict(f.r, 0), NETMAP_CLEAR, "clear");
	jset(f.dst, "boot_images", J("[{'path': '/srv/img/g.img', 'error': 'missing'}]"));
	fx_run(&f);
	expect(&f, "FY-IMG-001", 0, "/srv/img/g.img", "missing", "missing at the destination");
	is_int(netmap_report_verdict(f.r, 0), NETMAP_BLOCKED, "blocked");
	jset(f.dst, "boot_images", J("[{'path': '/srv/img/h.img', 'same': true}]"));
	fx_run(&f);
	expect(&f, "FY-IMG-001", 0, "/srv/img/g.img", "missing", "another path is not the image");
	jset(f.dst, "boot_images", J("[{'path': '/srv/img/g.img', 'same': false}]"));
	fx_run(&f);
	expect(&f, "FY-IMG-002", 0, sum, "other content", "other content at the same path");
	fx_free(&f);

	/* The reader: a relative path or a short hash is refused, naming the member. */
	{
		struct netmap_facts *nf = NULL;
		char e[300];
		int r = netmap_facts_parse("{\"type\": \"qemu\", \"vms\": [{\"name\": \"g\", "
		    "\"boot\": {\"path\": \"img/g.img\"}}]}", 71, &nf, e, sizeof(e));
		ok(r != 0 && strstr(e, "vms[0].boot.path") != NULL, "a relative boot path is refused: %s", e);
		netmap_facts_free(nf);
		nf = NULL;
		r = netmap_facts_parse("{\"type\": \"qemu\", \"vms\": [{\"name\": \"g\", "
		    "\"boot\": {\"path\": \"/g.img\", \"sha256\": \"abc\"}}]}", 85, &nf, e, sizeof(e));
		ok(r != 0 && strstr(e, "vms[0].boot.sha256") != NULL, "a short boot hash is refused: %s", e);
		netmap_facts_free(nf);
	}
}

int
main(void)
{
	plan_lazy();
	t_clean();
	t_site();
	t_versions();
	t_hw();
	t_cpu();
	t_hosts();
	t_networks();
	t_dns();
	t_datastores();
	t_encryption();
	t_power();
	t_conflicts();
	t_link();
	t_vcenter_checks();
	t_space_many();
	t_qemu_not_applicable();
	t_boot();
	done_testing();
}
