/*
 * dom_vsphere.c - the vsphere domain: a site fronting its own vCenter,
 * reached with the vim25 client (vim.h).  The facts side only: inventory
 * and pre-flight facts (ferry-findings(7), FACTS), gathered in bulk with
 * one property collection per managed object type, names resolved by
 * this gateway, and vCenter's own CheckRelocate where it offers it.
 * Defining, starting, stopping and migrating VMs are refused with a
 * message saying so: vCenter does those, and Ferry's live move for this
 * domain is not written yet.
 *
 * One vim context per domain, opened lazily (the first call logs in),
 * kept, and used under a mutex; vim.c logs in again when the session is
 * gone.  The password is read by vim.c at each login and never leaves it.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "config.h"
#include "gateway.h"
#include "domain.h"
#include "vim.h"

#define VS_DNS_MS	5000	/* all the lookups of one facts request */
#define VS_DNS_ADDRS	16	/* NETMAP_ADDRS_MAX */
#define VS_CHECK_MAX	4096	/* CheckRelocate calls in one request */

struct vsdom {
	struct site *site;
	pthread_mutex_t mtx;	/* one vim call sequence at a time */
	struct vim *vim;
	char vc_name[256];	/* the host part of vcenter_url */
	int timeout_s;
};

/* ---------------------------------------------------------------- DNS */

/*
 * Forward and reverse lookups in a worker thread, so that a resolver that
 * does not answer costs at most VS_DNS_MS: what is not done by then is
 * reported as timed out, and the worker finishes (and frees) on its own.
 */
struct dnsjob {
	pthread_mutex_t m;
	pthread_cond_t cv;
	int refs;
	size_t n, done;
	char **names;
	json_t **res;
};

static void
dnsjob_put(struct dnsjob *j)
{
	size_t i;
	int last;

	pthread_mutex_lock(&j->m);
	last = --j->refs == 0;
	pthread_mutex_unlock(&j->m);
	if (!last)
		return;
	for (i = 0; i < j->n; i++) {
		free(j->names[i]);
		json_decref(j->res[i]);
	}
	free(j->names);
	free(j->res);
	pthread_cond_destroy(&j->cv);
	pthread_mutex_destroy(&j->m);
	free(j);
}

static json_t *
resolve_one(const char *name)
{
	struct addrinfo hints, *res = NULL, *ai;
	json_t *fw = json_array(), *rv = json_array(), *o;
	char addr[NI_MAXHOST], host[NI_MAXHOST];
	const char *error = NULL;
	size_t i;
	int e, re = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(name, NULL, &hints, &res)) != 0)
		error = gai_strerror(e);
	for (ai = res; ai != NULL && json_array_size(fw) < VS_DNS_ADDRS; ai = ai->ai_next) {
		json_t *v;
		int dup = 0;
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr), NULL, 0, NI_NUMERICHOST) != 0)
			continue;
		json_array_foreach(fw, i, v)
			dup |= strcmp(json_string_value(v), addr) == 0;
		if (dup)
			continue;
		json_array_append_new(fw, json_string(addr));
		if ((e = getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), NULL, 0, NI_NAMEREQD)) != 0) {
			re = e;
			continue;
		}
		dup = 0;
		json_array_foreach(rv, i, v)
			dup |= strcmp(json_string_value(v), host) == 0;
		if (!dup && json_array_size(rv) < VS_DNS_ADDRS)
			json_array_append_new(rv, json_string(host));
	}
	if (res != NULL)
		freeaddrinfo(res);
	if (error == NULL && json_array_size(fw) > 0 && json_array_size(rv) == 0 && re != 0)
		error = gai_strerror(re);
	o = json_pack("{s:s, s:o, s:o}", "name", name, "forward", fw, "reverse", rv);
	if (o != NULL && error != NULL)
		json_object_set_new(o, "error", json_string(error));
	return o;
}

static void *
dns_worker(void *arg)
{
	struct dnsjob *j = arg;
	size_t i;

	for (i = 0; i < j->n; i++) {
		json_t *o = resolve_one(j->names[i]);
		pthread_mutex_lock(&j->m);
		j->res[i] = o;
		j->done = i + 1;
		pthread_cond_signal(&j->cv);
		pthread_mutex_unlock(&j->m);
	}
	dnsjob_put(j);
	return NULL;
}

