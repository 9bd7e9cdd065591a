/*
 * fixture.c - see fixture.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/tap.h"
#include "tests/unit/netmap/fixture.h"

#define TXT_MAX		16384

json_t *
J(const char *fmt, ...)
{
	char buf[TXT_MAX], *c;
	json_error_t je;
	json_t *j;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		bail("test JSON too long");
	for (c = buf; *c != '\0'; c++)
		if (*c == '\'')
			*c = '"';
	if ((j = json_loads(buf, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je)) == NULL)
		bail("test JSON: %s: %s", buf, je.text);
	return j;
}

/*
 * Walk path; with last != NULL stop before the final component and return
 * its parent, the component in last (a key, or "" and *index for "[n]").
 */
static json_t *
walk(json_t *root, const char *path, char *last, size_t lastcap, long *index)
{
	json_t *cur = root;
	const char *p = path;
	char key[128];
	size_t n;
	long i;

	for (;;) {
		if (*p == '[') {
			char *e;
			i = strtol(p + 1, &e, 10);
			if (*e != ']')
				bail("bad path %s", path);
			p = e + 1;
			if (last != NULL && *p == '\0') {
				last[0] = '\0';
				*index = i;
				return cur;
			}
			if ((cur = json_array_get(cur, (size_t)i)) == NULL)
				bail("path %s: no element %ld", path, i);
		} else {
			if (*p == '.')
				p++;
			n = strcspn(p, ".[");
			if (n == 0 || n >= sizeof(key))
				bail("bad path %s", path);
			memcpy(key, p, n);
			key[n] = '\0';
			p += n;
			if (last != NULL && *p == '\0') {
				snprintf(last, lastcap, "%s", key);
				return cur;
			}
			if ((cur = json_object_get(cur, key)) == NULL)
				bail("path %s: no member %s", path, key);
		}
		if (*p == '\0')
			return cur;
	}
}

json_t *
jat(json_t *root, const char *path)
{
	return walk(root, path, NULL, 0, NULL);
}

void
jset(json_t *root, const char *path, json_t *v)
{
	char last[128];
	long i = 0;
	json_t *parent = walk(root, path, last, sizeof(last), &i);

	if (last[0] != '\0' ? json_object_set_new(parent, last, v) : json_array_set_new(parent, (size_t)i, v))
		bail("cannot set %s", path);
}

void
jdel(json_t *root, const char *path)
{
	char last[128];
	long i = 0;
	json_t *parent = walk(root, path, last, sizeof(last), &i);

	if (last[0] != '\0' ? json_object_del(parent, last) : json_array_remove(parent, (size_t)i))
		bail("cannot delete %s", path);
}

void
japp(json_t *root, const char *path, json_t *v)
{
	if (json_array_append_new(jat(root, path), v) != 0)
		bail("cannot append to %s", path);
}

static json_t *
dns_ok(const char *name, const char *addr)
{
	return J("{'name': '%s', 'forward': ['%s'], 'reverse': ['%s']}", name, addr, name);
}

static json_t *
dns_all(void)
{
	json_t *a = json_array();

	json_array_append_new(a, dns_ok("vc.a.example", "192.0.2.1"));
	json_array_append_new(a, dns_ok("vc.b.example", "198.51.100.1"));
	json_array_append_new(a, dns_ok("esx1.b.example", "198.51.100.11"));
	return a;
}

static void
common_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	netmap_link_init(&f->link);
	f->link.rtt_ms = 20;
	f->link.goodput_bps = 1e9;
	f->link.loss_pct = 0;
	f->link.retransmits = 0;
	netmap_options_init(&f->opt);
	if ((f->nmap = netmap_map_new(NETMAP_MAP_NETWORK)) == NULL ||
	    (f->dmap = netmap_map_new(NETMAP_MAP_DATASTORE)) == NULL)
		bail("out of memory");
}

