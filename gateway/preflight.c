/*
 * preflight.c - pre-flight as the gateway runs it: this site's facts in
 * the shape netmap reads (ferry-findings(7), FACTS), the federation call
 * that hands them to a paired peer (SiteFacts: the peer gathers them with
 * its own driver and credentials), and the admin operation behind
 * `ferryctl preflight`: the facts of the VMs to move, the peer's facts, a
 * short link test over the transport, then netmap's rules (pure).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include "config.h"
#include "gateway.h"
#include "domain.h"
#include "netmap/netmap.h"
#include "qmp.h"
#include "soapH.h"

#define PF_LINK_SECONDS_MAX	60
#define PF_QMP_MS		3000

/*
 * How fast each running guest dirties its memory (QEMU's calc-dirty-rate,
 * page sampling over one second), taken while the peer's facts and the
 * link test are gathered, so it costs no time of its own.  Through the
 * monitor reserved for the job engine, held only for one command at a
 * time (QEMU keeps the result): a migration starting meanwhile is not
 * kept waiting.  The qemu domain only.
 */
struct dirty {
	unsigned char started[NETMAP_VMS_MAX];
	size_t n;
	int64_t t0;
};

/* One command on VM name's job monitor: open, run, close. */
static int
job_monitor(struct domain *d, const char *name, const char *cmd, json_t *args, json_t **ret,
    struct fy_error *err)
{
	struct vm_status st;
	struct qmp *q = NULL;
	int r;

	if ((r = d->ops->lookup(d, name, NULL, &st, err)) != 0 || (r = qmp_open(st.job_qmp_path, PF_QMP_MS, &q,
	    err)) != 0) {
		json_decref(args);
		return r;
	}
	r = qmp_exec(q, cmd, args, ret, PF_QMP_MS, err);
	qmp_close(q);
	return r;
}

static void
dirty_start(struct site *s, json_t *vms, struct dirty *dr)
{
	struct domain *d = s->dom;
	struct fy_error e = { 0, "" };
	json_t *v;
	size_t i;

	dr->n = json_array_size(vms);
	dr->t0 = fy_mono_ms();
	if (strcmp(d->ops->type, "qemu") != 0)
		return;
	json_array_foreach(vms, i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *ps = json_string_value(json_object_get(v, "power_state"));
		if (i >= NETMAP_VMS_MAX || name == NULL || ps == NULL || strcmp(ps, "running") != 0)
			continue;
		/* One already running (an earlier pre-flight's) gives its result just as well. */
		if (job_monitor(d, name, "calc-dirty-rate", json_pack("{s:i, s:s}", "calc-time", 1, "mode",
		    "page-sampling"), NULL, &e) == 0 || strstr(e.msg, "already being measured") != NULL)
			dr->started[i] = 1;
		else
			log_debug("pre-flight: no dirty rate for %s: %s", name, e.msg);
	}
}

/* Collect the samples into the facts (dirty_bytes_per_s). */
static void
dirty_collect(struct site *s, json_t *vms, struct dirty *dr)
{
	struct domain *d = s->dom;
	struct fy_error e = { 0, "" };
	size_t i;

	for (i = 0; i < dr->n && i < NETMAP_VMS_MAX; i++) {
		json_t *v = json_array_get(vms, i), *ret = NULL;
		const char *name = json_string_value(json_object_get(v, "name"));
		json_int_t rate = -1;
		int64_t until;
		int k;

		if (!dr->started[i] || name == NULL)
			continue;
		/* One second of sampling from t0, then a few tries, bounded. */
		if (fy_mono_ms() < dr->t0 + 1000)
			fy_sleep_ms((int)(dr->t0 + 1000 - fy_mono_ms()));
		until = fy_mono_ms() + 2000;
		for (k = 0; rate < 0 && fy_mono_ms() < until; k++) {
			const char *st;
			if (k > 0)
				fy_sleep_ms(50);
			if (job_monitor(d, name, "query-dirty-rate", NULL, &ret, &e) != 0)
				break;
			st = json_string_value(json_object_get(ret, "status"));
			if (st != NULL && strcmp(st, "measured") == 0)
				rate = json_integer_value(json_object_get(ret, "dirty-rate"));	/* MiB/s */
			json_decref(ret);
			ret = NULL;
		}
		if (rate >= 0) {
			log_debug("pre-flight: %s dirties %lld MiB/s", name, (long long)rate);
			json_object_set_new(v, "dirty_bytes_per_s", json_integer(rate << 20));
		}
	}
}