json_t *
vsphere_dns_lookup(const json_t *names)
{
	struct dnsjob *j;
	pthread_t t;
	pthread_attr_t at;
	struct timespec ts;
	json_t *out = json_array(), *v;
	size_t i, k, n = 0;

	if (out == NULL || (j = calloc(1, sizeof(*j))) == NULL)
		return out;
	j->names = calloc(json_array_size(names) + 1, sizeof(char *));
	j->res = calloc(json_array_size(names) + 1, sizeof(json_t *));
	pthread_mutex_init(&j->m, NULL);
	pthread_cond_init(&j->cv, NULL);
	j->refs = 1;
	if (j->names == NULL || j->res == NULL)
		goto out;
	json_array_foreach(names, i, v) {	/* once each, without case */
		const char *s = json_string_value(v);
		if (s == NULL || *s == '\0' || strlen(s) > 255)
			continue;
		for (k = 0; k < n; k++)
			if (strcasecmp(j->names[k], s) == 0)
				break;
		if (k == n && (j->names[n] = strdup(s)) != NULL)
			n++;
	}
	j->n = n;
	if (n == 0)
		goto out;
	j->refs = 2;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &at, dns_worker, j) != 0)
		j->refs = 1;
	pthread_attr_destroy(&at);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += VS_DNS_MS / 1000;
	ts.tv_nsec += (VS_DNS_MS % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&j->m);
	while (j->refs == 2 && j->done < j->n)
		if (pthread_cond_timedwait(&j->cv, &j->m, &ts) != 0)
			break;
	for (i = 0; i < n; i++) {
		if (j->res[i] != NULL) {
			json_array_append_new(out, j->res[i]);
			j->res[i] = NULL;
		} else if (i >= j->done)
			json_array_append_new(out, json_pack("{s:s, s:[], s:[], s:s}", "name", j->names[i], "forward",
			    "reverse", "error", j->refs == 2 ? "no answer from the resolver in time" :
			    "lookup not started"));
	}
	pthread_mutex_unlock(&j->m);
out:
	dnsjob_put(j);
	return out;
}

/* --------------------------------------------------------- helpers */

static const char *
txt(const struct vim_val *v)
{
	const char *s = vim_val_text(v);

	return v != NULL && s[0] != '\0' ? s : NULL;
}

static json_t *
jstr_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* id -> name, from one collected set (prop), for references between objects. */
struct names {
	const struct vim_objset *set;
	const char *prop;
};

static const char *
name_of(const struct names *nm, size_t n, const char *id)
{
	size_t i, k;

	if (id == NULL)
		return NULL;
	for (k = 0; k < n; k++)
		for (i = 0; i < vim_objset_count(nm[k].set); i++)
			if (strcmp(vim_obj_id(nm[k].set, i), id) == 0)
				return txt(vim_obj_prop(nm[k].set, i, nm[k].prop));
	return NULL;
}

static const char *
moref_id(const struct vim_val *v)
{
	const char *t, *id;

	return v != NULL && vim_val_moref(v, &t, &id) == 0 ? id : NULL;
}

static int
vfail(struct vsdom *d, const char *what, struct fy_error *err)
{
	const char *f = d->vim != NULL ? vim_fault(d->vim) : "";
	char inner[sizeof(err->msg)];

	snprintf(inner, sizeof(inner), "%s", err->msg);
	if (f[0] != '\0' && strstr(inner, f) == NULL)
		return fy_fail(err, err->code, "vCenter %s: %s: %s (%s)", d->vc_name, what, inner, f);
	return fy_fail(err, err->code, "vCenter %s: %s: %s", d->vc_name, what, inner);
}

/* ---------------------------------------------------------- gathering */

static const char *const vm_paths[] = { "name", "config.instanceUuid", "config.uuid", "runtime.powerState",
	"config.version", "config.hardware.memoryMB", "config.hardware.numCPU", "runtime.host",
	"runtime.minRequiredEVCModeKey", "config.keyId", "storage.perDatastoreUsage", "config.hardware.device" };
static const char *const host_paths[] = { "name", "config.product.version", "config.product.build",
	"runtime.connectionState", "runtime.inMaintenanceMode", "summary.maxEVCModeKey", "parent",
	"config.network.portgroup" };
static const char *const cluster_paths[] = { "name", "summary.currentEVCModeKey" };
static const char *const ds_paths[] = { "summary.name", "summary.freeSpace", "summary.capacity" };
static const char *const net_paths[] = { "name" };
static const char *const dvpg_paths[] = { "name", "key", "config.distributedVirtualSwitch",
	"config.defaultPortConfig" };
static const char *const dvs_paths[] = { "name", "uuid" };
static const char *const si_paths[] = { "content.about" };
#define NP(a) (sizeof(a) / sizeof(a[0]))

struct inv {
	struct vim_objset *vms, *hosts, *clusters, *ds, *nets, *dvpgs, *dvs, *si;
};

static void
inv_free(struct inv *iv)
{
	vim_objset_free(iv->vms);
	vim_objset_free(iv->hosts);
	vim_objset_free(iv->clusters);
	vim_objset_free(iv->ds);
	vim_objset_free(iv->nets);
	vim_objset_free(iv->dvpgs);
	vim_objset_free(iv->dvs);
	vim_objset_free(iv->si);
	memset(iv, 0, sizeof(*iv));
}

/* Under d->mtx.  vms_only: the VMs alone (list). */
static int
inv_collect(struct vsdom *d, struct inv *iv, int vms_only, struct fy_error *err)
{
	static const struct {
		const char *type;
		const char *const *paths;
		size_t n;
		size_t off;
	} t[] = {
		{ "VirtualMachine", vm_paths, NP(vm_paths), offsetof(struct inv, vms) },
		{ "HostSystem", host_paths, NP(host_paths), offsetof(struct inv, hosts) },
		{ "ClusterComputeResource", cluster_paths, NP(cluster_paths), offsetof(struct inv, clusters) },
		{ "Datastore", ds_paths, NP(ds_paths), offsetof(struct inv, ds) },
		{ "Network", net_paths, NP(net_paths), offsetof(struct inv, nets) },
		{ "DistributedVirtualPortgroup", dvpg_paths, NP(dvpg_paths), offsetof(struct inv, dvpgs) },
		{ "DistributedVirtualSwitch", dvs_paths, NP(dvs_paths), offsetof(struct inv, dvs) },
	};
	size_t i;
	char what[96];

	memset(iv, 0, sizeof(*iv));
	for (i = 0; i < (vms_only ? 1 : NP(t)); i++) {
		struct vim_objset **slot = (struct vim_objset **)((char *)iv + t[i].off);
		if (vim_collect(d->vim, t[i].type, t[i].paths, t[i].n, slot, err) != 0) {
			snprintf(what, sizeof(what), "reading the %s inventory", t[i].type);
			vfail(d, what, err);
			inv_free(iv);
			return err->code;
		}
	}
	return 0;
}

