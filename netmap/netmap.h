/*
 * netmap.h - network and datastore maps and the pre-flight rules.
 *
 * Pure: facts in, findings out.  Nothing here does I/O, takes a lock or
 * reads the clock, so the same code serves ferryctl preflight, runbook dry
 * runs, the unit tests and the fuzzers.
 *
 *   maps       "VM Network=Prod-A" entries (netmap_map_*), MAC policy
 *   facts      what a domain driver reports about a site, read from JSON by
 *              a validating, bounded reader (netmap_facts_*)
 *   link       what `ferryctl link test` measured (netmap_link_*)
 *   check      facts + maps + options -> a report of findings (netmap_check)
 *   report     findings, verdicts, exit code, JSON and text (netmap_report_*)
 *
 * Every finding has a stable code listed in ferry-findings(7); the same
 * list is netmap_catalogue().  Errors from this module are FY_ERR_* codes
 * with a message written to err (errcap bytes, always NUL-terminated when
 * errcap > 0) that starts with what was wrong: the map entry, or the JSON
 * path ("vms[3].nics[1].network: not a string").
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef FY_NETMAP_H
#define FY_NETMAP_H

#include <stddef.h>
#include <stdint.h>
#include "common.h"

struct json_t;			/* jansson's; this header does not include it */

/* ---- limits (each is documented in ferry-findings(7)) ---- */
#define NETMAP_NAME_MAX		255	/* bytes of any name: VM, network, datastore, host, ... */
#define NETMAP_MAP_MAX		256	/* entries in one map */
#define NETMAP_FACTS_TEXT_MAX	(16 << 20)	/* bytes of one facts document */
#define NETMAP_DEPTH_MAX	10	/* nested arrays and objects, unknown members included */
#define NETMAP_MEMBERS_MAX	64	/* members of any one object */
#define NETMAP_ARRAY_MAX	4096	/* elements of any one array */
#define NETMAP_VMS_MAX		4096
#define NETMAP_HOSTS_MAX	1024
#define NETMAP_CLUSTERS_MAX	256
#define NETMAP_DATASTORES_MAX	1024
#define NETMAP_NETWORKS_MAX	4096
#define NETMAP_DNS_MAX		2048	/* names one gateway looked up */
#define NETMAP_ADDRS_MAX	16	/* addresses or names of one lookup */
#define NETMAP_NICS_MAX		16
#define NETMAP_DISKS_MAX	64
#define NETMAP_HWVERS_MAX	64
#define NETMAP_MSGS_MAX		64	/* messages of one vCenter checker list */
#define NETMAP_MSG_MAX		1024	/* bytes of one checker message */
#define NETMAP_FINDINGS_MAX	(1 << 18)

/* ---- maps: "SOURCE=DESTINATION" ---- */
enum netmap_map_kind { NETMAP_MAP_NETWORK, NETMAP_MAP_DATASTORE };
struct netmap_map;

/* An empty map; NULL on ENOMEM. */
struct netmap_map *netmap_map_new(enum netmap_map_kind);
void netmap_map_free(struct netmap_map *);	/* NULL ok */
/*
 * Add one entry "SOURCE=DESTINATION" (as given to --network-map or
 * --datastore-map).  Exactly one '='; spaces around each side are trimmed;
 * names may contain spaces and any printable character but '='; each side
 * 1..NETMAP_NAME_MAX bytes, at most NETMAP_MAP_MAX entries.  Repeating an
 * entry is harmless; mapping a source already mapped elsewhere is an error
 * naming both targets.  FY_ERR_INVAL or FY_ERR_LIMIT, map unchanged.
 */
int netmap_map_add(struct netmap_map *, const char *entry, char *err, size_t errcap) FY_WUR;
/* The destination name for source, or NULL when source is not mapped. */
const char *netmap_map_lookup(const struct netmap_map *, const char *source);
size_t netmap_map_count(const struct netmap_map *);	/* NULL: 0 */
/* Entry i in the order added; FY_ERR_INVAL when i is out of range. */
int netmap_map_entry(const struct netmap_map *, size_t i, const char **source, const char **dest) FY_WUR;
enum netmap_map_kind netmap_map_kind(const struct netmap_map *);

