/*
 * domain.h - the management domain behind a site, seen through one ops
 * table: the built-in qemu domain (dom_qemu.c) now, vsphere later.
 *
 * A VM is described by a spec (name, UUID, vCPUs, memory, disks in named
 * datastores, NICs on named networks, machine type, boot image,
 * accelerator).  The spec travels to the peer during a migration as JSON
 * (vm_spec_to_json / vm_spec_from_json), so the reader validates every
 * field and bounds every size.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef FY_DOMAIN_H
#define FY_DOMAIN_H

#include <stdint.h>
#include <jansson.h>
#include "gateway.h"

#define VM_NAME_MAX	63
#define VM_MAX_DISKS	8
#define VM_MAX_NICS	8
#define VM_PATH_MAX	255
#define VM_MEM_MIN_MIB	1
#define VM_MEM_MAX_MIB	(1024 * 1024)
#define VM_VCPUS_MAX	64

struct vm_disk {
	char id[16];			/* "disk0" ...: QEMU's drive id, stable across sites */
	char datastore[64];		/* a name from qemu_datastores */
	char file[VM_PATH_MAX + 1];	/* relative to the datastore; no "..", no leading '/' */
	char format[8];			/* "raw" or "qcow2" */
	uint64_t size;			/* virtual size, bytes */
};

struct vm_nic {
	char network[64];		/* a name from qemu_networks */
	char mac[18];			/* "52:54:00:xx:xx:xx", kept across migration */
};

struct vm_spec {
	char name[VM_NAME_MAX + 1];
	char uuid[37];			/* lower-case 8-4-4-4-12, generated when absent */
	int vcpus;
	uint64_t memory_mib;
	char machine[32];		/* "pc", "q35", ... */
	char boot[VM_PATH_MAX + 1];	/* read-only boot image (absolute path), "" for none */
	char boot_sha256[65];		/* hex, filled by define; checked at the destination */
	char accel[16];			/* "tcg", "kvm" (falls back to tcg) */
	int ndisks, nnics;
	struct vm_disk disks[VM_MAX_DISKS];
	struct vm_nic nics[VM_MAX_NICS];
};

/* Parse and validate; err names the field and what was wrong. */
int vm_spec_from_json(json_t *, struct vm_spec *, struct fy_error *) FY_WUR;
json_t *vm_spec_to_json(const struct vm_spec *);

enum vm_state {
	VM_SHUTOFF = 0,		/* defined, no process */
	VM_RUNNING,		/* QEMU running the guest */
	VM_PAUSED,		/* QEMU up, guest stopped (by us or by a migration's stun) */
	VM_INCOMING,		/* destination of a migration: QEMU waiting for the stream */
	VM_CRASHED,		/* QEMU went away without being asked to */
};
const char *vm_state_name(enum vm_state);

struct vm_status {
	enum vm_state state;
	int pid;			/* QEMU's, 0 when none */
	int64_t started_ms;
	char job[40];			/* the migration job that owns the VM, "" when none */
	char qmp_path[VM_PATH_MAX + 1];	/* the supervisor's monitor */
	char job_qmp_path[VM_PATH_MAX + 1]; /* the monitor reserved for the job engine */
	char dir[VM_PATH_MAX + 1];	/* STATE/vms/NAME: logs, sockets */
	/* Serial console, captured by ferryd with a wall-clock time per line. */
	int64_t serial_first_ms;	/* first line since QEMU started, 0 if none */
	int64_t serial_last_ms;		/* latest line, 0 if none */
	uint64_t serial_lines;
};

/* Where an incoming VM listens (filled by incoming_prepare). */
struct vm_incoming {
	int multifd;			/* in: multifd channels the source will open (0 = none) */
	char mig_path[VM_PATH_MAX + 1];	/* the migration URI is unix:mig_path */
	char nbd_path[VM_PATH_MAX + 1];	/* NBD server for disk mirrors, "" when no disks */
};