static json_t *
key_json(const struct vim_val *k)
{
	if (k == NULL)
		return json_null();
	return json_pack("{s:o, s:o}", "key_id", jstr_or_null(txt(vim_val_path(k, "keyId"))), "key_provider",
	    jstr_or_null(txt(vim_val_path(k, "providerId.id"))));
}

static json_t *
host_json(const struct inv *iv, size_t i)
{
	const struct vim_objset *h = iv->hosts;
	const struct vim_val *par = vim_obj_prop(h, i, "parent");
	const struct names cl = { iv->clusters, "name" };
	const char *cluster = NULL, *pt, *pid;
	json_t *o;
	int b;

	if (par != NULL && vim_val_moref(par, &pt, &pid) == 0 && strcmp(pt, "ClusterComputeResource") == 0)
		cluster = name_of(&cl, 1, pid);
	o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "name", txt(vim_obj_prop(h, i, "name")) ?
	    txt(vim_obj_prop(h, i, "name")) : vim_obj_id(h, i),
	    "version", jstr_or_null(txt(vim_obj_prop(h, i, "config.product.version"))),
	    "build", jstr_or_null(txt(vim_obj_prop(h, i, "config.product.build"))),
	    "cluster", jstr_or_null(cluster),
	    "connection_state", jstr_or_null(txt(vim_obj_prop(h, i, "runtime.connectionState"))),
	    "max_evc", jstr_or_null(txt(vim_obj_prop(h, i, "summary.maxEVCModeKey"))));
	if (o != NULL && vim_val_bool(vim_obj_prop(h, i, "runtime.inMaintenanceMode"), &b) == 0)
		json_object_set_new(o, "maintenance", json_boolean(b));
	return o;
}

/* A NIC's network from its backing: name, kind, switch uuid. */
static void
nic_network(const struct inv *iv, const struct vim_val *bk, const char **net, const char **kind,
    const char **sw_uuid)
{
	const char *bt = vim_val_type(bk, NULL);
	const struct names nets = { iv->nets, "name" };
	size_t i;

	*net = NULL;
	*kind = NULL;
	*sw_uuid = NULL;
	if (strcmp(bt, "VirtualEthernetCardDistributedVirtualPortBackingInfo") == 0) {
		const char *key = txt(vim_val_path(bk, "port.portgroupKey"));
		*kind = "distributed";
		*sw_uuid = txt(vim_val_path(bk, "port.switchUuid"));
		for (i = 0; key != NULL && i < vim_objset_count(iv->dvpgs); i++)
			if (strcmp(vim_obj_id(iv->dvpgs, i), key) == 0 ||
			    (txt(vim_obj_prop(iv->dvpgs, i, "key")) != NULL &&
			    strcmp(txt(vim_obj_prop(iv->dvpgs, i, "key")), key) == 0))
				*net = txt(vim_obj_prop(iv->dvpgs, i, "name"));
		if (*net == NULL)
			*net = key;
	} else if (strcmp(bt, "VirtualEthernetCardOpaqueNetworkBackingInfo") == 0) {
		*kind = "opaque";
		*net = txt(vim_val_path(bk, "opaqueNetworkId"));
	} else {
		*kind = "standard";
		if ((*net = name_of(&nets, 1, moref_id(vim_val_path(bk, "network")))) == NULL)
			*net = txt(vim_val_path(bk, "deviceName"));
	}
}