/* ---- MAC policy at the destination ---- */
enum netmap_mac_policy { NETMAP_MAC_KEEP = 0, NETMAP_MAC_GENERATE };
/* "keep" or "generate"; FY_ERR_INVAL otherwise. */
int netmap_mac_policy_parse(const char *, enum netmap_mac_policy *, char *err, size_t errcap) FY_WUR;
const char *netmap_mac_policy_name(enum netmap_mac_policy);

/*
 * ---- facts ----
 *
 * One document per site, as its domain driver reports it (the JSON shape
 * is in ferry-findings(7), FACTS).  A member that does not apply to a
 * domain is left out, and the rules then say "not applicable" (an info
 * finding, code FY-xxx-000) instead of passing silently.  For a few members
 * an explicit null is a value: "encryption": null is "not encrypted",
 * "min_evc": null "no requirement", a cluster's "evc_mode": null "EVC off",
 * a host's "max_evc": null "none".  Elsewhere null is the same as absent.
 * Unknown members are ignored (a newer peer may send more), within the
 * generic bounds above.
 *
 * The structs are read-only views owned by struct netmap_facts: every
 * pointer lives until netmap_facts_free().  Absent strings are NULL,
 * absent numbers NETMAP_UNSET.
 */
#define NETMAP_UNSET	(-1)

enum netmap_tri { NETMAP_TRI_ABSENT = -1, NETMAP_TRI_NO = 0, NETMAP_TRI_YES = 1 };
enum netmap_kind { NETMAP_KIND_ABSENT = 0, NETMAP_KIND_STANDARD, NETMAP_KIND_DISTRIBUTED,
	NETMAP_KIND_OPAQUE };
enum netmap_conn { NETMAP_CONN_ABSENT = 0, NETMAP_CONN_CONNECTED, NETMAP_CONN_DISCONNECTED,
	NETMAP_CONN_NOT_RESPONDING };
enum netmap_power { NETMAP_POWER_ABSENT = 0, NETMAP_POWER_ON, NETMAP_POWER_OFF,
	NETMAP_POWER_SUSPENDED, NETMAP_POWER_PAUSED, NETMAP_POWER_OTHER };

struct netmap_key {			/* an encryption key */
	const char *key_id;		/* may be NULL */
	const char *provider;		/* key provider (KMS cluster) name; may be NULL */
};

struct netmap_host {
	const char *name;		/* required: the name vCenter knows it by (DNS name) */
	const char *version;		/* ESXi "7.0.3" */
	const char *build;
	const char *cluster;		/* NULL: standalone, or not reported */
	enum netmap_conn connection;
	enum netmap_tri maintenance;
	int has_max_evc;		/* max_evc reported (NULL = none) */
	const char *max_evc;		/* "intel-skylake" */
	const int *hw_versions;		/* VM hardware versions it runs; NULL: from the matrix */
	size_t nhw_versions;
};

struct netmap_cluster {
	const char *name;
	int has_evc;			/* evc_mode reported (NULL = EVC off) */
	const char *evc_mode;
};

struct netmap_datastore {
	const char *name;
	int64_t free_bytes;		/* NETMAP_UNSET: not reported */
	int64_t capacity_bytes;
	const char *error;		/* the driver could not measure it */
};

struct netmap_network {
	const char *name;
	enum netmap_kind kind;
	const char *switch_name;	/* distributed: the switch */
	const char *switch_uuid;
	int vlan;			/* 0..4095, NETMAP_UNSET */
};

struct netmap_dns {			/* one name looked up by this site's gateway */
	const char *name;
	const char *const *forward;	/* addresses; empty: forward lookup failed */
	size_t nforward;
	const char *const *reverse;	/* names of those addresses; empty: reverse failed */
	size_t nreverse;
	const char *error;		/* resolver's message, may be NULL */
};

struct netmap_usage {			/* storage.perDatastoreUsage */
	const char *datastore;
	int64_t committed_bytes;
	int64_t uncommitted_bytes;
};

struct netmap_disk {
	const char *label;		/* "Hard disk 1", may be NULL */
	const char *datastore;
	int64_t capacity_bytes;		/* NETMAP_UNSET */
	const struct netmap_key *encryption;	/* NULL: not encrypted (or not reported) */
};

struct netmap_nic {
	const char *label;		/* "Network adapter 1", may be NULL */
	const char *network;		/* required: port group / network name */
	enum netmap_kind kind;
	const char *switch_uuid;
	const char *mac;		/* "00:50:56:aa:bb:cc" */
};