/* One VM as netmap reads it; NULL with err set (FY_ERR_NOTFOUND names it). */
static json_t *
vm_facts(struct domain *d, const char *name, struct fy_error *err)
{
	struct vm_spec sp;
	struct vm_status st;
	json_t *o, *disks, *nics, *storage;
	const char *power;
	int i, k;

	if (d->ops->lookup(d, name, &sp, &st, err) != 0)
		return NULL;
	/*
	 * The qemu domain moves running guests only (live): any other state
	 * is one pre-flight must refuse, not a cold move it would bless.
	 */
	if (st.job[0] != '\0')
		power = st.state == VM_INCOMING ? "incoming" : "migrating";
	else if (st.state == VM_RUNNING)
		power = "running";
	else if (st.state == VM_SHUTOFF)
		power = "shutoff (live only)";	/* netmap reads at most 32 bytes */
	else
		power = vm_state_name(st.state);
	disks = json_array();
	nics = json_array();
	storage = json_array();
	for (i = 0; i < sp.ndisks; i++) {
		uint64_t sum = 0;
		json_array_append_new(disks, json_pack("{s:s, s:s, s:I}", "label", sp.disks[i].id, "datastore",
		    sp.disks[i].datastore, "capacity_bytes", (json_int_t)sp.disks[i].size));
		/* A mirror writes every disk to its full size: that is what the destination needs. */
		for (k = 0; k < i; k++)
			if (strcmp(sp.disks[k].datastore, sp.disks[i].datastore) == 0)
				break;
		if (k < i)
			continue;
		for (k = i; k < sp.ndisks; k++)
			if (strcmp(sp.disks[k].datastore, sp.disks[i].datastore) == 0)
				sum += sp.disks[k].size;
		json_array_append_new(storage, json_pack("{s:s, s:I, s:I}", "datastore", sp.disks[i].datastore,
		    "committed_bytes", (json_int_t)sum, "uncommitted_bytes", (json_int_t)0));
	}
	for (i = 0; i < sp.nnics; i++)
		json_array_append_new(nics, json_pack("{s:s, s:s}", "network", sp.nics[i].network, "mac",
		    sp.nics[i].mac));
	o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:o, s:o, s:o}", "name", sp.name, "instance_uuid", sp.uuid,
	    "power_state", power, "memory_mib", (json_int_t)sp.memory_mib, "accel", sp.accel, "disks", disks,
	    "nics", nics, "storage", storage);
	if (o == NULL)
		fy_fail(err, FY_ERR_NOMEM, "out of memory");
	else if (sp.boot[0] != '\0')
		json_object_set_new(o, "boot", sp.boot_sha256[0] != '\0' ? json_pack("{s:s, s:s}", "path", sp.boot,
		    "sha256", sp.boot_sha256) : json_pack("{s:s}", "path", sp.boot));
	return o;
}

/*
 * SiteFacts' scope from a paired peer: {"resolve": [names]} (at most 16, each
 * a host name), the peer's management servers for this gateway to resolve
 * too.  Anything else is no request.  Lookups are appended to f's "dns".
 */