static json_t *
vm_json(const struct inv *iv, size_t i)
{
	const struct vim_objset *s = iv->vms;
	const struct names hosts = { iv->hosts, "name" }, ds = { iv->ds, "summary.name" };
	const struct vim_val *devs = vim_obj_prop(s, i, "config.hardware.device");
	const struct vim_val *use = vim_obj_prop(s, i, "storage.perDatastoreUsage");
	const char *hw = txt(vim_obj_prop(s, i, "config.version"));
	json_t *o, *disks = json_array(), *nics = json_array(), *storage = json_array();
	long long mem = -1, cpus = -1;
	size_t k;

	for (k = 0; k < vim_val_count(use); k++) {
		const struct vim_val *u = vim_val_child(use, k);
		long long c = 0, un = 0;
		const char *dsn = name_of(&ds, 1, moref_id(vim_val_path(u, "datastore")));
		if (vim_val_int(vim_val_path(u, "committed"), &c) != 0)
			c = 0;
		if (vim_val_int(vim_val_path(u, "uncommitted"), &un) != 0)
			un = 0;
		json_array_append_new(storage, json_pack("{s:s, s:I, s:I}", "datastore", dsn ? dsn :
		    moref_id(vim_val_path(u, "datastore")) ? moref_id(vim_val_path(u, "datastore")) : "(unknown)",
		    "committed_bytes", (json_int_t)c, "uncommitted_bytes", (json_int_t)un));
	}
	for (k = 0; k < vim_val_count(devs); k++) {
		const struct vim_val *dv = vim_val_child(devs, k), *bk = vim_val_path(dv, "backing");
		const char *type = vim_val_type(dv, NULL), *label = txt(vim_val_path(dv, "deviceInfo.label"));
		if (strcmp(type, "VirtualDisk") == 0) {
			long long cap = -1;
			const char *dsn = name_of(&ds, 1, moref_id(vim_val_path(bk, "datastore")));
			json_t *dj;
			if (vim_val_int(vim_val_path(dv, "capacityInBytes"), &cap) != 0 &&
			    vim_val_int(vim_val_path(dv, "capacityInKB"), &cap) == 0)
				cap *= 1024;
			if (json_array_size(disks) >= 64)
				continue;
			dj = json_pack("{s:o, s:s, s:o}", "label", jstr_or_null(label), "datastore", dsn ? dsn :
			    "(unknown)", "encryption", key_json(vim_val_path(bk, "keyId")));
			if (dj != NULL && cap >= 0)
				json_object_set_new(dj, "capacity_bytes", json_integer(cap));
			json_array_append_new(disks, dj);
		} else if (vim_val_path(dv, "macAddress") != NULL || strstr(vim_val_type(bk, NULL), "Ethernet") != NULL) {
			const char *net, *kind, *swu, *mac = txt(vim_val_path(dv, "macAddress"));
			json_t *nj;
			if (json_array_size(nics) >= 16)
				continue;
			nic_network(iv, bk, &net, &kind, &swu);
			nj = json_pack("{s:o, s:s, s:s}", "label", jstr_or_null(label), "network", net ? net :
			    "(unknown)", "kind", kind);
			if (nj != NULL && swu != NULL)
				json_object_set_new(nj, "switch_uuid", json_string(swu));
			if (nj != NULL && mac != NULL && strlen(mac) == 17)
				json_object_set_new(nj, "mac", json_string(mac));
			json_array_append_new(nics, nj);
		}
	}
	if (vim_val_int(vim_obj_prop(s, i, "config.hardware.memoryMB"), &mem) != 0)
		mem = -1;
	if (vim_val_int(vim_obj_prop(s, i, "config.hardware.numCPU"), &cpus) != 0)
		cpus = -1;
	o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "name", txt(vim_obj_prop(s, i, "name")) ? txt(vim_obj_prop(s, i, "name")) : vim_obj_id(s, i),
	    "instance_uuid", jstr_or_null(txt(vim_obj_prop(s, i, "config.instanceUuid"))),
	    "bios_uuid", jstr_or_null(txt(vim_obj_prop(s, i, "config.uuid"))),
	    "power_state", jstr_or_null(txt(vim_obj_prop(s, i, "runtime.powerState"))),
	    "host", jstr_or_null(name_of(&hosts, 1, moref_id(vim_obj_prop(s, i, "runtime.host")))),
	    "min_evc", jstr_or_null(txt(vim_obj_prop(s, i, "runtime.minRequiredEVCModeKey"))),
	    "encryption", key_json(vim_obj_prop(s, i, "config.keyId")),
	    "storage", storage, "disks", disks, "nics", nics,
	    "hw_version", jstr_or_null(hw != NULL && strncmp(hw, "vmx-", 4) == 0 ? hw : NULL));
	if (o != NULL && mem >= 0)
		json_object_set_new(o, "memory_mib", json_integer(mem));
	if (o != NULL && cpus >= 0)
		json_object_set_new(o, "vcpus", json_integer(cpus));
	return o;
}

/* vCenter's CheckRelocate of VM i against its own host: {offered, errors, warnings}. */
static json_t *
vm_checks(struct vsdom *d, const struct inv *iv, size_t i, int *offered, struct fy_error *err)
{
	struct vim_objset *res = NULL;
	const struct vim_val *r, *cr, *m;
	json_t *errs, *warns;
	size_t k, j;

	if (!*offered)
		return json_pack("{s:b, s:[], s:[]}", "offered", 0, "errors", "warnings");
	if (vim_check_relocate(d->vim, vim_obj_id(iv->vms, i), moref_id(vim_obj_prop(iv->vms, i, "runtime.host")),
	    d->timeout_s, &res, err) != 0) {
		if (err->code == FY_ERR_VERSION) {	/* not offered (MethodNotFound or no checker) */
			*offered = 0;
			return json_pack("{s:b, s:[], s:[]}", "offered", 0, "errors", "warnings");
		}
		vfail(d, "CheckRelocate", err);
		return NULL;
	}
	errs = json_array();
	warns = json_array();
	r = vim_val_path(vim_obj_prop(res, 0, "info"), "result");
	for (k = 0; k < vim_val_count(r); k++) {
		cr = vim_val_child(r, k);
		for (j = 0; j < vim_val_count(cr); j++) {
			const char *msg;
			m = vim_val_child(cr, j);
			msg = txt(vim_val_path(m, "localizedMessage"));
			if (msg == NULL)
				msg = vim_val_type(vim_val_path(m, "fault"), NULL);
			if (strcmp(vim_val_name(m), "error") == 0 && json_array_size(errs) < 64)
				json_array_append_new(errs, json_string(msg));
			else if (strcmp(vim_val_name(m), "warning") == 0 && json_array_size(warns) < 64)
				json_array_append_new(warns, json_string(msg));
		}
	}
	vim_objset_free(res);
	return json_pack("{s:b, s:o, s:o}", "offered", 1, "errors", errs, "warnings", warns);
}