struct netmap_image {			/* a boot image the destination was asked about (qemu) */
	const char *path;		/* required: absolute */
	enum netmap_tri same;		/* its content has the SHA-256 the source sent (no hash is sent back) */
	const char *error;		/* "missing", "not a regular file", ...: the destination lacks it */
};

struct netmap_checks {			/* the vCenter's CheckRelocate / QueryVMotionCompatibilityEx */
	int offered;			/* 0: the vCenter does not offer them */
	const char *const *errors;
	size_t nerrors;
	const char *const *warnings;
	size_t nwarnings;
};

struct netmap_vm {
	const char *name;		/* required */
	const char *instance_uuid;
	const char *bios_uuid;
	enum netmap_power power;
	const char *power_state;	/* as reported */
	int hw_version;			/* 13 for vmx-13; NETMAP_UNSET */
	int64_t memory_mib;		/* NETMAP_UNSET */
	const char *host;		/* the host it runs on */
	int has_min_evc;
	const char *min_evc;		/* NULL: no requirement */
	const char *accel;		/* qemu: "kvm" / "tcg" */
	int has_encryption;
	const struct netmap_key *encryption;	/* NULL: not encrypted */
	int64_t dirty_bytes_per_s;	/* NETMAP_UNSET */
	int has_storage;
	const struct netmap_usage *storage;
	size_t nstorage;
	const struct netmap_disk *disks;
	size_t ndisks;
	const struct netmap_nic *nics;
	size_t nnics;
	int has_checks;
	struct netmap_checks checks;
	const char *boot_path;		/* qemu: the read-only boot image, NULL: none */
	const char *boot_sha256;	/* its SHA-256 at the source (hex) */
};

struct netmap_facts {
	const char *type;		/* required: "vsphere", "qemu", ... */
	const char *site;		/* the site's name, may be NULL */
	int has_vcenter;
	const char *vc_name;		/* the vCenter's DNS name */
	const char *vc_version;		/* "7.0.3" */
	const char *vc_build;
	const char *vc_instance_uuid;
	const char *qemu_version;	/* "7.2.0" */
	int has_accelerators;
	const char *const *accelerators;
	size_t naccelerators;
	int has_hosts;
	const struct netmap_host *hosts;
	size_t nhosts;
	int has_clusters;
	const struct netmap_cluster *clusters;
	size_t nclusters;
	int has_datastores;
	const struct netmap_datastore *datastores;
	size_t ndatastores;
	int has_networks;
	const struct netmap_network *networks;
	size_t nnetworks;
	int has_dns;
	const struct netmap_dns *dns;
	size_t ndns;
	/*
	 * Source: the VMs to check (the request, in the order they move).
	 * Destination: its inventory (for the name, UUID and MAC conflicts).
	 */
	int has_vms;
	const struct netmap_vm *vms;
	size_t nvms;
	/* Destination (qemu): the boot images the source asked about. */
	int has_boot_images;
	const struct netmap_image *boot_images;
	size_t nboot_images;
	void *priv;			/* the memory behind all of the above */
};

/*
 * Read a facts document: text of at most NETMAP_FACTS_TEXT_MAX bytes (need
 * not be NUL-terminated), parsed with duplicate keys refused, then checked
 * against every bound above.  On success *out owns a new struct; on error
 * *out is NULL, err says "PATH: what" and the return is FY_ERR_FORMAT
 * (not JSON), FY_ERR_INVAL (a member is wrong), FY_ERR_LIMIT (too long,
 * too many, too deep) or FY_ERR_NOMEM.
 */
int netmap_facts_parse(const char *text, size_t len, struct netmap_facts **out,
    char *err, size_t errcap) FY_WUR;
/* The same from an already parsed document (not modified, not kept). */
int netmap_facts_from_json(const struct json_t *, struct netmap_facts **out,
    char *err, size_t errcap) FY_WUR;
void netmap_facts_free(struct netmap_facts *);	/* NULL ok */

/* ---- the link between the gateways ---- */
struct netmap_link {
	double rtt_ms;			/* < 0: not measured */
	double goodput_bps;		/* bits per second; < 0: not measured */
	double loss_pct;		/* < 0: not measured */
	int64_t retransmits;		/* < 0: not measured */
};
void netmap_link_init(struct netmap_link *);	/* everything "not measured" */
/* Segments resent x 1448 bytes (MSS) over the bytes delivered, in %, at most 100; -1 without bytes. */
double netmap_loss_pct(double retransmits, double bytes);
/*
 * From `ferryctl link test --json` (goodput_mbit, rtt_ms, retransmits,
 * bytes) or explicit goodput_bps / loss_pct.  Without loss_pct, the loss
 * is estimated as retransmits x 1448 bytes / bytes, unless loss_error says
 * the test's loss probe failed (then it is not measured).  Errors as for facts.
 */
