/*
 * facts-t.c - the facts reader (netmap_facts_parse / _from_json) and the
 * link reader: the vSphere and qemu shapes read into the right fields,
 * absent versus null, unknown members ignored; then refusals for wrong
 * types, too long, too many, too deep and missing members, each checked
 * for its code and for a message that starts with the JSON path that was
 * wrong ("vms[3].nics[1].network: not a string").
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "netmap/netmap.h"
#include "tests/tap.h"
#include "tests/unit/netmap/fixture.h"

static char err[1024];

/* text (with ' for ") is refused with code and an error starting with prefix. */
static void
bad_text(const char *text, size_t len, int code, const char *prefix, const char *what)
{
	struct netmap_facts *f = (struct netmap_facts *)&err;	/* must become NULL */
	int r;

	memset(err, 'X', sizeof(err));
	r = netmap_facts_parse(text, len, &f, err, sizeof(err));
	ok(r == code && f == NULL && memchr(err, '\0', sizeof(err)) != NULL &&
	    strncmp(err, prefix, strlen(prefix)) == 0, "refused: %s", what);
	if (r != code || f != NULL || strncmp(err, prefix, strlen(prefix)) != 0)
		diag("r=%d (want %d) err=%.300s (want %s...)", r, code, err, prefix);
}

static void
bad(json_t *j, int code, const char *prefix, const char *what)
{
	char *text = json_dumps(j, JSON_COMPACT);

	if (text == NULL)
		bail("json_dumps");
	bad_text(text, strlen(text), code, prefix, what);
	free(text);
	json_decref(j);
}

static struct netmap_facts *
good(json_t *j, const char *what)
{
	struct netmap_facts *f = NULL;
	int r = netmap_facts_from_json(j, &f, err, sizeof(err));

	ok(r == 0 && f != NULL, "accepted: %s", what);
	if (r != 0)
		diag("%s", err);
	json_decref(j);
	return f;
}

static void
t_vsphere(void)
{
	struct netmap_facts *f;
	const struct netmap_vm *vm;
	struct fx x;

	fx_init(&x);
	jset(x.src, "vms[0].nics[0].mac", json_string("00-50-56-AB-CD-EF"));
	jset(x.src, "vms[0].future_fact", J("{'nested': [1, 2, {'x': null}]}"));
	f = good(json_incref(x.src), "the vSphere fixture with an unknown member");
	fx_free(&x);
	if (f == NULL)
		return;
	is_str(f->type, "vsphere", "type");
	is_str(f->site, "site-a", "site");
	ok(f->has_vcenter && strcmp(f->vc_name, "vc.a.example") == 0 && strcmp(f->vc_version, "7.0.3") == 0,
	    "vcenter");
	ok(f->nhosts == 1 && f->hosts[0].connection == NETMAP_CONN_CONNECTED &&
	    f->hosts[0].maintenance == NETMAP_TRI_NO && f->hosts[0].nhw_versions == 6 &&
	    f->hosts[0].hw_versions[5] == 19 && strcmp(f->hosts[0].cluster, "CA") == 0, "hosts[0]");
	ok(f->nclusters == 1 && f->clusters[0].has_evc && strcmp(f->clusters[0].evc_mode, "intel-broadwell") == 0,
	    "clusters[0]");
	ok(f->ndatastores == 1 && f->datastores[0].free_bytes == TiB && f->datastores[0].capacity_bytes == 2 * TiB &&
	    f->datastores[0].error == NULL, "datastores[0]");
	ok(f->nnetworks == 2 && f->networks[1].kind == NETMAP_KIND_DISTRIBUTED &&
	    strcmp(f->networks[1].switch_name, "DVS-A") == 0 && f->networks[1].vlan == 20, "networks[1]");
	ok(f->has_dns && f->ndns == 3 && f->dns[2].nforward == 1 && strcmp(f->dns[2].reverse[0], "esx1.b.example") == 0,
	    "dns");
	vm = &f->vms[0];
	ok(f->nvms == 1 && strcmp(vm->name, "web01") == 0 && vm->power == NETMAP_POWER_ON &&
	    strcmp(vm->power_state, "poweredOn") == 0, "vms[0]: name, power");
	is_int(vm->hw_version, 13, "\"vmx-13\" is hardware version 13");
	is_int(vm->memory_mib, 4096, "memory_mib");
	ok(vm->has_min_evc && strcmp(vm->min_evc, "intel-haswell") == 0, "min_evc");
	ok(vm->has_encryption && vm->encryption == NULL, "\"encryption\": null is reported, not encrypted");
	ok(vm->has_storage && vm->nstorage == 1 && vm->storage[0].committed_bytes == 10 * GiB &&
	    vm->storage[0].uncommitted_bytes == 10 * GiB, "storage");
	ok(vm->ndisks == 1 && strcmp(vm->disks[0].label, "Hard disk 1") == 0 && vm->disks[0].encryption == NULL,
	    "disks");
	ok(vm->nnics == 1 && vm->nics[0].kind == NETMAP_KIND_STANDARD, "nics");
	is_str(vm->nics[0].mac, "00:50:56:ab:cd:ef", "a MAC is kept lower-case with ':'");
	ok(vm->has_checks && vm->checks.offered && vm->checks.nerrors == 0, "vcenter_checks");
	is_int(vm->dirty_bytes_per_s, NETMAP_UNSET, "an absent number is NETMAP_UNSET");
	netmap_facts_free(f);
	netmap_facts_free(NULL);
}