/*
 * VLANs.  A standard port group lives on each host that has it, with that
 * host's VLAN (HostSystem config.network.portgroup[].spec): the network's
 * VLAN is reported only when every host that has the port group agrees.
 * A distributed port group's is in its default port setting: a plain VLAN
 * spec has one ID; a trunk or a private VLAN has none (only its kind).  A
 * standard port group's VLAN ID 4095 is no VLAN but all of them (the guest
 * tags its frames): a trunk too.
 */
#define VLAN_ALL 4095
struct pgvlan {
	const char *name;	/* spec.name, in the hosts' set */
	int vlan;		/* 0..4095; -1: none read yet */
	int differ;		/* two hosts gave two VLANs */
	int unknown;		/* a host gave none */
};

static int
cmp_pgvlan(const void *a, const void *b)
{
	return strcmp(((const struct pgvlan *)a)->name, ((const struct pgvlan *)b)->name);
}

/* Every host's standard port groups, one entry a name, sorted: *out (malloc'd, NULL when none). */
static int
std_vlans(const struct inv *iv, struct pgvlan **out, size_t *nout)
{
	const struct vim_val *pgs, *pg;
	struct pgvlan *t;
	const char *name;
	long long v;
	size_t i, k, n = 0, m = 0;

	*out = NULL;
	*nout = 0;
	for (i = 0; i < vim_objset_count(iv->hosts); i++)
		n += vim_val_count(vim_obj_prop(iv->hosts, i, "config.network.portgroup"));
	if (n == 0)
		return 0;
	if ((t = calloc(n, sizeof(*t))) == NULL)
		return FY_ERR_NOMEM;
	n = 0;
	for (i = 0; i < vim_objset_count(iv->hosts); i++) {
		pgs = vim_obj_prop(iv->hosts, i, "config.network.portgroup");
		for (k = 0; k < vim_val_count(pgs); k++) {
			pg = vim_val_child(pgs, k);
			if ((name = txt(vim_val_path(pg, "spec.name"))) == NULL)
				continue;
			t[n].name = name;
			t[n].vlan = -1;
			if (vim_val_int(vim_val_path(pg, "spec.vlanId"), &v) == 0 && v >= 0 && v <= 4095)
				t[n].vlan = (int)v;
			else
				t[n].unknown = 1;
			n++;
		}
	}
	qsort(t, n, sizeof(*t), cmp_pgvlan);
	for (i = 0; i < n; i++) {
		if (m == 0 || strcmp(t[m - 1].name, t[i].name) != 0) {
			t[m++] = t[i];
			continue;
		}
		if (t[i].unknown)
			t[m - 1].unknown = 1;
		else if (t[m - 1].vlan < 0)
			t[m - 1].vlan = t[i].vlan;
		else if (t[m - 1].vlan != t[i].vlan)
			t[m - 1].differ = 1;
	}
	*out = t;
	*nout = m;
	return 0;
}

/* Set o's "vlan" (when one) and "vlan_kind" from a standard port group's hosts. */
static void
std_vlan_json(const struct pgvlan *t, size_t n, const char *name, json_t *o)
{
	struct pgvlan key, *hit;

	if (t == NULL || name == NULL || o == NULL)
		return;
	key.name = name;
	if ((hit = bsearch(&key, t, n, sizeof(*t), cmp_pgvlan)) == NULL)
		return;		/* no host has it: unknown */
	if (hit->differ)
		json_object_set_new(o, "vlan_kind", json_string("per-host"));
	else if (!hit->unknown && hit->vlan == VLAN_ALL)
		json_object_set_new(o, "vlan_kind", json_string("trunk"));
	else if (!hit->unknown && hit->vlan >= 0) {
		json_object_set_new(o, "vlan", json_integer(hit->vlan));
		json_object_set_new(o, "vlan_kind", json_string("vlan"));
	}
}

/* The same from a distributed port group's config.defaultPortConfig. */
static void
dv_vlan_json(const struct vim_val *port, json_t *o)
{
	const struct vim_val *vl = vim_val_path(port, "vlan");
	const char *t = vim_val_type(vl, NULL);
	long long v;

	if (vl == NULL || o == NULL)
		return;
	if (strcmp(t, "VmwareDistributedVirtualSwitchVlanIdSpec") == 0) {
		if (vim_val_int(vim_val_path(vl, "vlanId"), &v) == 0 && v >= 0 && v <= 4095) {
			json_object_set_new(o, "vlan", json_integer(v));
			json_object_set_new(o, "vlan_kind", json_string("vlan"));
		}
	} else if (strcmp(t, "VmwareDistributedVirtualSwitchTrunkVlanSpec") == 0)
		json_object_set_new(o, "vlan_kind", json_string("trunk"));
	else if (strcmp(t, "VmwareDistributedVirtualSwitchPvlanSpec") == 0)
		json_object_set_new(o, "vlan_kind", json_string("pvlan"));
}