void
preflight_resolve_scope(struct site *s, json_t *f, const char *scope)
{
	json_t *sc, *names, *v, *w, *dns, *got;
	json_error_t je;
	size_t i, k;

	if (scope == NULL || strlen(scope) > (1 << 20) || s->dom == NULL ||
	    (sc = json_loads(scope, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return;
	if (strcmp(s->dom->ops->type, "qemu") == 0) {
		/* {"boot": [{"path", "sha256"}]}: has this site the same images? */
		json_t *imgs = json_array();
		json_array_foreach(json_object_get(sc, "boot"), i, v) {
			const char *path = json_string_value(json_object_get(v, "path"));
			const char *sum = json_string_value(json_object_get(v, "sha256"));
			char why[64];
			int same;
			if (i >= 64 || imgs == NULL)	/* each is read whole: a bounded few */
				break;
			if (path == NULL || sum == NULL || strlen(sum) != 64)
				continue;
			for (k = 0; k < json_array_size(imgs); k++)
				if (strcmp(json_string_value(json_object_get(json_array_get(imgs, k), "path")), path) == 0)
					break;
			if (k < json_array_size(imgs))
				continue;
			same = dom_qemu_image_same(path, sum, why, sizeof(why));
			json_array_append_new(imgs, same < 0 ? json_pack("{s:s, s:s}", "path", path, "error", why) :
			    json_pack("{s:s, s:b}", "path", path, "same", same));
		}
		if (imgs != NULL)
			json_object_set_new(f, "boot_images", imgs);
		json_decref(sc);
		return;
	}
	if (strcmp(s->dom->ops->type, "vsphere") != 0) {
		json_decref(sc);
		return;
	}
	names = json_array();
	json_array_foreach(json_object_get(sc, "resolve"), i, v) {
		const char *n = json_string_value(v);
		if (i >= 16 || n == NULL || strlen(n) == 0 || strlen(n) > 253 || strspn(n,
		    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != strlen(n))
			continue;
		dns = json_object_get(f, "dns");
		json_array_foreach(dns, k, w) {
			const char *had = json_string_value(json_object_get(w, "name"));
			if (had != NULL && strcasecmp(n, had) == 0)
				break;
		}
		if (k == json_array_size(dns))
			json_array_append_new(names, json_string(n));
	}
	json_decref(sc);
	if (json_array_size(names) > 0 && (got = vsphere_dns_lookup(names)) != NULL) {
		if (!json_is_array(dns = json_object_get(f, "dns"))) {
			dns = json_array();
			json_object_set_new(f, "dns", dns);
		}
		json_array_foreach(got, i, v)
			if (json_array_size(dns) < NETMAP_DNS_MAX)
				json_array_append(dns, v);
		json_decref(got);
	}
	json_decref(names);
}

json_t *
preflight_facts(struct site *s, json_t *names, struct fy_error *err)
{
	struct domain *d = s->dom;
	json_t *f, *vms, *list = NULL, *v;
	size_t i;

	if (d == NULL) {
		fy_fail(err, FY_ERR_CONFIG, "no management domain at site %s", s->conf.site_name);
		return NULL;
	}
	if (d->ops->site_facts != NULL) {
		if ((f = d->ops->site_facts(d, names, err)) != NULL)
			json_object_set_new(f, "site", json_string(s->conf.site_name));
		return f;
	}
	if ((f = d->ops->facts(d, err)) == NULL)
		return NULL;
	json_object_set_new(f, "site", json_string(s->conf.site_name));
	vms = json_array();
	json_object_set_new(f, "vms", vms);
	if (names == NULL && (list = names = d->ops->list(d, err)) == NULL)
		goto fail;
	json_array_foreach(names, i, v) {
		const char *name = json_is_string(v) ? json_string_value(v) :
		    json_string_value(json_object_get(v, "name"));
		json_t *o;
		if (name == NULL)
			continue;
		if ((o = vm_facts(d, name, err)) == NULL) {
			/* Gone since the list was read: not an error for an inventory. */
			if (list != NULL && err->code == FY_ERR_NOTFOUND)
				continue;
			goto fail;
		}
		json_array_append_new(vms, o);
	}
	json_decref(list);
	return f;
fail:
	json_decref(list);
	json_decref(f);
	return NULL;
}

/*
 * The peer's facts over the federation API (its inventory, gathered by its
 * own driver).  The connection is kept for a migration that follows (from:
 * what asked, for its events).
 */
static json_t *
peer_facts(struct site *s, const char *peer, const char *scope, const char *from, char **text, struct fy_error *err)
{
	struct fed_client *c = NULL;
	struct trust_peer p;
	struct fy_db *db = NULL;
	struct fy__SiteFactsResponse fr;
	int r;

	*text = NULL;
	memset(&p, 0, sizeof(p));
	if ((r = site_open_db(s, &db)) != 0) {
		fy_fail(err, r, "database unavailable");
		return NULL;
	}
	r = fed_connect_peer(s, db, peer, &p, &c, err);
	trust_peer_clear(&p);
	fy_db_close(db);
	if (r != 0)
		return NULL;
	fed_client_set_timeout(c, 60);
	memset(&fr, 0, sizeof(fr));
	if (soap_call_fy__SiteFacts(fed_client_soap(c), "http://peer/fed", NULL, (char *)scope, &fr) != SOAP_OK) {
		(void)fed_client_error(c, "the facts request", err);
		fed_client_free(c);
		return NULL;
	}
	if (fr.facts == NULL || (*text = strdup(fr.facts)) == NULL) {
		fy_fail(err, FY_ERR_PROTO, "%s sent no facts", peer);
		fed_client_free(c);
		return NULL;
	}
	/* A migration that follows the pre-flight asks its Prepare over this one (two round trips fewer). */
	soap_end(fed_client_soap(c));
	jobs_client_keep(s, peer, c, from);
	return json_true();
}

/*
 * The destination's vCenter and hosts, resolved from this gateway too,
 * added to this site's "dns" (names it already looked up are kept as
 * they are), so that the rules judge the lookups from both ends.
 */
static void
dns_of_peer(json_t *src_j, const struct netmap_facts *dst)
{
	json_t *names = json_array(), *dns = json_object_get(src_j, "dns"), *got, *v, *w;
	size_t i, k;

	if (names == NULL)
		return;
	if (dst->vc_name != NULL)
		json_array_append_new(names, json_string(dst->vc_name));
	for (i = 0; i < dst->nhosts; i++)
		json_array_append_new(names, json_string(dst->hosts[i].name));
	json_array_foreach(dns, i, v)	/* looked up already */
		for (k = 0; k < json_array_size(names); k++)
			if (strcasecmp(json_string_value(json_array_get(names, k)),
			    json_string_value(json_object_get(v, "name"))) == 0)
				json_array_remove(names, k--);
	got = vsphere_dns_lookup(names);
	if (!json_is_array(dns)) {
		dns = json_array();
		json_object_set_new(src_j, "dns", dns);
	}
	json_array_foreach(got, i, w)
		if (json_array_size(dns) < NETMAP_DNS_MAX)
			json_array_append(dns, w);
	json_decref(got);
	json_decref(names);
}

static int
add_maps(json_t *list, struct netmap_map *m, const char *flag, struct fy_error *err)
{
	char e[300];
	json_t *v;
	size_t i;

	if (list != NULL && !json_is_array(list))
		return fy_fail(err, FY_ERR_INVAL, "%s: not a list", flag);
	json_array_foreach(list, i, v) {
		if (!json_is_string(v))
			return fy_fail(err, FY_ERR_INVAL, "%s: not a string", flag);
		if (netmap_map_add(m, json_string_value(v), e, sizeof(e)) != 0)
			return fy_fail(err, FY_ERR_INVAL, "%s %s", flag, e);
	}
	return 0;
}

/*
 * A target name from the request (absent or null: none): a string of
 * 1..NETMAP_NAME_MAX bytes without control characters; *out points into args.
 */
static int
target_arg(json_t *args, const char *key, const char *flag, const char **out, struct fy_error *err)
{
	json_t *v = json_object_get(args, key);
	const char *s;
	size_t i, n;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fy_fail(err, FY_ERR_INVAL, "%s: not a string", flag);
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n > NETMAP_NAME_MAX)
		return fy_fail(err, FY_ERR_INVAL, "%s: a name of 1 to %d bytes (%zu given)", flag, NETMAP_NAME_MAX, n);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return fy_fail(err, FY_ERR_INVAL, "%s: a control character in the name", flag);
	*out = s;
	return 0;
}

/*
 * The report as ferryctl shows it: the target the destination was asked
 * for, in the JSON's "destination" (host and cluster, null when not named)
 * and as the text's second line.  Returns the new text (malloc'd) or NULL.
 */
static char *
with_target(json_t *rep, const char *text, const struct netmap_options *opt)
{
	json_t *dst = json_object_get(rep, "destination");
	const char *nl = strchr(text, '\n');
	size_t head, ll;
	char line[2 * NETMAP_NAME_MAX + 64], *out;

	if (json_is_object(dst)) {
		json_object_set_new(dst, "host", opt->target_host ? json_string(opt->target_host) : json_null());
		json_object_set_new(dst, "cluster", opt->target_cluster ? json_string(opt->target_cluster) :
		    json_null());
	}
	if (opt->target_host != NULL && opt->target_cluster != NULL)
		snprintf(line, sizeof(line), "Target: host %s in cluster %s\n", opt->target_host,
		    opt->target_cluster);
	else if (opt->target_host != NULL)
		snprintf(line, sizeof(line), "Target: host %s\n", opt->target_host);
	else if (opt->target_cluster != NULL)
		snprintf(line, sizeof(line), "Target: cluster %s\n", opt->target_cluster);
	else
		line[0] = '\0';
	head = nl != NULL ? (size_t)(nl - text) + 1 : strlen(text);
	ll = strlen(line);
	if ((out = malloc(strlen(text) + ll + 1)) == NULL)
		return NULL;
	memcpy(out, text, head);
	memcpy(out + head, line, ll);
	memcpy(out + head + ll, text + head, strlen(text + head) + 1);
	return out;
}

/*
 * args: {"vms": [names], "to": site, "host": name, "cluster": name (the
 * target at the destination; absent: any), "network_map": ["A=B", ...],
 * "datastore_map": [...], "mac": "keep"|"generate", "link_seconds": n
 * (0: no link test), "margin_pct": n}.  Returns {"report": ..., "text":
 * "...", "link": {...} or "link_error": "..."}.
 */
static json_t *
op_preflight(struct site *s, const struct admin_caller *who, json_t *args, struct fy_error *err)
{
	json_t *names = json_object_get(args, "vms"), *src_j = NULL, *out = NULL, *lj = NULL, *v;
	const char *to = json_string_value(json_object_get(args, "to"));
	const char *mac = json_string_value(json_object_get(args, "mac"));
	json_t *secs_j = json_object_get(args, "link_seconds"), *margin_j = json_object_get(args, "margin_pct");
	struct netmap_map *nm = netmap_map_new(NETMAP_MAP_NETWORK), *dm = netmap_map_new(NETMAP_MAP_DATASTORE);
	struct netmap_facts *src = NULL, *dst = NULL;
	struct netmap_report *rep = NULL;
	struct netmap_options opt;
	struct netmap_link link;
	struct netmap_input in;
	struct fy_error le = { 0, "" };
	struct dirty *dr = calloc(1, sizeof(*dr));
	char e[400], *dst_text = NULL, *text = NULL, *t0 = NULL;
	json_t *rj = NULL;
	json_int_t secs = 2;
	size_t i;
	int r_pf;

	netmap_options_init(&opt);
	netmap_link_init(&link);
	if (nm == NULL || dm == NULL || dr == NULL) {
		fy_fail(err, FY_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (to == NULL || to[0] == '\0') {
		fy_fail(err, FY_ERR_INVAL, "--to: missing destination site");
		goto out;
	}
	if (!json_is_array(names) || json_array_size(names) == 0) {
		fy_fail(err, FY_ERR_INVAL, "no VM named: give one or more");
		goto out;
	}
	if (json_array_size(names) > NETMAP_VMS_MAX) {
		fy_fail(err, FY_ERR_LIMIT, "%zu VMs: at most %d in one pre-flight", json_array_size(names),
		    NETMAP_VMS_MAX);
		goto out;
	}
	json_array_foreach(names, i, v)
		if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > NETMAP_NAME_MAX) {
			fy_fail(err, FY_ERR_INVAL, "VM %zu: not a name", i + 1);
			goto out;
		}
	if (secs_j != NULL) {
		if (!json_is_integer(secs_j) || (secs = json_integer_value(secs_j)) < 0 || secs > PF_LINK_SECONDS_MAX) {
			fy_fail(err, FY_ERR_INVAL, "--link-seconds: 0 to %d", PF_LINK_SECONDS_MAX);
			goto out;
		}
	}
	if (margin_j != NULL) {
		if (!json_is_integer(margin_j) || json_integer_value(margin_j) < 0 || json_integer_value(margin_j) > 90) {
			fy_fail(err, FY_ERR_INVAL, "--margin: 0 to 90 (percent of the datastore's capacity)");
			goto out;
		}
		opt.margin_pct = (int)json_integer_value(margin_j);
	}
	if (target_arg(args, "host", "--host", &opt.target_host, err) != 0 ||
	    target_arg(args, "cluster", "--cluster", &opt.target_cluster, err) != 0)
		goto out;
	if (mac != NULL && netmap_mac_policy_parse(mac, &opt.mac, e, sizeof(e)) != 0) {
		fy_fail(err, FY_ERR_INVAL, "--mac: %s", e);
		goto out;
	}
	if (add_maps(json_object_get(args, "network_map"), nm, "--network-map", err) != 0 ||
	    add_maps(json_object_get(args, "datastore_map"), dm, "--datastore-map", err) != 0)
		goto out;

	/* This site: the VMs to move, and (sampled meanwhile) how fast they dirty memory. */
	if ((src_j = preflight_facts(s, names, err)) == NULL)
		goto out;
	dirty_start(s, json_object_get(src_j, "vms"), dr);
	/* The destination, by its own gateway. */
	/*
	 * The destination resolves this site's vCenter too (its own and its
	 * hosts it resolves anyway): the names go in the request's scope.
	 */
	{
		const char *vc = json_string_value(json_object_get(json_object_get(src_j, "vcenter"), "name"));
		json_t *sc = json_pack("{s:[], s:[]}", "resolve", "boot"), *vm;
		char *scope;
		size_t k;
		if (vc != NULL && sc != NULL)
			json_array_append_new(json_object_get(sc, "resolve"), json_string(vc));
		/* And about the boot images, by their hash (it sends none back). */
		json_array_foreach(json_object_get(src_j, "vms"), k, vm) {
			json_t *b = json_object_get(vm, "boot");
			if (sc != NULL && json_object_get(b, "sha256") != NULL)
				json_array_append(json_object_get(sc, "boot"), b);
		}
		scope = sc != NULL ? json_dumps(sc, JSON_COMPACT) : NULL;
		json_decref(sc);
		r_pf = peer_facts(s, to, scope != NULL ? scope : "{}", "a pre-flight", &dst_text, err) == NULL;
		free(scope);
		if (r_pf)
			goto out;
	}
	if (netmap_facts_parse(dst_text, strlen(dst_text), &dst, e, sizeof(e)) != 0) {
		fy_fail(err, FY_ERR_PROTO, "facts from %s refused: %s", to, e);
		goto out;
	}
	if (strcmp(s->dom->ops->type, "vsphere") == 0)
		dns_of_peer(src_j, dst);
	/* The link, over the transport the migration would use. */
	if (secs > 0) {
		json_t *la = json_pack("{s:s, s:I}", "site", to, "seconds", secs);
		lj = op_link_test(s, who, la, &le);
		json_decref(la);
		if (lj != NULL && netmap_link_from_json(lj, &link, e, sizeof(e)) != 0) {
			fy_fail(&le, FY_ERR_FORMAT, "link test result: %s", e);
			json_decref(lj);
			lj = NULL;
		}
		if (lj == NULL) {
			link.goodput_bps = 0;	/* it carried nothing: a finding, not a failure */
			link.rtt_ms = -1;
		}
	}
	dirty_collect(s, json_object_get(src_j, "vms"), dr);
	if (netmap_facts_from_json(src_j, &src, e, sizeof(e)) != 0) {
		fy_fail(err, FY_ERR_FORMAT, "this site's facts: %s", e);
		goto out;
	}
	memset(&in, 0, sizeof(in));
	in.src = src;
	in.dst = dst;
	in.link = secs > 0 ? &link : NULL;
	in.networks = nm;
	in.datastores = dm;
	in.opt = &opt;
	if (netmap_check(&in, &rep, e, sizeof(e)) != 0) {
		fy_fail(err, FY_ERR_FORMAT, "pre-flight: %s", e);
		goto out;
	}
	if ((rj = netmap_report_json(rep)) == NULL || (t0 = netmap_report_text(rep)) == NULL ||
	    (text = with_target(rj, t0, &opt)) == NULL) {
		json_decref(rj);
		fy_fail(err, FY_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* json_pack's "o" takes rj, even when it fails. */
	if ((out = json_pack("{s:o, s:s}", "report", rj, "text", text)) == NULL) {
		fy_fail(err, FY_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (lj != NULL)
		json_object_set(out, "link", lj);
	else if (secs > 0)
		json_object_set_new(out, "link_error", json_string(le.msg));
	(void)trust_audit_noerr(s, who->actor, to, "preflight", netmap_verdict_name(netmap_report_verdict(rep, -1)),
	    "%zu VM%s to %s", json_array_size(names), json_array_size(names) == 1 ? "" : "s", to);
out:
	free(dr);
	free(t0);
	free(text);
	free(dst_text);
	netmap_report_free(rep);
	netmap_facts_free(src);
	netmap_facts_free(dst);
	netmap_map_free(nm);
	netmap_map_free(dm);
	json_decref(src_j);
	json_decref(lj);
	return out;
}

/*
 * args: {"site": peer or absent for this site}.  The facts document as
 * the site's own driver reports it (a peer's: gathered by its gateway).
 */
static json_t *
op_inventory(struct site *s, const struct admin_caller *who, json_t *args, struct fy_error *err)
{
	const char *peer = json_string_value(json_object_get(args, "site"));
	struct netmap_facts *f = NULL;
	json_error_t je;
	json_t *j;
	char *text = NULL, e[400];

	(void)who;
	if (peer == NULL || strcmp(peer, s->conf.site_name) == 0)
		return preflight_facts(s, NULL, err);
	if (peer_facts(s, peer, "{}", "an inventory request", &text, err) == NULL)
		return NULL;
	/* What a peer sends is checked as pre-flight would check it before it is shown. */
	if (netmap_facts_parse(text, strlen(text), &f, e, sizeof(e)) != 0) {
		fy_fail(err, FY_ERR_PROTO, "facts from %s refused: %s", peer, e);
		free(text);
		return NULL;
	}
	netmap_facts_free(f);
	if ((j = json_loads(text, JSON_REJECT_DUPLICATES, &je)) == NULL)
		fy_fail(err, FY_ERR_PROTO, "facts from %s: %s", peer, je.text);
	free(text);
	return j;
}

const struct op_ent fy_preflight_ops[] = {
	{ "preflight", op_preflight },
	{ "inventory", op_inventory },
	{ NULL, NULL },
};