void
fx_init(struct fx *f)
{
	common_init(f);
	f->src = J("{'type': 'vsphere', 'site': 'site-a',"
	    " 'vcenter': {'name': 'vc.a.example', 'version': '7.0.3', 'build': '21477706',"
	    "   'instance_uuid': '11111111-2222-3333-4444-555555555555'},"
	    " 'hosts': [{'name': 'esx1.a.example', 'version': '7.0.3', 'build': '21424296',"
	    "   'connection_state': 'connected', 'maintenance': false, 'max_evc': 'intel-skylake',"
	    "   'cluster': 'CA', 'hw_versions': [13, 14, 15, 17, 18, 19]}],"
	    " 'clusters': [{'name': 'CA', 'evc_mode': 'intel-broadwell'}],"
	    " 'datastores': [{'name': 'DS-A', 'free_bytes': %lld, 'capacity_bytes': %lld}],"
	    " 'networks': [{'name': 'VM Network', 'kind': 'standard', 'vlan': 10},"
	    "   {'name': 'DPG-A', 'kind': 'distributed', 'switch': 'DVS-A', 'vlan': 20}],"
	    " 'vms': [{'name': 'web01', 'instance_uuid': '50010000-0000-0000-0000-000000000001',"
	    "   'bios_uuid': '42010000-0000-0000-0000-000000000001', 'power_state': 'poweredOn',"
	    "   'hw_version': 'vmx-13', 'memory_mib': 4096, 'host': 'esx1.a.example',"
	    "   'min_evc': 'intel-haswell', 'encryption': null,"
	    "   'storage': [{'datastore': 'DS-A', 'committed_bytes': %lld, 'uncommitted_bytes': %lld}],"
	    "   'disks': [{'label': 'Hard disk 1', 'datastore': 'DS-A', 'capacity_bytes': %lld,"
	    "     'encryption': null}],"
	    "   'nics': [{'label': 'Network adapter 1', 'network': 'VM Network', 'kind': 'standard',"
	    "     'mac': '00:50:56:00:00:01'}],"
	    "   'vcenter_checks': {'offered': true, 'errors': [], 'warnings': []}}]}",
	    (long long)TiB, (long long)(2 * TiB), (long long)(10 * GiB), (long long)(10 * GiB),
	    (long long)(20 * GiB));
	jset(f->src, "dns", dns_all());
	f->dst = J("{'type': 'vsphere', 'site': 'site-b',"
	    " 'vcenter': {'name': 'vc.b.example', 'version': '7.0.3', 'build': '21477706',"
	    "   'instance_uuid': '11111111-2222-3333-4444-555555555555'},"
	    " 'hosts': [{'name': 'esx1.b.example', 'version': '7.0.3', 'connection_state': 'connected',"
	    "   'maintenance': false, 'max_evc': 'intel-skylake', 'cluster': 'CB'}],"
	    " 'clusters': [{'name': 'CB', 'evc_mode': 'intel-broadwell'}],"
	    " 'datastores': [{'name': 'DS-A', 'free_bytes': %lld, 'capacity_bytes': %lld},"
	    "   {'name': 'DS-B', 'free_bytes': %lld, 'capacity_bytes': %lld}],"
	    " 'networks': [{'name': 'VM Network', 'kind': 'standard', 'vlan': 10},"
	    "   {'name': 'Prod-B', 'kind': 'distributed', 'switch': 'DVS-B', 'vlan': 10}],"
	    " 'vms': [{'name': 'other', 'instance_uuid': '50010000-0000-0000-0000-0000000000ff',"
	    "   'bios_uuid': '42010000-0000-0000-0000-0000000000ff',"
	    "   'nics': [{'network': 'VM Network', 'mac': '00:50:56:00:00:99'}]}]}",
	    (long long)TiB, (long long)(2 * TiB), (long long)(100 * GiB), (long long)(200 * GiB));
	jset(f->dst, "dns", dns_all());
}