int netmap_link_from_json(const struct json_t *, struct netmap_link *, char *err, size_t errcap) FY_WUR;

/* ---- options ---- */
struct netmap_options {
	enum netmap_mac_policy mac;	/* default keep */
	int64_t margin_bytes;		/* kept free on each destination datastore; default 0 */
	int margin_pct;			/* ... plus this % of its capacity; default 5 */
	double rtt_max_ms;		/* default 150 (vMotion's supported limit) */
	double loss_max_pct;		/* default 1 */
	const char *target_host;	/* NULL: any destination host */
	const char *target_cluster;	/* NULL: any destination cluster */
};
void netmap_options_init(struct netmap_options *);

/* ---- findings and the report ---- */
enum netmap_severity { NETMAP_INFO = 0, NETMAP_WARNING, NETMAP_ERROR };
enum netmap_verdict { NETMAP_CLEAR = 0, NETMAP_WARNINGS, NETMAP_BLOCKED };
const char *netmap_severity_name(enum netmap_severity);	/* "info" "warning" "error" */
const char *netmap_verdict_name(enum netmap_verdict);	/* "clear" "warnings" "blocked" */

struct netmap_finding {
	const char *code;		/* "FY-NET-001": stable, see ferry-findings(7) */
	enum netmap_severity severity;	/* fixed per code */
	int vm_index;			/* index into the source facts' vms, -1: site-level */
	const char *vm;			/* that VM's name, NULL for site-level */
	const char *subject;		/* what was compared: "nics[0] (Network adapter 1)" ... */
	const char *src_value;		/* the values compared, "" when a side has none */
	const char *dst_value;
	const char *message;		/* one sentence */
	const char *fix;		/* one sentence */
};

/* The catalogue: every code, its severity and a one-line summary. */
struct netmap_code {
	const char *code;
	enum netmap_severity severity;
	const char *summary;
};
const struct netmap_code *netmap_catalogue(size_t *n);

struct netmap_input {
	const struct netmap_facts *src;		/* required: the source site, vms = the VMs to move */
	const struct netmap_facts *dst;		/* required: the destination site */
	const struct netmap_link *link;		/* NULL: not measured */
	const struct netmap_map *networks;	/* NULL: no network map */
	const struct netmap_map *datastores;	/* NULL: no datastore map */
	const struct netmap_options *opt;	/* NULL: defaults */
};
struct netmap_report;

/*
 * Run every rule.  Findings come site-level first, then per VM in the
 * source order; within each, in rule order.  Datastore space is shared:
 * VMs take it in source order, and a VM that does not fit is not counted
 * against the VMs after it.  FY_ERR_INVAL (missing facts), FY_ERR_LIMIT
 * (more than NETMAP_FINDINGS_MAX findings) or FY_ERR_NOMEM.
 */
int netmap_check(const struct netmap_input *, struct netmap_report **out,
    char *err, size_t errcap) FY_WUR;
void netmap_report_free(struct netmap_report *);	/* NULL ok */
size_t netmap_report_count(const struct netmap_report *);
const struct netmap_finding *netmap_report_get(const struct netmap_report *, size_t i);
/* First finding with code for VM vm_index (-1: site-level, -2: any); NULL if none. */
const struct netmap_finding *netmap_report_find(const struct netmap_report *, const char *code, int vm_index);
size_t netmap_report_nvms(const struct netmap_report *);
/* Verdict of VM vm_index, site-level findings included; -1: overall. */
enum netmap_verdict netmap_report_verdict(const struct netmap_report *, int vm_index);
/* 0 clear, 2 any error, 1 warnings with strict (0 without). */
int netmap_report_exit_code(const struct netmap_report *, int strict);
/* Stable JSON (ferry-findings(7), OUTPUT); new reference, NULL on ENOMEM. */
struct json_t *netmap_report_json(const struct netmap_report *);
/* Readable report grouped by VM, fixed-width, no colours; malloc'd, NULL on ENOMEM. */
char *netmap_report_text(const struct netmap_report *);

#endif