static void
t_qemu_and_absent(void)
{
	struct netmap_facts *f;
	struct fx x;

	fx_init_qemu(&x);
	f = good(json_incref(x.src), "the qemu facts (q_facts shape, names as strings, total_bytes)");
	fx_free(&x);
	if (f != NULL) {
		ok(f->nnetworks == 1 && strcmp(f->networks[0].name, "lan") == 0 &&
		    f->networks[0].kind == NETMAP_KIND_ABSENT && f->networks[0].vlan == NETMAP_UNSET,
		    "a network given as a string");
		is_int(f->datastores[0].capacity_bytes, 200 * GiB, "total_bytes is the capacity");
		ok(f->has_accelerators && f->naccelerators == 2 && strcmp(f->accelerators[1], "kvm") == 0,
		    "accelerators");
		ok(!f->has_vcenter && !f->has_hosts && !f->has_dns && f->qemu_version != NULL, "no vCenter, hosts, DNS");
		ok(!f->vms[0].has_min_evc && !f->vms[0].has_encryption && !f->vms[0].has_checks &&
		    f->vms[0].hw_version == NETMAP_UNSET, "VM facts that do not apply are absent");
		ok(f->vms[0].power == NETMAP_POWER_ON, "\"running\" is powered on");
		netmap_facts_free(f);
	}
	f = good(J("{'type': 'vsphere', 'vms': [{'name': 'a', 'min_evc': null, 'power_state': null}]}"),
	    "explicit nulls");
	if (f != NULL) {
		ok(f->vms[0].has_min_evc && f->vms[0].min_evc == NULL, "\"min_evc\": null is 'no requirement'");
		ok(f->vms[0].power == NETMAP_POWER_ABSENT && f->vms[0].power_state == NULL,
		    "\"power_state\": null is absent");
		netmap_facts_free(f);
	}
}

/* A document with n VMs, each with k NICs; VM vi's NIC ni is v (stolen). */
static json_t *
vms_doc(int n, int k, int vi, int ni, json_t *v)
{
	json_t *d = J("{'type': 'vsphere', 'vms': []}"), *vm, *nics;
	int i, m;

	for (i = 0; i < n; i++) {
		nics = json_array();
		for (m = 0; m < k; m++)
			json_array_append_new(nics, i == vi && m == ni ? json_incref(v) : J("{'network': 'VM Network'}"));
		vm = J("{'name': 'vm%d'}", i);
		json_object_set_new(vm, "nics", nics);
		japp(d, "vms", vm);
	}
	json_decref(v);
	return d;
}