void
fx_init_qemu(struct fx *f)
{
	common_init(f);
	/* What q_facts reports, plus the VMs the driver will add. */
	f->src = J("{'type': 'qemu', 'site': 'lab-a', 'qemu_version': '7.2.22',"
	    " 'qemu_binary': '/usr/bin/qemu-system-x86_64', 'networks': ['lan'],"
	    " 'datastores': [{'name': 'default', 'dir': '/var/lib/ferry/a', 'free_bytes': %lld,"
	    "   'total_bytes': %lld}], 'accelerators': ['tcg', 'kvm'],"
	    " 'vms': [{'name': 'guest1', 'instance_uuid': '6a1f0000-0000-0000-0000-000000000001',"
	    "   'power_state': 'running', 'memory_mib': 256, 'accel': 'kvm',"
	    "   'disks': [{'datastore': 'default', 'capacity_bytes': %lld}],"
	    "   'nics': [{'network': 'lan', 'mac': '52:54:00:12:34:56'}]}]}",
	    (long long)(100 * GiB), (long long)(200 * GiB), (long long)GiB);
	f->dst = J("{'type': 'qemu', 'site': 'lab-b', 'qemu_version': '7.2.22',"
	    " 'networks': ['lan'],"
	    " 'datastores': [{'name': 'default', 'dir': '/var/lib/ferry/b', 'free_bytes': %lld,"
	    "   'total_bytes': %lld}], 'accelerators': ['tcg', 'kvm'], 'vms': []}",
	    (long long)(100 * GiB), (long long)(200 * GiB));
}

void
fx_nmap(struct fx *f, const char *entry)
{
	char err[512];

	if (netmap_map_add(f->nmap, entry, err, sizeof(err)) != 0)
		bail("network map %s: %s", entry, err);
}

void
fx_dmap(struct fx *f, const char *entry)
{
	char err[512];

	if (netmap_map_add(f->dmap, entry, err, sizeof(err)) != 0)
		bail("datastore map %s: %s", entry, err);
}

struct netmap_report *
fx_run(struct fx *f)
{
	struct netmap_input in;
	char err[512];

	netmap_report_free(f->r);
	netmap_facts_free(f->fs);
	netmap_facts_free(f->fd);
	f->r = NULL;
	f->fs = f->fd = NULL;
	if (netmap_facts_from_json(f->src, &f->fs, err, sizeof(err)) != 0)
		bail("source facts refused: %s", err);
	if (netmap_facts_from_json(f->dst, &f->fd, err, sizeof(err)) != 0)
		bail("destination facts refused: %s", err);
	memset(&in, 0, sizeof(in));
	in.src = f->fs;
	in.dst = f->fd;
	in.link = f->no_link ? NULL : &f->link;
	in.networks = f->nmap;
	in.datastores = f->dmap;
	in.opt = &f->opt;
	if (netmap_check(&in, &f->r, err, sizeof(err)) != 0)
		bail("check failed: %s", err);
	return f->r;
}

void
fx_free(struct fx *f)
{
	json_decref(f->src);
	json_decref(f->dst);
	netmap_map_free(f->nmap);
	netmap_map_free(f->dmap);
	netmap_report_free(f->r);
	netmap_facts_free(f->fs);
	netmap_facts_free(f->fd);
	memset(f, 0, sizeof(*f));
}

size_t
fx_count(const struct netmap_report *r, const char *code, int vm)
{
	const struct netmap_finding *x;
	size_t i, n = 0;

	for (i = 0; i < netmap_report_count(r); i++) {
		x = netmap_report_get(r, i);
		if (strcmp(x->code, code) == 0 && (vm == -2 || x->vm_index == vm))
			n++;
	}
	return n;
}

const char *
fx_codes(const struct netmap_report *r)
{
	static char buf[TXT_MAX];
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < netmap_report_count(r) && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? " " : "",
		    netmap_report_get(r, i)->code);
	return buf;
}
