/*
 * netmap-int.h - private to netmap/: the arena behind facts and reports,
 * the code list, the version, hardware and EVC matrices.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef FY_NETMAP_INT_H
#define FY_NETMAP_INT_H

#include <stdarg.h>
#include "netmap.h"

/* ---- arena: all of one facts document or one report, freed at once ---- */
#define NETMAP_ARENA_MAX	((size_t)256 << 20)	/* a ceiling, far above the text limits */
struct netmap_arena;
struct netmap_arena *netmap_arena_new(void);
void netmap_arena_free(struct netmap_arena *);	/* NULL ok */
/* Zeroed, 16-byte aligned; NULL on ENOMEM or past NETMAP_ARENA_MAX. */
void *netmap_arena_alloc(struct netmap_arena *, size_t);
void *netmap_arena_array(struct netmap_arena *, size_t n, size_t size);
char *netmap_arena_strdup(struct netmap_arena *, const char *);
char *netmap_arena_printf(struct netmap_arena *, const char *fmt, ...) FY_PRINTF(2, 3);
char *netmap_arena_vprintf(struct netmap_arena *, const char *fmt, va_list) FY_PRINTF(2, 0);

/*
 * ---- the codes: one X-macro list yields the enum and the catalogue ----
 * X(id, "code", severity, "summary", "default fix")
 */