static int
lock_vim(struct vsdom *d, struct fy_error *err)
{
	(void)err;
	pthread_mutex_lock(&d->mtx);
	return 0;
}

/*
 * The FACTS document.  names: the VMs (array of strings, or of objects
 * with "name"), NULL for the whole inventory.  With names, every VM must
 * exist (FY_ERR_NOTFOUND names the first that does not) and vCenter's own
 * checks are run for each; the inventory has none.
 */
static json_t *
vs_site_facts(struct domain *dom, json_t *names, struct fy_error *err)
{
	struct vsdom *d = dom->priv;
	struct vim_about ab;
	struct inv iv;
	struct pgvlan *pgv = NULL;
	json_t *f = NULL, *hosts, *clusters, *dss, *nets, *vms, *dnsn, *v;
	size_t i, k, npgv = 0;
	int offered = 1, ncheck = 0, r;

	if (names != NULL && !json_is_array(names)) {
		fy_fail(err, FY_ERR_INVAL, "VM names: not a list");
		return NULL;
	}
	lock_vim(d, err);
	if (vim_about(d->vim, &ab, err) != 0) {
		vfail(d, "service content", err);
		pthread_mutex_unlock(&d->mtx);
		return NULL;
	}
	if (inv_collect(d, &iv, 0, err) != 0) {
		pthread_mutex_unlock(&d->mtx);
		return NULL;
	}
	/*
	 * The about strings vim_about keeps are those of the first connection;
	 * a vCenter upgraded (restarted) since then reports its new version
	 * through the property collector, in the current session.
	 */
	if ((r = vim_collect_one(d->vim, "ServiceInstance", "ServiceInstance", si_paths, NP(si_paths), &iv.si,
	    err)) == 0 && vim_objset_count(iv.si) == 1) {
		const struct vim_val *a = vim_obj_prop(iv.si, 0, "content.about");
		if (txt(vim_val_path(a, "version")) != NULL)
			ab.version = txt(vim_val_path(a, "version"));
		if (txt(vim_val_path(a, "build")) != NULL)
			ab.build = txt(vim_val_path(a, "build"));
		if (txt(vim_val_path(a, "instanceUuid")) != NULL)
			ab.instance_uuid = txt(vim_val_path(a, "instanceUuid"));
	} else if (r != 0) {
		vfail(d, "reading the service content", err);
		inv_free(&iv);
		pthread_mutex_unlock(&d->mtx);
		return NULL;
	}
	hosts = json_array();
	clusters = json_array();
	dss = json_array();
	nets = json_array();
	vms = json_array();
	dnsn = json_array();
	f = json_pack("{s:s, s:{s:s, s:s, s:s, s:s}, s:o, s:o, s:o, s:o, s:o}", "type", "vsphere", "vcenter",
	    "name", d->vc_name, "version", ab.version, "build", ab.build, "instance_uuid", ab.instance_uuid,
	    "hosts", hosts, "clusters", clusters, "datastores", dss, "networks", nets, "vms", vms);
	if (f == NULL) {
		fy_fail(err, FY_ERR_NOMEM, "out of memory");
		goto fail;	/* which drops dnsn */
	}
	if (std_vlans(&iv, &pgv, &npgv) != 0) {
		fy_fail(err, FY_ERR_NOMEM, "out of memory");
		goto fail;
	}
	json_array_append_new(dnsn, json_string(d->vc_name));
	for (i = 0; i < vim_objset_count(iv.hosts); i++) {
		json_t *h = host_json(&iv, i);
		json_array_append_new(hosts, h);
		json_array_append(dnsn, json_object_get(h, "name"));
	}
	for (i = 0; i < vim_objset_count(iv.clusters); i++)
		json_array_append_new(clusters, json_pack("{s:s, s:o}", "name",
		    txt(vim_obj_prop(iv.clusters, i, "name")) ? txt(vim_obj_prop(iv.clusters, i, "name")) :
		    vim_obj_id(iv.clusters, i), "evc_mode",
		    jstr_or_null(txt(vim_obj_prop(iv.clusters, i, "summary.currentEVCModeKey")))));
	for (i = 0; i < vim_objset_count(iv.ds); i++) {
		long long fr, cap;
		json_t *o = json_pack("{s:s}", "name", txt(vim_obj_prop(iv.ds, i, "summary.name")) ?
		    txt(vim_obj_prop(iv.ds, i, "summary.name")) : vim_obj_id(iv.ds, i));
		if (vim_val_int(vim_obj_prop(iv.ds, i, "summary.freeSpace"), &fr) == 0)
			json_object_set_new(o, "free_bytes", json_integer(fr));
		else
			json_object_set_new(o, "error", json_string("vCenter reported no free space"));
		if (vim_val_int(vim_obj_prop(iv.ds, i, "summary.capacity"), &cap) == 0)
			json_object_set_new(o, "capacity_bytes", json_integer(cap));
		json_array_append_new(dss, o);
	}
	for (i = 0; i < vim_objset_count(iv.nets); i++) {
		const char *id = vim_obj_id(iv.nets, i), *nm = txt(vim_obj_prop(iv.nets, i, "name"));
		json_t *o;
		for (k = 0; k < vim_objset_count(iv.dvpgs); k++)
			if (strcmp(vim_obj_id(iv.dvpgs, k), id) == 0)
				break;
		o = json_pack("{s:s, s:s}", "name", nm ? nm : id, "kind",
		    k < vim_objset_count(iv.dvpgs) ? "distributed" : "standard");
		if (k < vim_objset_count(iv.dvpgs)) {
			const char *sw = moref_id(vim_obj_prop(iv.dvpgs, k, "config.distributedVirtualSwitch"));
			const struct names dvs = { iv.dvs, "name" }, dvsu = { iv.dvs, "uuid" };
			if (name_of(&dvs, 1, sw) != NULL)
				json_object_set_new(o, "switch", json_string(name_of(&dvs, 1, sw)));
			if (name_of(&dvsu, 1, sw) != NULL)
				json_object_set_new(o, "switch_uuid", json_string(name_of(&dvsu, 1, sw)));
			dv_vlan_json(vim_obj_prop(iv.dvpgs, k, "config.defaultPortConfig"), o);
		} else if (strcmp(vim_obj_type(iv.nets, i), "Network") == 0)
			std_vlan_json(pgv, npgv, nm, o);	/* not an opaque network */
		json_array_append_new(nets, o);
	}
	if (names == NULL) {
		for (i = 0; i < vim_objset_count(iv.vms); i++)
			json_array_append_new(vms, vm_json(&iv, i));
	} else {
		json_array_foreach(names, k, v) {
			const char *name = json_is_string(v) ? json_string_value(v) :
			    json_string_value(json_object_get(v, "name"));
			json_t *o, *ck;
			if (name == NULL)
				continue;
			for (i = 0; i < vim_objset_count(iv.vms); i++)
				if (txt(vim_obj_prop(iv.vms, i, "name")) != NULL &&
				    strcmp(txt(vim_obj_prop(iv.vms, i, "name")), name) == 0)
					break;
			if (i == vim_objset_count(iv.vms)) {
				fy_fail(err, FY_ERR_NOTFOUND, "VM \"%.100s\" not found in vCenter %s", name, d->vc_name);
				goto fail;
			}
			o = vm_json(&iv, i);
			if (ncheck++ < VS_CHECK_MAX) {
				if ((ck = vm_checks(d, &iv, i, &offered, err)) == NULL) {
					json_decref(o);
					goto fail;
				}
				json_object_set_new(o, "vcenter_checks", ck);
			}
			json_array_append_new(vms, o);
		}
	}
	free(pgv);
	inv_free(&iv);
	pthread_mutex_unlock(&d->mtx);
	/* Names this gateway resolves: its vCenter and its hosts. */
	json_object_set_new(f, "dns", vsphere_dns_lookup(dnsn));
	json_decref(dnsn);
	return f;
fail:
	free(pgv);
	inv_free(&iv);
	pthread_mutex_unlock(&d->mtx);
	json_decref(dnsn);
	json_decref(f);
	return NULL;
}