static char *
rep(char c, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		bail("out of memory");
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
t_types(void)
{
	static const char dup[] = "{\"type\": \"qemu\", \"type\": \"vsphere\"}";

	bad_text("{\"type\": ", 9, FY_ERR_FORMAT, "facts: not JSON: line 1", "truncated JSON");
	bad(J("[]"), FY_ERR_INVAL, "facts: not a JSON object", "an array");
	bad(J("{'site': 'a'}"), FY_ERR_INVAL, "type: missing", "no type");
	bad(J("{'type': 42}"), FY_ERR_INVAL, "type: not a string", "type a number");
	bad(J("{'type': 'v sphere'}"), FY_ERR_INVAL, "type: \"v sphere\"", "type with a space");
	bad_text(dup, strlen(dup), FY_ERR_FORMAT, "facts: not JSON", "a duplicate key");
	bad(vms_doc(4, 2, 3, 1, J("{'network': 5}")), FY_ERR_INVAL, "vms[3].nics[1].network: not a string",
	    "a NIC's network a number");
	bad(vms_doc(1, 1, 0, 0, J("{'label': 'x'}")), FY_ERR_INVAL, "vms[0].nics[0].network: missing",
	    "a NIC without network");
	bad(vms_doc(1, 1, 0, 0, J("{'network': ''}")), FY_ERR_INVAL, "vms[0].nics[0].network: empty",
	    "an empty network name");
	bad(vms_doc(1, 1, 0, 0, J("{'network': 'n', 'mac': '00:50:56:zz:00:01'}")), FY_ERR_INVAL,
	    "vms[0].nics[0].mac: \"00:50:56:zz:00:01\": not a MAC", "a bad MAC");
	bad(vms_doc(1, 1, 0, 0, J("{'network': 'n', 'kind': 'virtual'}")), FY_ERR_INVAL,
	    "vms[0].nics[0].kind: \"virtual\": expected standard, distributed or opaque", "an unknown switch kind");
	bad(vms_doc(1, 1, 0, 0, J("{'network': 'VM\\nNetwork'}")), FY_ERR_INVAL,
	    "vms[0].nics[0].network: contains a control character", "a newline in a name");
	bad(J("{'type': 'vsphere', 'vms': [{'name': 'a', 'hw_version': 'vmx-1x'}]}"), FY_ERR_INVAL,
	    "vms[0].hw_version: \"vmx-1x\": expected vmx-NN", "hw_version vmx-1x");
	bad(J("{'type': 'vsphere', 'vms': [{'name': 'a', 'hw_version': 100}]}"), FY_ERR_INVAL,
	    "vms[0].hw_version: 100 is out of range", "hw_version 100");
	bad(J("{'type': 'vsphere', 'vms': [{'name': 'a', 'memory_mib': '4096'}]}"), FY_ERR_INVAL,
	    "vms[0].memory_mib: not an integer", "memory as a string");
	bad(J("{'type': 'vsphere', 'vms': [{'name': 'a', 'memory_mib': -1}]}"), FY_ERR_INVAL,
	    "vms[0].memory_mib: -1 is out of range", "negative memory");
	bad(J("{'type': 'vsphere', 'vms': [{'name': 'a', 'encryption': 'yes'}]}"), FY_ERR_INVAL,
	    "vms[0].encryption: not an object", "encryption a string");
	bad(J("{'type': 'vsphere', 'vms': [{'name': 'a', 'storage': [{'datastore': 'd'}]}]}"), FY_ERR_INVAL,
	    "vms[0].storage[0].committed_bytes: missing", "storage without committed_bytes");
	bad(J("{'type': 'vsphere', 'vms': [{'name': 'a', 'vcenter_checks': {'errors': []}}]}"), FY_ERR_INVAL,
	    "vms[0].vcenter_checks.offered: missing", "checker results without offered");
	bad(J("{'type': 'vsphere', 'vms': [{'name': 'a', 'vcenter_checks': {'offered': false, 'errors': ['x']}}]}"),
	    FY_ERR_INVAL, "vms[0].vcenter_checks: messages given", "messages from a checker not offered");
	bad(J("{'type': 'vsphere', 'vms': [{'name': 'a', 'vcenter_checks': {'offered': true, 'warnings': [7]}}]}"),
	    FY_ERR_INVAL, "vms[0].vcenter_checks.warnings[0]: not a string", "a checker message a number");
	bad(J("{'type': 'vsphere', 'vms': [{'name': 'a', 'power_state': 'shutoff (live only) and more than 32'}]}"),
	    FY_ERR_LIMIT, "vms[0].power_state: longer than 32 bytes", "a 37-byte power state");
	bad(J("{'type': 'vsphere', 'hosts': [{'name': 'h', 'maintenance': 'no'}]}"), FY_ERR_INVAL,
	    "hosts[0].maintenance: not true or false", "maintenance a string");
	bad(J("{'type': 'vsphere', 'hosts': [{'name': 'h', 'connection_state': 'maybe'}]}"), FY_ERR_INVAL,
	    "hosts[0].connection_state: \"maybe\"", "an unknown connection state");
	bad(J("{'type': 'vsphere', 'hosts': [{'version': '7.0.3'}]}"), FY_ERR_INVAL, "hosts[0].name: missing",
	    "a host without a name");
	bad(J("{'type': 'vsphere', 'hosts': [{'name': 'h', 'hw_versions': [13, '14']}]}"), FY_ERR_INVAL,
	    "hosts[0].hw_versions[1]: not an integer", "a hardware version as a string");
	bad(J("{'type': 'vsphere', 'hosts': {'name': 'h'}}"), FY_ERR_INVAL, "hosts: not an array", "hosts an object");
	bad(J("{'type': 'vsphere', 'networks': [12]}"), FY_ERR_INVAL, "networks[0]: not an object or a string",
	    "a network a number");
	bad(J("{'type': 'vsphere', 'networks': [{'name': 'n', 'vlan': 4096}]}"), FY_ERR_INVAL,
	    "networks[0].vlan: 4096 is out of range", "VLAN 4096");
	bad(J("{'type': 'vsphere', 'datastores': [{'name': 'd', 'free_bytes': 1.5}]}"), FY_ERR_INVAL,
	    "datastores[0].free_bytes: not an integer", "free bytes a real");
	bad(J("{'type': 'vsphere', 'dns': [{'name': 'vc', 'forward': [1]}]}"), FY_ERR_INVAL,
	    "dns[0].forward[0]: not a string", "an address a number");
	bad(J("{'type': 'vsphere', 'vcenter': []}"), FY_ERR_INVAL, "vcenter: not an object", "vcenter an array");
	bad(J("{'type': 'vsphere', 'vcenter': {'version': 7}}"), FY_ERR_INVAL, "vcenter.version: not a string",
	    "vcenter version a number");
	bad(J("{'type': 'vsphere', 'networks': [{'name': 'n', 'vlan_kind': 1}]}"), FY_ERR_INVAL,
	    "networks[0].vlan_kind: not a string", "a VLAN kind a number");
}

/* A trunk (no VLAN ID, vlan_kind trunk) reads as 4095, all VLANs; other kinds as no VLAN. */
static void
t_vlan_kind(void)
{
	struct netmap_facts *f;

	f = good(J("{'type': 'vsphere', 'networks': [{'name': 't', 'vlan_kind': 'trunk'},"
	    " {'name': 'p', 'vlan_kind': 'pvlan'}, {'name': 'h', 'vlan_kind': 'per-host'},"
	    " {'name': 'v', 'vlan': 4095, 'vlan_kind': 'vlan'}, {'name': 'w', 'vlan': 7, 'vlan_kind': 'trunk'}]}"),
	    "networks with each VLAN kind");
	if (f != NULL) {
		is_int(f->networks[0].vlan, 4095, "a trunk is VLAN 4095 (all VLANs)");
		is_int(f->networks[1].vlan, NETMAP_UNSET, "a private VLAN has none");
		is_int(f->networks[2].vlan, NETMAP_UNSET, "per-host has none");
		is_int(f->networks[3].vlan, 4095, "VLAN 4095 as an older gateway reports a standard trunk");
		is_int(f->networks[4].vlan, 7, "a VLAN ID given is kept whatever the kind says");
		netmap_facts_free(f);
	}
}

static void
t_limits(void)
{
	json_t *d, *o;
	char *s, *text;
	size_t i;
	struct netmap_facts *f;

	/* Names: 255 bytes, not 256. */
	s = rep('n', NETMAP_NAME_MAX);
	f = good(J("{'type': 'vsphere', 'vms': [{'name': '%s'}]}", s), "a 255-byte VM name");
	netmap_facts_free(f);
	free(s);
	s = rep('n', NETMAP_NAME_MAX + 1);
	bad(J("{'type': 'vsphere', 'vms': [{'name': '%s'}]}", s), FY_ERR_LIMIT, "vms[0].name: longer than 255 bytes",
	    "a 256-byte VM name");
	free(s);

	/* Counts. */
	f = good(vms_doc(1, NETMAP_NICS_MAX, -1, -1, json_null()), "16 NICs");
	netmap_facts_free(f);
	bad(vms_doc(1, NETMAP_NICS_MAX + 1, -1, -1, json_null()), FY_ERR_LIMIT, "vms[0].nics: more than 16 NICs",
	    "17 NICs");
	d = J("{'type': 'vsphere', 'hosts': []}");
	for (i = 0; i <= NETMAP_HOSTS_MAX; i++)
		japp(d, "hosts", J("{'name': 'h%zu'}", i));
	bad(d, FY_ERR_LIMIT, "hosts: more than 1024 hosts", "1025 hosts");
	d = J("{'type': 'vsphere', 'vms': []}");
	for (i = 0; i <= NETMAP_VMS_MAX; i++)
		japp(d, "vms", J("{'name': 'v'}"));
	bad(d, FY_ERR_LIMIT, "vms: more than 4096", "4097 VMs");
	o = J("{'name': 'a'}");
	for (i = 0; i < NETMAP_MEMBERS_MAX; i++) {
		char k[16];
		snprintf(k, sizeof(k), "x%zu", i);
		json_object_set_new(o, k, json_true());
	}
	d = J("{'type': 'vsphere', 'vms': []}");
	japp(d, "vms", o);
	bad(d, FY_ERR_LIMIT, "vms[0]: more than 64 members", "65 members in one object");

	/* Depth, unknown members included: 10 levels, not 11. */
	f = good(J("{'type': 'q', 'x': [[[[[[[[[1]]]]]]]]]}"), "10 nested levels");
	netmap_facts_free(f);
	bad(J("{'type': 'q', 'x': [[[[[[[[[[1]]]]]]]]]]}"), FY_ERR_LIMIT,
	    "x[0][0][0][0][0][0][0][0][0]: nested deeper than 10 levels", "11 nested levels");

	/* Strings in unknown members, checker messages (cut, not refused), the whole text. */
	s = rep('u', 65537);
	d = J("{'type': 'q'}");
	json_object_set_new(d, "extra", json_string(s));
	bad(d, FY_ERR_LIMIT, "extra: longer than 65536 bytes", "a 64 KiB string");
	free(s);
	s = rep('m', 3000);
	f = good(J("{'type': 'vsphere', 'vms': [{'name': 'a', 'vcenter_checks': {'offered': true,"
	    " 'errors': ['%s\\nline 2']}}]}", s), "a 3000-byte checker message");
	if (f != NULL) {
		ok(strlen(f->vms[0].checks.errors[0]) <= NETMAP_MSG_MAX &&
		    strcmp(f->vms[0].checks.errors[0] + strlen(f->vms[0].checks.errors[0]) - 3, "...") == 0,
		    "a long checker message is cut to 1024 bytes, marked ...");
		netmap_facts_free(f);
	}
	free(s);
	f = good(J("{'type': 'vsphere', 'vms': [{'name': 'a', 'vcenter_checks': {'offered': true,"
	    " 'warnings': ['one\\ntwo']}}]}"), "a checker message with a newline");
	if (f != NULL) {
		is_str(f->vms[0].checks.warnings[0], "one two", "control characters in messages become spaces");
		netmap_facts_free(f);
	}
	text = malloc(NETMAP_FACTS_TEXT_MAX + 1);
	if (text == NULL)
		bail("out of memory");
	memset(text, ' ', NETMAP_FACTS_TEXT_MAX + 1);
	text[0] = '{';
	text[NETMAP_FACTS_TEXT_MAX] = '}';
	bad_text(text, NETMAP_FACTS_TEXT_MAX + 1, FY_ERR_LIMIT, "facts: longer than", "16 MiB + 1 byte");
	free(text);
	bad_text(NULL, 0, FY_ERR_INVAL, "facts: none given", "no text");
}

static void
t_link(void)
{
	struct netmap_link l;
	json_t *j;

	netmap_link_init(&l);
	ok(l.rtt_ms < 0 && l.goodput_bps < 0 && l.loss_pct < 0 && l.retransmits < 0, "init: nothing measured");
	/* What `ferryctl link test --json` prints. */
	j = J("{'site': 'b', 'seconds': 5.0, 'bytes': 1448000, 'goodput_mbit': 940.5, 'rtt_ms': 12.25,"
	    " 'retransmits': 10, 'streams': 4, 'verified': true}");
	ok(netmap_link_from_json(j, &l, err, sizeof(err)) == 0, "the link test's JSON");
	json_decref(j);
	ok(l.goodput_bps > 940.49e6 && l.goodput_bps < 940.51e6, "goodput 940.5 Mbit/s");
	ok(l.rtt_ms == 12.25 && l.retransmits == 10, "rtt and retransmits");
	ok(l.loss_pct > 0.99 && l.loss_pct < 1.01, "loss estimated from retransmits: 1 %%");
	/* Today's link test: the loss is its paced probe's, or not measured when the probe failed. */
	j = J("{'bytes': 1448000, 'goodput_mbit': 940.5, 'rtt_ms': 12.25, 'retransmits': 10,"
	    " 'loss_pct': 0.25, 'probe': {'seconds': 0.5, 'mbit': 235.0, 'bytes': 14680064, 'retransmits': 25}}");
	ok(netmap_link_from_json(j, &l, err, sizeof(err)) == 0 && l.loss_pct == 0.25,
	    "loss_pct (the probe's) is taken as given, not the bulk flow's 1 %%: %g", l.loss_pct);
	json_decref(j);
	j = J("{'bytes': 1448000, 'goodput_mbit': 940.5, 'rtt_ms': 12.25, 'retransmits': 10,"
	    " 'loss_error': 'loss probe to b failed: no stream'}");
	ok(netmap_link_from_json(j, &l, err, sizeof(err)) == 0 && l.loss_pct < 0 && l.retransmits == 10 &&
	    l.goodput_bps > 940e6, "a failed probe: loss not measured (not the bulk flow's), the rest kept");
	json_decref(j);
	j = J("{'rtt_ms': 'slow'}");
	ok(netmap_link_from_json(j, &l, err, sizeof(err)) == FY_ERR_INVAL &&
	    strncmp(err, "link.rtt_ms: not a number", 25) == 0, "rtt a string: %s", err);
	json_decref(j);
	j = J("{'goodput_bps': -5}");
	ok(netmap_link_from_json(j, &l, err, sizeof(err)) == FY_ERR_INVAL &&
	    strncmp(err, "link.goodput_bps: -5 is out of range", 36) == 0, "negative goodput: %s", err);
	json_decref(j);
	j = J("[]");
	ok(netmap_link_from_json(j, &l, err, sizeof(err)) == FY_ERR_INVAL && strncmp(err, "link: ", 6) == 0,
	    "not an object");
	json_decref(j);
}

int
main(void)
{
	plan_lazy();
	t_vsphere();
	t_qemu_and_absent();
	t_types();
	t_vlan_kind();
	t_limits();
	t_link();
	done_testing();
}