struct domain;
struct dom_ops {
	const char *type;		/* "qemu" */
	void (*fini)(struct domain *);
	int (*define)(struct domain *, struct vm_spec *, struct fy_error *);	/* fills uuid, macs, sizes */
	int (*undefine)(struct domain *, const char *name, struct fy_error *);
	int (*start)(struct domain *, const char *name, struct fy_error *);
	/* Graceful (system_powerdown, then quit after a grace) or forced (quit now). */
	int (*stop)(struct domain *, const char *name, int force, struct fy_error *);
	/* spec and/or st may be NULL.  FY_ERR_NOTFOUND names the VM. */
	int (*lookup)(struct domain *, const char *name, struct vm_spec *, struct vm_status *, struct fy_error *);
	json_t *(*list)(struct domain *, struct fy_error *);	/* [ {name, uuid, state, vcpus, memory_mib, ...} ] */
	/* What pre-flight and Prepare compare: networks, datastores with free bytes, versions. */
	json_t *(*facts)(struct domain *, struct fy_error *);

	/*
	 * Destination of a migration: check the spec against this site (names
	 * already mapped by the caller; unknown network or datastore, no room,
	 * name or UUID taken, missing or different boot image are errors naming
	 * what), create the disks, launch QEMU paused with -incoming defer, and
	 * start the migration and NBD listeners.  The VM is owned by job.
	 */
	int (*incoming_prepare)(struct domain *, const struct vm_spec *, const char *job,
	    struct vm_incoming *, struct fy_error *);
	/* The stream arrived: resume the guest; the VM becomes an ordinary running VM. */
	int (*incoming_finish)(struct domain *, const char *name, struct fy_error *);
	/* Failure before Finish: kill QEMU, delete the disks created, forget the VM. */
	int (*incoming_abort)(struct domain *, const char *name, struct fy_error *);
	/* Mark a local VM as owned by job ("" to release); refuses when another job holds it. */
	int (*claim)(struct domain *, const char *name, const char *job, struct fy_error *);
	/* After the destination confirmed: stop QEMU, delete the disks, forget the VM. */
	int (*outgoing_confirm)(struct domain *, const char *name, struct fy_error *);

	/*
	 * Optional: the whole pre-flight FACTS document (ferry-findings(7)) in
	 * one go, for drivers that gather in bulk.  names: array of VM names
	 * (the VMs to move, each must exist: FY_ERR_NOTFOUND names it), NULL
	 * for the whole inventory.  Without it, preflight_facts() builds the
	 * document from facts, list and lookup.
	 */
	json_t *(*site_facts)(struct domain *, json_t *names, struct fy_error *);
};

struct domain {
	const struct dom_ops *ops;
	struct site *site;
	void *priv;
};

/* Create the domain named in the configuration (conf.domain) and re-attach running VMs. */
int domain_init(struct site *, struct domain **, struct fy_error *) FY_WUR;
void domain_fini(struct domain *);
/* The built-in qemu domain (dom_qemu.c). */
int dom_qemu_new(struct site *, struct domain **, struct fy_error *) FY_WUR;
/* The vsphere domain (dom_vsphere.c): facts from the site's own vCenter. */
int dom_vsphere_new(struct site *, struct domain **, struct fy_error *) FY_WUR;
/*
 * Forward and reverse DNS of each name (array of strings; duplicates
 * without case looked up once), bounded in time: an array of FACTS "dns"
 * entries {name, forward, reverse, error}.
 */
json_t *vsphere_dns_lookup(const json_t *names);
/* Pre-flight: 1 when path here is a regular file with SHA-256 sha256, 0 other content, -1 (why) unusable. */
int dom_qemu_image_same(const char *path, const char *sha256, char *why, size_t cap);
/* Check qemu_datastores and qemu_networks (used by the configuration check). */
int dom_qemu_check_conf(const struct fy_conf *, struct fy_error *) FY_WUR;

#endif