/* ------------------------------------------------------------ the ops */

static json_t *
vs_facts(struct domain *dom, struct fy_error *err)
{
	json_t *none = json_array(), *f = vs_site_facts(dom, none, err);

	json_decref(none);
	if (f != NULL)
		json_object_del(f, "vms");
	return f;
}

static json_t *
vs_list(struct domain *dom, struct fy_error *err)
{
	struct vsdom *d = dom->priv;
	struct inv iv;
	json_t *out;
	size_t i;

	lock_vim(d, err);
	if (inv_collect(d, &iv, 1, err) != 0) {
		pthread_mutex_unlock(&d->mtx);
		return NULL;
	}
	out = json_array();
	for (i = 0; i < vim_objset_count(iv.vms); i++) {
		const struct vim_objset *s = iv.vms;
		long long mem = 0, cpus = 0;
		const char *ps = txt(vim_obj_prop(s, i, "runtime.powerState"));
		if (vim_val_int(vim_obj_prop(s, i, "config.hardware.memoryMB"), &mem) != 0)
			mem = 0;
		if (vim_val_int(vim_obj_prop(s, i, "config.hardware.numCPU"), &cpus) != 0)
			cpus = 0;
		json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:I, s:I}", "name",
		    txt(vim_obj_prop(s, i, "name")) ? txt(vim_obj_prop(s, i, "name")) : vim_obj_id(s, i),
		    "uuid", txt(vim_obj_prop(s, i, "config.instanceUuid")) ?
		    txt(vim_obj_prop(s, i, "config.instanceUuid")) : "",
		    "state", ps == NULL ? "unknown" : strcmp(ps, "poweredOn") == 0 ? "running" :
		    strcmp(ps, "poweredOff") == 0 ? "shutoff" : ps,
		    "vcpus", (json_int_t)cpus, "memory_mib", (json_int_t)mem));
	}
	inv_free(&iv);
	pthread_mutex_unlock(&d->mtx);
	return out;
}