#define NETMAP_CODES(X) \
	X(SITE_001, "FY-SITE-001", ERROR, "the two sites run different kinds of domain", \
	    "Move VMs only between sites of the same kind (vSphere to vSphere, qemu to qemu).") \
	X(VER_000, "FY-VER-000", INFO, "product versions not reported: not compared", \
	    "Nothing to do; the domain does not report this version.") \
	X(VER_001, "FY-VER-001", ERROR, "a vCenter is older than 6.0 (no cross-vCenter vMotion)", \
	    "Upgrade that vCenter to 6.0 or later (7.0 or later is recommended).") \
	X(VER_002, "FY-VER-002", WARNING, "the destination vCenter is older than the source's", \
	    "Upgrade the destination vCenter to the source's release or later, or check the VM's features against it.") \
	X(VER_003, "FY-VER-003", WARNING, "a version is not in Ferry's matrix: not judged", \
	    "Check VMware's interoperability matrix (or QEMU's release notes) for this pair by hand.") \
	X(VER_004, "FY-VER-004", WARNING, "some destination hosts run an older ESXi than the VM's host", \
	    "Name a target host with the same or a newer ESXi, or upgrade those hosts.") \
	X(VER_005, "FY-VER-005", ERROR, "the destination's QEMU is of an older major version", \
	    "Upgrade QEMU at the destination to the source's major version or later.") \
	X(HW_000, "FY-HW-000", INFO, "VM hardware version not reported: not checked", \
	    "Nothing to do; the domain has no VM hardware versions.") \
	X(HW_001, "FY-HW-001", ERROR, "no usable destination host runs this VM hardware version", \
	    "Upgrade the destination hosts, or pick a target host whose ESXi runs this hardware version.") \
	X(HW_002, "FY-HW-002", WARNING, "some destination hosts cannot run this VM hardware version", \
	    "Name a target host that runs it, or keep those hosts out of the VM's placement.") \
	X(HW_003, "FY-HW-003", WARNING, "the destination hosts' hardware versions are unknown", \
	    "Have the driver report the hosts' supported hardware versions, or check them by hand.") \
	X(CPU_000, "FY-CPU-000", INFO, "CPU compatibility (EVC) not reported: not checked", \
	    "Nothing to do; the domain has no EVC modes.") \
	X(CPU_001, "FY-CPU-001", ERROR, "no usable destination host or cluster offers the VM's EVC mode", \
	    "Raise the destination cluster's EVC mode to the VM's, or power-cycle the VM in a lower EVC mode first.") \
	X(CPU_002, "FY-CPU-002", WARNING, "an EVC mode Ferry does not know, or none reported: not judged", \
	    "Check the EVC modes by hand in the vSphere client.") \
	X(CPU_003, "FY-CPU-003", ERROR, "the destination lacks the VM's accelerator", \
	    "Enable that accelerator at the destination (for kvm: /dev/kvm readable and writable by ferryd).") \
	X(CPU_004, "FY-CPU-004", WARNING, "some destination hosts cannot offer the VM's EVC mode", \
	    "Name a target host or cluster that offers it, or align the EVC modes.") \
	X(HOST_000, "FY-HOST-000", INFO, "host facts not reported: host state not checked", \
	    "Nothing to do; the domain has no separate hosts.") \
	X(HOST_001, "FY-HOST-001", ERROR, "the VM's source host is not connected", \
	    "Reconnect the host to its vCenter before moving its VMs.") \
	X(HOST_002, "FY-HOST-002", WARNING, "a destination host is not connected", \
	    "Reconnect the host, or ignore this if it is not meant to receive VMs.") \
	X(HOST_003, "FY-HOST-003", WARNING, "a destination host is in maintenance mode", \
	    "Exit maintenance mode on that host, or ignore this if it is not meant to receive VMs.") \
	X(HOST_004, "FY-HOST-004", ERROR, "no destination host can receive VMs", \
	    "Connect a destination host and take it out of maintenance mode.") \
	X(HOST_005, "FY-HOST-005", ERROR, "the target host or cluster does not exist at the destination", \
	    "Name a host or cluster from `ferryctl inventory hosts --site PEER`.") \
	X(NET_000, "FY-NET-000", INFO, "networks or switch types not reported: not checked", \
	    "Nothing to do; the domain has no virtual switch types (or reports no networks).") \
	X(NET_001, "FY-NET-001", ERROR, "a NIC's network is missing at the destination and not mapped", \
	    "Map it with --network-map 'SOURCE=DESTINATION', or create the network at the destination.") \
	X(NET_002, "FY-NET-002", ERROR, "a network map points to a network missing at the destination", \
	    "Correct the map's right-hand side to a network the destination has.") \
	X(NET_003, "FY-NET-003", WARNING, "a NIC moves between a distributed and a standard switch", \
	    "Map the NIC to a network of the same switch type, or accept the change knowing its policies differ.") \
	X(NET_004, "FY-NET-004", WARNING, "several destination networks have this name", \
	    "Rename the destination networks so that the name is unique.") \
	X(NET_005, "FY-NET-005", WARNING, "the destination network has another VLAN", \
	    "Map the NIC to a network on the same VLAN (broadcast domain), or confirm the guest's addressing fits the new one.") \
	X(NET_006, "FY-NET-006", ERROR, "a kept MAC address is in use at the destination", \
	    "Use --mac-policy generate, or change the MAC of one of the two VMs.") \
	X(NET_007, "FY-NET-007", INFO, "the NICs get new MAC addresses at the destination", \
	    "Nothing to do, unless the guest's licences or DHCP reservations are tied to the MAC.") \
	X(NET_008, "FY-NET-008", INFO, "a network map entry matches no NIC of the VMs checked", \
	    "Check the map's left-hand side for a typo.") \
	X(DNS_000, "FY-DNS-000", INFO, "no management server or host names: DNS not checked", \
	    "Nothing to do; the domain has no names to resolve.") \
	X(DNS_001, "FY-DNS-001", ERROR, "a name does not resolve (forward) from a gateway", \
	    "Add the name to the DNS that gateway uses, or fix its resolver configuration.") \
	X(DNS_002, "FY-DNS-002", ERROR, "an address does not resolve back to a name (reverse) from a gateway", \
	    "Add a PTR record for the address to the DNS that gateway uses.") \
	X(DNS_003, "FY-DNS-003", WARNING, "the reverse lookup gives another name", \
	    "Make the PTR record name the host by the name vCenter uses.") \
	X(DNS_004, "FY-DNS-004", WARNING, "a gateway did not report a lookup of a name", \
	    "Run the pre-flight again once both gateways can resolve names, or check them by hand.") \
	X(DS_000, "FY-DS-000", INFO, "storage sizes not reported: space not checked", \
	    "Nothing to do; the domain did not report these sizes.") \
	X(DS_001, "FY-DS-001", ERROR, "a disk's datastore is missing at the destination and not mapped", \
	    "Map it with --datastore-map 'SOURCE=DESTINATION'.") \
	X(DS_002, "FY-DS-002", ERROR, "a datastore map points to a datastore missing at the destination", \
	    "Correct the map's right-hand side to a datastore the destination has.") \
	X(DS_003, "FY-DS-003", ERROR, "not enough free space on the destination datastore", \
	    "Free space there, map some disks to another datastore, or move fewer VMs at once.") \
	X(DS_004, "FY-DS-004", INFO, "a datastore map entry matches no disk of the VMs checked", \
	    "Check the map's left-hand side for a typo.") \
	X(DS_005, "FY-DS-005", ERROR, "the destination could not measure the datastore", \
	    "Fix the datastore at the destination (mounted, readable) and run the pre-flight again.") \
	X(ENC_000, "FY-ENC-000", INFO, "encryption not reported: not checked", \
	    "Nothing to do; the domain does not encrypt VMs.") \
	X(ENC_001, "FY-ENC-001", ERROR, "the VM or one of its disks is encrypted: refused", \
	    "Decrypt the VM first, or move it with vCenter's own tools between vCenters that share the key provider.") \
	X(PWR_000, "FY-PWR-000", INFO, "power state not reported: not checked", \
	    "Nothing to do.") \
	X(PWR_001, "FY-PWR-001", ERROR, "the VM is in a state that cannot be moved", \
	    "Bring the VM to a running or powered-off state first.") \
	X(PWR_002, "FY-PWR-002", INFO, "the VM is powered off: it moves cold", \
	    "Nothing to do; power it on first if it must keep running.") \
	X(PWR_003, "FY-PWR-003", WARNING, "the VM is suspended or paused", \
	    "Resume the VM first, or accept that it arrives suspended.") \
	X(DUP_000, "FY-DUP-000", INFO, "the destination reported no VM inventory: conflicts not checked", \
	    "Nothing to do, or have the destination's driver report its VMs.") \
	X(DUP_001, "FY-DUP-001", ERROR, "a VM of this name exists at the destination", \
	    "Rename one of the two VMs, or remove the stale copy at the destination.") \
	X(DUP_002, "FY-DUP-002", ERROR, "a VM with this instance UUID exists at the destination", \
	    "Remove the stale copy at the destination, or give one VM a new instance UUID.") \
	X(DUP_003, "FY-DUP-003", WARNING, "a VM with this BIOS UUID exists at the destination", \
	    "Change one VM's BIOS UUID (uuid.bios) if software in the guest keys on it.") \
	X(DUP_004, "FY-DUP-004", ERROR, "two VMs of this pre-flight have the same name", \
	    "Rename one of them; they would collide at the destination.") \
	X(LINK_000, "FY-LINK-000", INFO, "no link measurement: transfer not estimated", \
	    "Run `ferryctl link test SITE` and pass its result to the pre-flight.") \
	X(LINK_001, "FY-LINK-001", WARNING, "the round trip is above the limit (vMotion: 150 ms)", \
	    "Expect the move to be slow or refused by vCenter; use a shorter path or a bulk (cold) move.") \
	X(LINK_002, "FY-LINK-002", INFO, "estimated transfer time for the VM", \
	    "Nothing to do; plan the window accordingly.") \
	X(LINK_003, "FY-LINK-003", ERROR, "the link carried no data", \
	    "Fix the transport between the gateways (`ferryctl link test SITE`).") \
	X(LINK_004, "FY-LINK-004", WARNING, "packet loss on the link is above the limit", \
	    "Find the lossy hop; expect lower goodput than measured under load.") \
	X(LINK_005, "FY-LINK-005", WARNING, "the VM dirties memory as fast as the link copies it", \
	    "Move it in a quiet period, raise the bandwidth, or let the migration throttle the guest.") \
	X(LINK_006, "FY-LINK-006", INFO, "estimated transfer time for all the VMs", \
	    "Nothing to do; plan the window accordingly.") \
	X(LINK_007, "FY-LINK-007", INFO, "the link's loss was not measured", \
	    "Run `ferryctl link test SITE` again; its loss line says why the probe failed.") \
	X(VC_000, "FY-VC-000", INFO, "the vCenter's own checks do not apply", \
	    "Nothing to do; the domain has no vCenter checker.") \
	X(VC_001, "FY-VC-001", ERROR, "the vCenter's own check reports an error", \
	    "Fix what vCenter names; its message is quoted as is.") \
	X(VC_002, "FY-VC-002", WARNING, "the vCenter's own check reports a warning", \
	    "Read vCenter's message; it is quoted as is.") \
	X(VC_003, "FY-VC-003", INFO, "the vCenter does not offer its own checks", \
	    "Nothing to do; Ferry's own checks still ran.") \
	X(IMG_000, "FY-IMG-000", INFO, "the destination did not report the boot image: not checked", \
	    "Nothing to do, or run the pre-flight from a Ferry that asks for it.") \
	X(IMG_001, "FY-IMG-001", ERROR, "the VM's boot image is missing at the destination", \
	    "Copy the boot image to the same path at the destination.") \
	X(IMG_002, "FY-IMG-002", ERROR, "the VM's boot image differs at the destination", \
	    "Copy the source's boot image over the destination's (same path, same content).")

enum netmap_code_id {
#define NETMAP_CODE_ENUM(id, code, sev, sum, fix) NM_##id,
	NETMAP_CODES(NETMAP_CODE_ENUM)
#undef NETMAP_CODE_ENUM
	NM_NCODES
};
const char *netmap_catalogue_code(enum netmap_code_id);
enum netmap_severity netmap_catalogue_severity(enum netmap_code_id);
const char *netmap_catalogue_fix(enum netmap_code_id);

/* ---- the report under construction (report.c) ---- */
struct netmap_report *netmap_report_new(const struct netmap_facts *src, const struct netmap_facts *dst);
struct netmap_arena *netmap_report_arena(struct netmap_report *);
/*
 * Append a finding.  subject, src, dst, fix may be NULL (fix NULL: the
 * catalogue's).  Strings are copied.  FY_ERR_LIMIT past NETMAP_FINDINGS_MAX.
 */
int netmap_report_add(struct netmap_report *, enum netmap_code_id, int vm_index, const char *subject,
    const char *src, const char *dst, const char *fix, const char *fmt, ...) FY_PRINTF(8, 9) FY_WUR;
/* Sort site-level first, then by VM, keeping the order of addition. */
void netmap_report_finish(struct netmap_report *);

/* ---- matrices (matrix.c) ---- */
struct netmap_version { int major, minor, patch; };
/* "7.0.3", "6.7", "7.2.22": at least major.minor (qemu: major), digits only. */
int netmap_matrix_parse_version(const char *, struct netmap_version *, int need_minor);
int netmap_matrix_vcmp(const struct netmap_version *, const struct netmap_version *);
/* Release line ("7.0 U2") of a vSphere version, NULL when not in the matrix. */
const char *netmap_matrix_release(const struct netmap_version *);
/* Newest VM hardware version an ESXi of this version runs; 0 when unknown. */
int netmap_matrix_hw_max(const struct netmap_version *);
/* 1 when the release supports cross-vCenter vMotion (6.0 and later). */
int netmap_matrix_xvc(const struct netmap_version *);
/* EVC: vendor ("intel"/"amd") and rank; 0 when the key is unknown. */
int netmap_matrix_evc(const char *key, const char **vendor, int *rank, int *dead_end);
/* 1 when a host or cluster at EVC mode ceiling can run a VM that requires req. */
int netmap_matrix_evc_fits(const char *req, const char *ceiling);

/* ---- formatting ---- */
/* "40.0 GiB" */
void netmap_fmt_bytes(char *out, size_t cap, int64_t bytes);
/* "1 h 05 min", "3 min 20 s", "12 s" */
void netmap_fmt_duration(char *out, size_t cap, double secs);
/* snprintf into err (if errcap > 0), return code. */
int netmap_fail(char *err, size_t errcap, int code, const char *fmt, ...) FY_PRINTF(4, 5);

#endif