static int
vs_lookup(struct domain *dom, const char *name, struct vm_spec *sp, struct vm_status *st, struct fy_error *err)
{
	json_t *l = vs_list(dom, err), *v;
	size_t i;

	if (l == NULL)
		return err->code;
	json_array_foreach(l, i, v) {
		if (strcmp(json_string_value(json_object_get(v, "name")), name) != 0)
			continue;
		if (sp != NULL) {
			memset(sp, 0, sizeof(*sp));
			snprintf(sp->name, sizeof(sp->name), "%s", name);
			snprintf(sp->uuid, sizeof(sp->uuid), "%s", json_string_value(json_object_get(v, "uuid")));
			sp->vcpus = (int)json_integer_value(json_object_get(v, "vcpus"));
			sp->memory_mib = (uint64_t)json_integer_value(json_object_get(v, "memory_mib"));
		}
		if (st != NULL) {
			memset(st, 0, sizeof(*st));
			st->state = strcmp(json_string_value(json_object_get(v, "state")), "running") == 0 ?
			    VM_RUNNING : VM_SHUTOFF;
		}
		json_decref(l);
		return 0;
	}
	json_decref(l);
	return fy_fail(err, FY_ERR_NOTFOUND, "VM \"%.100s\" not found in vCenter", name);
}

#define NOT_DEFINE	"the vsphere domain does not define, remove, start or stop VMs; use vCenter"
#define NOT_LIVE	"live migration for the vsphere domain is not implemented yet"

static int
vs_define(struct domain *d, struct vm_spec *sp, struct fy_error *err)
{
	(void)d; (void)sp;
	return fy_fail(err, FY_ERR_STATE, NOT_DEFINE);
}

static int
vs_byname(struct domain *d, const char *name, struct fy_error *err)
{
	(void)d; (void)name;
	return fy_fail(err, FY_ERR_STATE, NOT_DEFINE);
}

static int
vs_stop(struct domain *d, const char *name, int force, struct fy_error *err)
{
	(void)d; (void)name; (void)force;
	return fy_fail(err, FY_ERR_STATE, NOT_DEFINE);
}

static int
vs_incoming_prepare(struct domain *d, const struct vm_spec *sp, const char *job, struct vm_incoming *in,
    struct fy_error *err)
{
	(void)d; (void)sp; (void)job; (void)in;
	return fy_fail(err, FY_ERR_STATE, NOT_LIVE);
}

static int
vs_live(struct domain *d, const char *name, struct fy_error *err)
{
	(void)d; (void)name;
	return fy_fail(err, FY_ERR_STATE, NOT_LIVE);
}

static int
vs_claim(struct domain *d, const char *name, const char *job, struct fy_error *err)
{
	(void)d; (void)name;
	if (job == NULL || job[0] == '\0')
		return 0;	/* releasing what was never held */
	return fy_fail(err, FY_ERR_STATE, NOT_LIVE);
}

static void
vs_fini(struct domain *dom)
{
	struct vsdom *d = dom->priv;

	if (d != NULL) {
		vim_free(d->vim);
		pthread_mutex_destroy(&d->mtx);
		free(d);
	}
	free(dom);
}

static const struct dom_ops vs_ops = {
	.type = "vsphere",
	.fini = vs_fini,
	.define = vs_define,
	.undefine = vs_byname,
	.start = vs_byname,
	.stop = vs_stop,
	.lookup = vs_lookup,
	.list = vs_list,
	.facts = vs_facts,
	.incoming_prepare = vs_incoming_prepare,
	.incoming_finish = vs_live,
	.incoming_abort = vs_live,
	.claim = vs_claim,
	.outgoing_confirm = vs_live,
	.site_facts = vs_site_facts,
};

int
dom_vsphere_new(struct site *s, struct domain **out, struct fy_error *err)
{
	struct domain *dom;
	struct vsdom *d;
	struct vim_opts o;
	const char *h, *e;
	size_t n;

	*out = NULL;
	if ((dom = calloc(1, sizeof(*dom))) == NULL || (d = calloc(1, sizeof(*d))) == NULL) {
		free(dom);
		return fy_fail(err, FY_ERR_NOMEM, "out of memory");
	}
	memset(&o, 0, sizeof(o));
	o.url = s->conf.vc_url;
	o.thumbprint = s->conf.vc_thumbprint;
	o.cred_file = s->conf.vc_credentials;
	o.timeout_s = (int)s->conf.vc_timeout;
	d->timeout_s = o.timeout_s > 0 ? o.timeout_s : VIM_TIMEOUT_DEF;
	if (vim_new(&o, &d->vim, err) != 0) {
		fy_fail_prefix(err, FY_ERR_CONFIG, "vcenter_url %s", s->conf.vc_url);
		free(d);
		free(dom);
		return FY_ERR_CONFIG;
	}
	/* The vCenter's name: the URL's host, without brackets or port. */
	h = s->conf.vc_url + strlen("https://");
	if (*h == '[') {
		h++;
		e = strchr(h, ']');
	} else
		e = h + strcspn(h, ":/");
	n = e != NULL ? (size_t)(e - h) : strlen(h);
	if (n >= sizeof(d->vc_name))
		n = sizeof(d->vc_name) - 1;
	memcpy(d->vc_name, h, n);
	d->vc_name[n] = '\0';
	pthread_mutex_init(&d->mtx, NULL);
	d->site = s;
	dom->ops = &vs_ops;
	dom->site = s;
	dom->priv = d;
	*out = dom;
	log_info("vsphere domain: vCenter %s (%s), credentials from %s", d->vc_name, s->conf.vc_url,
	    s->conf.vc_credentials);
	return 0;
}
