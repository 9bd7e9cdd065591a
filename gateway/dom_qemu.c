/*
 * dom_qemu.c - the built-in qemu management domain: QEMU guests on this
 * host, defined in the site database (table vms), launched as detached
 * processes that outlive ferryd, and supervised by one thread that holds
 * each VM's supervisor monitor (qmp.sock) and captures its serial port.
 *
 * Per VM, STATE_DIR/vms/NAME/ (mode 0700) holds:
 *   qmp.sock     the supervisor's QMP monitor (this file's)
 *   job.sock     a second QMP monitor, reserved for the migration engine
 *   serial.sock  COM1 as a chardev socket server; ferryd is its client
 *   serial.log   one line per guest line: "<wall-clock ms> <text>"
 *   qemu.log     QEMU's stderr;  qemu.pid  the process id
 *   mig.sock, nbd.sock   listeners of an incoming migration
 *
 * Block devices, stable across sites so the migration engine can address
 * them by name: each disk is a drive (BlockBackend) named by its id
 * ("disk0" ...: use it for drive-mirror and nbd-server-add), its format
 * node is "fmt-disk0", its device (virtio-blk-pci) "dev-disk0".  The boot
 * image is drive "boot" on ide.0 with snapshot=on: QEMU opens the image
 * read-only and keeps guest writes in a temporary overlay (an IDE disk
 * cannot be read-only).  NIC N is netdev "netN" on hub H (H = the index of
 * its network in qemu_networks) and device "nicN" (e1000).
 *
 * Locks: d->mtx guards the list of running VMs and their fields; a VM's
 * qmp_mtx serialises use of its monitor; an operation on a VM holds the
 * VM's name (name_lock) so two commands on one VM do not interleave.
 * Only the supervisor closes a VM's monitor and serial descriptors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include "config.h"
#include "domain.h"
#include "qmp.h"

extern char **environ;

#define QEMU_QMP_MS		5000	/* one monitor command */
#define QEMU_START_MS		20000	/* launch until the monitor answers */
#define QEMU_GRACE_MS		3000	/* system_powerdown before quit */
#define QEMU_QUIT_MS		5000	/* quit before SIGKILL */
#define QEMU_KILL_MS		5000	/* SIGKILL until gone */
#define QEMU_IMG_MS		60000	/* qemu-img create/info */
#define PROG_OUT_MAX		(1 << 20)	/* output kept from a helper program */
#define SERIAL_LINE_MAX		1024	/* longer guest lines are split */
#define SERIAL_LOG_MAX		(4 << 20)	/* serial.log rotates to serial.log.1 */
#define SUPERVISE_TICK_MS	500
#define NAME_WAIT_MS		60000	/* another command on the same VM */
#define VM_DISK_MAX		(64LL << 40)
#define MAX_DATASTORES		32
#define MAX_NETWORKS		32
#define MAX_BUSY		128

static const char *const vm_state_names[] = {
	[VM_SHUTOFF] = "shutoff", [VM_RUNNING] = "running", [VM_PAUSED] = "paused",
	[VM_INCOMING] = "incoming", [VM_CRASHED] = "crashed",
};

const char *
vm_state_name(enum vm_state s)
{
	if ((int)s < 0 || (size_t)s >= sizeof(vm_state_names) / sizeof(vm_state_names[0]))
		return "unknown";
	return vm_state_names[s];
}

/* ------------------------------------------------------------------ */
/* The spec: pure parsing and validation (no I/O).                     */

static int
valid_ident(const char *s, size_t max)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return 0;
	return isalnum((unsigned char)s[0]);
}

/*
 * Network and datastore names, as vCenter admins write them ("VM Network"):
 * printable ASCII, inner spaces allowed; no ',', '=', quote or backslash
 * (the separators of qemu_networks, qemu_datastores and the maps).
 */
static int
valid_label(const char *s, size_t max)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > max || s[0] == ' ' || s[n - 1] == ' ')
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == ',' || s[i] == '=' || s[i] == '"' || s[i] == '\\')
			return 0;
	return 1;
}

static int
valid_uuid(const char *s)
{
	size_t i;

	if (strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* "52:54:00:12:34:56": six hex pairs, unicast, not all zero. */
static int
valid_mac(const char *s)
{
	unsigned v[6], i;

	if (strlen(s) != 17)
		return 0;
	for (i = 0; i < 17; i++) {
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return 0;
	}
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return 0;
	if (v[0] & 1)
		return 0;
	return (v[0] | v[1] | v[2] | v[3] | v[4] | v[5]) != 0;
}

/* Relative, no "." or ".." component, no empty component, a safe alphabet. */
static int
valid_rel_path(const char *s)
{
	const char *c = s, *e;
	size_t i, n = strlen(s);

	if (n == 0 || n > VM_PATH_MAX || s[0] == '/' || s[n - 1] == '/')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("._+-/", s[i]) == NULL)
			return 0;
	for (;;) {
		e = strchr(c, '/');
		n = e ? (size_t)(e - c) : strlen(c);
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (e == NULL)
			return 1;
		c = e + 1;
	}
}

static void
lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* Every member of o must be in names (NULL-terminated). */
static int
check_members(json_t *o, const char *const *names, const char *where, struct fy_error *err)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach(o, k, v) {
		for (i = 0; names[i] != NULL; i++)
			if (strcmp(k, names[i]) == 0)
				break;
		if (names[i] == NULL)
			return fy_fail(err, FY_ERR_INVAL, "%s: unknown member \"%.64s\"", where, k);
	}
	return 0;
}

/* An optional string member: 0 and *out (NULL when absent), or an error naming field. */
static int
get_str(json_t *o, const char *k, const char *field, const char **out, struct fy_error *err)
{
	json_t *v = json_object_get(o, k);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fy_fail(err, FY_ERR_INVAL, "%s: expected a string", field);
	*out = json_string_value(v);
	return 0;
}

static int
get_int(json_t *o, const char *k, const char *field, long long min, long long max, long long def,
    long long *out, struct fy_error *err)
{
	json_t *v = json_object_get(o, k);

	*out = def;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return fy_fail(err, FY_ERR_INVAL, "%s: expected an integer from %lld to %lld", field, min, max);
	*out = json_integer_value(v);
	return 0;
}

static int
disk_from_json(json_t *o, int i, struct vm_disk *dk, struct fy_error *err)
{
	static const char *const members[] = { "id", "datastore", "file", "format", "size", NULL };
	char where[32], f[48];
	const char *s;
	json_t *v;
	long long n;
	int r;

	snprintf(where, sizeof(where), "disks[%d]", i);
	if (!json_is_object(o))
		return fy_fail(err, FY_ERR_INVAL, "%s: expected an object", where);
	if ((r = check_members(o, members, where, err)) != 0)
		return r;
	snprintf(f, sizeof(f), "%s.id", where);
	if ((r = get_str(o, "id", f, &s, err)) != 0)
		return r;
	if (s == NULL)
		snprintf(dk->id, sizeof(dk->id), "disk%d", i);
	else if (strlen(s) != 5 || strncmp(s, "disk", 4) != 0 || s[4] < '0' ||
	    s[4] >= '0' + VM_MAX_DISKS)
		return fy_fail(err, FY_ERR_INVAL, "%s: \"%.32s\": expected disk0 to disk%d", f, s,
		    VM_MAX_DISKS - 1);
	else
		snprintf(dk->id, sizeof(dk->id), "%s", s);
	snprintf(f, sizeof(f), "%s.datastore", where);
	if ((r = get_str(o, "datastore", f, &s, err)) != 0)
		return r;
	if (s == NULL)
		return fy_fail(err, FY_ERR_INVAL, "%s: missing", f);
	if (!valid_label(s, sizeof(dk->datastore) - 1))
		return fy_fail(err, FY_ERR_INVAL, "%s: \"%.64s\": expected a datastore name", f, s);
	snprintf(dk->datastore, sizeof(dk->datastore), "%s", s);
	snprintf(f, sizeof(f), "%s.file", where);
	if ((r = get_str(o, "file", f, &s, err)) != 0)
		return r;
	if (s == NULL)
		return fy_fail(err, FY_ERR_INVAL, "%s: missing", f);
	if (!valid_rel_path(s))
		return fy_fail(err, FY_ERR_INVAL, "%s: \"%.64s\": expected a path relative to the datastore "
		    "(letters, digits, '._+-/', no \"..\", no leading '/')", f, s);
	snprintf(dk->file, sizeof(dk->file), "%s", s);
	snprintf(f, sizeof(f), "%s.format", where);
	if ((r = get_str(o, "format", f, &s, err)) != 0)
		return r;
	if (s != NULL && strcmp(s, "raw") != 0 && strcmp(s, "qcow2") != 0)
		return fy_fail(err, FY_ERR_INVAL, "%s: \"%.32s\": expected raw or qcow2", f, s);
	snprintf(dk->format, sizeof(dk->format), "%s", s ? s : "");
	snprintf(f, sizeof(f), "%s.size", where);
	dk->size = 0;
	if ((v = json_object_get(o, "size")) != NULL && !json_is_null(v)) {
		if (json_is_string(v)) {
			if (fy_parse_size(json_string_value(v), &n) != 0)
				return fy_fail(err, FY_ERR_INVAL, "%s: \"%.32s\": expected a size such as 64M or 10G "
				    "(at most 1T)", f, json_string_value(v));
		} else if (json_is_integer(v) && json_integer_value(v) > 0 &&
		    json_integer_value(v) <= VM_DISK_MAX)
			n = json_integer_value(v);
		else
			return fy_fail(err, FY_ERR_INVAL, "%s: expected bytes (1 to %lld) or a size such as 64M",
			    f, VM_DISK_MAX);
		dk->size = (uint64_t)n;
	}
	return 0;
}

static int
nic_from_json(json_t *o, int i, struct vm_nic *nic, struct fy_error *err)
{
	static const char *const members[] = { "network", "mac", NULL };
	char where[32], f[48];
	const char *s;
	int r;

	snprintf(where, sizeof(where), "nics[%d]", i);
	if (!json_is_object(o))
		return fy_fail(err, FY_ERR_INVAL, "%s: expected an object", where);
	if ((r = check_members(o, members, where, err)) != 0)
		return r;
	snprintf(f, sizeof(f), "%s.network", where);
	if ((r = get_str(o, "network", f, &s, err)) != 0)
		return r;
	if (s == NULL)
		return fy_fail(err, FY_ERR_INVAL, "%s: missing", f);
	if (!valid_label(s, sizeof(nic->network) - 1))
		return fy_fail(err, FY_ERR_INVAL, "%s: \"%.64s\": expected a network name", f, s);
	snprintf(nic->network, sizeof(nic->network), "%s", s);
	snprintf(f, sizeof(f), "%s.mac", where);
	if ((r = get_str(o, "mac", f, &s, err)) != 0)
		return r;
	if (s != NULL && !valid_mac(s))
		return fy_fail(err, FY_ERR_INVAL, "%s: \"%.32s\": expected a unicast MAC address "
		    "xx:xx:xx:xx:xx:xx", f, s);
	snprintf(nic->mac, sizeof(nic->mac), "%s", s ? s : "");
	lower(nic->mac);
	return 0;
}

int
vm_spec_from_json(json_t *j, struct vm_spec *sp, struct fy_error *err)
{
	static const char *const members[] = { "name", "uuid", "vcpus", "memory_mib", "machine", "accel",
	    "boot", "boot_sha256", "disks", "nics", NULL };
	const char *s;
	json_t *a, *v;
	long long n;
	size_t i, k;
	int r;

	memset(sp, 0, sizeof(*sp));
	if (!json_is_object(j))
		return fy_fail(err, FY_ERR_INVAL, "spec: expected a JSON object");
	if ((r = check_members(j, members, "spec", err)) != 0)
		return r;
	if ((r = get_str(j, "name", "name", &s, err)) != 0)
		return r;
	if (s == NULL)
		return fy_fail(err, FY_ERR_INVAL, "name: missing");
	if (!fy_valid_name(s))
		return fy_fail(err, FY_ERR_INVAL, "name: \"%.64s\": use 1-%d letters, digits, '.', '_' or '-', "
		    "starting with a letter or digit", s, VM_NAME_MAX);
	snprintf(sp->name, sizeof(sp->name), "%s", s);
	if ((r = get_str(j, "uuid", "uuid", &s, err)) != 0)
		return r;
	if (s != NULL && !valid_uuid(s))
		return fy_fail(err, FY_ERR_INVAL, "uuid: \"%.40s\": expected 8-4-4-4-12 hex digits", s);
	snprintf(sp->uuid, sizeof(sp->uuid), "%s", s ? s : "");
	lower(sp->uuid);
	if ((r = get_int(j, "vcpus", "vcpus", 1, VM_VCPUS_MAX, 1, &n, err)) != 0)
		return r;
	sp->vcpus = (int)n;
	if ((r = get_int(j, "memory_mib", "memory_mib", VM_MEM_MIN_MIB, VM_MEM_MAX_MIB, 128, &n, err)) != 0)
		return r;
	sp->memory_mib = (uint64_t)n;
	if ((r = get_str(j, "machine", "machine", &s, err)) != 0)
		return r;
	if (s != NULL && !valid_ident(s, sizeof(sp->machine) - 1))
		return fy_fail(err, FY_ERR_INVAL, "machine: \"%.40s\": expected a machine type such as pc or q35", s);
	snprintf(sp->machine, sizeof(sp->machine), "%s", s ? s : "pc");
	if ((r = get_str(j, "accel", "accel", &s, err)) != 0)
		return r;
	if (s != NULL && strcmp(s, "tcg") != 0 && strcmp(s, "kvm") != 0)
		return fy_fail(err, FY_ERR_INVAL, "accel: \"%.32s\": expected tcg or kvm", s);
	snprintf(sp->accel, sizeof(sp->accel), "%s", s ? s : "tcg");
	if ((r = get_str(j, "boot", "boot", &s, err)) != 0)
		return r;
	if (s != NULL && s[0] != '\0') {
		size_t bl = strlen(s), bk;
		int bad = s[0] != '/' || bl > VM_PATH_MAX || strstr(s, "/../") != NULL ||
		    (bl >= 3 && strcmp(s + bl - 3, "/..") == 0);
		for (bk = 0; bk < bl && !bad; bk++)
			bad = (unsigned char)s[bk] < 0x20 || s[bk] == 0x7f;
		if (bad)
			return fy_fail(err, FY_ERR_INVAL, "boot: \"%.64s\": expected an absolute path of at most %d "
			    "bytes, without \"..\" or control characters", s, VM_PATH_MAX);
		snprintf(sp->boot, sizeof(sp->boot), "%s", s);
	}
	if ((r = get_str(j, "boot_sha256", "boot_sha256", &s, err)) != 0)
		return r;
	if (s != NULL && s[0] != '\0') {
		if (strlen(s) != 64 || strspn(s, "0123456789abcdefABCDEF") != 64)
			return fy_fail(err, FY_ERR_INVAL, "boot_sha256: expected 64 hex digits");
		if (sp->boot[0] == '\0')
			return fy_fail(err, FY_ERR_INVAL, "boot_sha256: given without boot");
		snprintf(sp->boot_sha256, sizeof(sp->boot_sha256), "%s", s);
		lower(sp->boot_sha256);
	}
	if ((a = json_object_get(j, "disks")) != NULL && !json_is_null(a)) {
		if (!json_is_array(a) || json_array_size(a) > VM_MAX_DISKS)
			return fy_fail(err, FY_ERR_INVAL, "disks: expected an array of at most %d disks", VM_MAX_DISKS);
		json_array_foreach(a, i, v) {
			if ((r = disk_from_json(v, (int)i, &sp->disks[i], err)) != 0)
				return r;
			for (k = 0; k < i; k++) {
				if (strcmp(sp->disks[k].id, sp->disks[i].id) == 0)
					return fy_fail(err, FY_ERR_INVAL, "disks[%zu].id: \"%s\" is also disks[%zu]'s",
					    i, sp->disks[i].id, k);
				if (strcmp(sp->disks[k].datastore, sp->disks[i].datastore) == 0 &&
				    strcmp(sp->disks[k].file, sp->disks[i].file) == 0)
					return fy_fail(err, FY_ERR_INVAL, "disks[%zu].file: \"%s\" is also disks[%zu]'s",
					    i, sp->disks[i].file, k);
			}
		}
		sp->ndisks = (int)json_array_size(a);
	}
	if ((a = json_object_get(j, "nics")) != NULL && !json_is_null(a)) {
		if (!json_is_array(a) || json_array_size(a) > VM_MAX_NICS)
			return fy_fail(err, FY_ERR_INVAL, "nics: expected an array of at most %d NICs", VM_MAX_NICS);
		json_array_foreach(a, i, v) {
			if ((r = nic_from_json(v, (int)i, &sp->nics[i], err)) != 0)
				return r;
			for (k = 0; k < i; k++)
				if (sp->nics[i].mac[0] != '\0' && strcmp(sp->nics[k].mac, sp->nics[i].mac) == 0)
					return fy_fail(err, FY_ERR_INVAL, "nics[%zu].mac: %s is also nics[%zu]'s",
					    i, sp->nics[i].mac, k);
		}
		sp->nnics = (int)json_array_size(a);
	}
	return 0;
}

json_t *
vm_spec_to_json(const struct vm_spec *sp)
{
	json_t *j, *disks, *nics;
	int i;

	disks = json_array();
	nics = json_array();
	for (i = 0; i < sp->ndisks; i++) {
		const struct vm_disk *dk = &sp->disks[i];
		json_t *o = json_pack("{s:s, s:s, s:s}", "id", dk->id, "datastore", dk->datastore,
		    "file", dk->file);
		if (o != NULL && dk->format[0] != '\0')
			json_object_set_new(o, "format", json_string(dk->format));
		if (o != NULL && dk->size > 0)
			json_object_set_new(o, "size", json_integer((json_int_t)dk->size));
		json_array_append_new(disks, o);
	}
	for (i = 0; i < sp->nnics; i++) {
		json_t *o = json_pack("{s:s}", "network", sp->nics[i].network);
		if (o != NULL && sp->nics[i].mac[0] != '\0')
			json_object_set_new(o, "mac", json_string(sp->nics[i].mac));
		json_array_append_new(nics, o);
	}
	j = json_pack("{s:s, s:i, s:I, s:s, s:s, s:o, s:o}", "name", sp->name, "vcpus", sp->vcpus,
	    "memory_mib", (json_int_t)sp->memory_mib, "machine", sp->machine, "accel", sp->accel,
	    "disks", disks, "nics", nics);
	if (j == NULL)
		return NULL;
	if (sp->uuid[0] != '\0')
		json_object_set_new(j, "uuid", json_string(sp->uuid));
	if (sp->boot[0] != '\0')
		json_object_set_new(j, "boot", json_string(sp->boot));
	if (sp->boot_sha256[0] != '\0')
		json_object_set_new(j, "boot_sha256", json_string(sp->boot_sha256));
	return j;
}

/* ------------------------------------------------------------------ */
/* The domain's state.                                                 */

struct qvm {
	struct qvm *next;
	int refs;			/* d->mtx */
	char name[VM_NAME_MAX + 1];
	char dir[PATH_MAX];
	int pid;
	int64_t pid_start, started_ms;
	pthread_mutex_t qmp_mtx;
	struct qmp *qmp;		/* qmp_mtx; closed only by the supervisor */
	int qmp_busy;			/* d->mtx: an operation is using qmp */
	int stopping;			/* d->mtx: we asked QEMU to go */
	int guest_shutdown;		/* d->mtx: the guest powered itself off */
	char shutdown_reason[32];	/* d->mtx */
	int gone;			/* d->mtx: exited, recorded, off the list */
	int64_t lost_ms;		/* supervisor: monitor lost (monotonic), 0 = fine */
	int64_t retry_ms;		/* supervisor: next reconnect attempt */
	/* The serial console: the supervisor's alone, counters published under d->mtx. */
	int serial_fd, log_fd;
	off_t log_size;
	char line[SERIAL_LINE_MAX + 1];
	size_t line_len;
	int64_t serial_first_ms, serial_last_ms;	/* d->mtx */
	uint64_t serial_lines;				/* d->mtx */
};

struct datastore {
	char name[64];
	char dir[PATH_MAX];
};

struct qdom {
	struct site *site;
	pthread_mutex_t mtx;
	pthread_cond_t cond;		/* CLOCK_MONOTONIC: a VM went away, a name was released */
	struct qvm *vms;
	char busy[MAX_BUSY][VM_NAME_MAX + 1];
	int nbusy;
	int wake[2];
	pthread_t thr;
	int thr_started, quit;
	struct datastore ds[MAX_DATASTORES];
	int nds;
	char nets[MAX_NETWORKS][64];
	int nnets;
	char vmroot[PATH_MAX];
	char qemu_version[64];		/* d->mtx; read on first use */
	int version_read;		/* d->mtx */
};

static const struct dom_ops qemu_ops;
static void read_version(struct qdom *, char *, size_t);

static struct qdom *
QD(struct domain *d)
{
	return d->priv;
}

static void
wake_supervisor(struct qdom *d)
{
	char c = 1;

	(void)!write(d->wake[1], &c, 1);
}

static void
abs_deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Serialise operations on one VM: wait (bounded) while another holds the name. */
static int
name_lock(struct qdom *d, const char *name, struct fy_error *err)
{
	struct timespec ts;
	int i, held, r = 0;

	abs_deadline(&ts, NAME_WAIT_MS);
	pthread_mutex_lock(&d->mtx);
	for (;;) {
		for (held = 0, i = 0; i < d->nbusy; i++)
			if (strcmp(d->busy[i], name) == 0)
				held = 1;
		if (!held && d->nbusy < MAX_BUSY)
			break;
		if (pthread_cond_timedwait(&d->cond, &d->mtx, &ts) == ETIMEDOUT) {
			r = fy_fail(err, FY_ERR_TIMEOUT, "VM %s: another command on it is still running", name);
			break;
		}
	}
	if (r == 0)
		snprintf(d->busy[d->nbusy++], sizeof(d->busy[0]), "%s", name);
	pthread_mutex_unlock(&d->mtx);
	return r;
}

static void
name_unlock(struct qdom *d, const char *name)
{
	int i;

	pthread_mutex_lock(&d->mtx);
	for (i = 0; i < d->nbusy; i++)
		if (strcmp(d->busy[i], name) == 0) {
			memmove(d->busy[i], d->busy[d->nbusy - 1], sizeof(d->busy[0]));
			d->nbusy--;
			break;
		}
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->mtx);
}

static struct qvm *
vm_find_locked(struct qdom *d, const char *name)
{
	struct qvm *v;

	for (v = d->vms; v != NULL; v = v->next)
		if (strcmp(v->name, name) == 0)
			return v;
	return NULL;
}

/* The running VM called name, referenced, or NULL. */
static struct qvm *
vm_get(struct qdom *d, const char *name)
{
	struct qvm *v;

	pthread_mutex_lock(&d->mtx);
	if ((v = vm_find_locked(d, name)) != NULL)
		v->refs++;
	pthread_mutex_unlock(&d->mtx);
	return v;
}

static void
vm_free(struct qvm *v)
{
	if (v == NULL)
		return;
	qmp_close(v->qmp);
	if (v->serial_fd >= 0)
		close(v->serial_fd);
	if (v->log_fd >= 0)
		close(v->log_fd);
	pthread_mutex_destroy(&v->qmp_mtx);
	free(v);
}

static void
vm_put(struct qdom *d, struct qvm *v)
{
	int last;

	if (v == NULL)
		return;
	pthread_mutex_lock(&d->mtx);
	last = --v->refs == 0;
	pthread_mutex_unlock(&d->mtx);
	if (last)
		vm_free(v);
}

static struct qvm *
vm_new(const char *name, const char *dir)
{
	struct qvm *v;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	v->refs = 1;
	v->serial_fd = v->log_fd = -1;
	snprintf(v->name, sizeof(v->name), "%s", name);
	snprintf(v->dir, sizeof(v->dir), "%s", dir);
	pthread_mutex_init(&v->qmp_mtx, NULL);
	return v;
}

/* Wait until the supervisor has seen v's QEMU exit and recorded it. */
static int
vm_wait_gone(struct qdom *d, struct qvm *v, int ms)
{
	struct timespec ts;
	int gone;

	abs_deadline(&ts, ms);
	pthread_mutex_lock(&d->mtx);
	while (!v->gone && pthread_cond_timedwait(&d->cond, &d->mtx, &ts) != ETIMEDOUT)
		;
	gone = v->gone;
	pthread_mutex_unlock(&d->mtx);
	return gone;
}

/* Run a monitor command on a running VM's supervisor connection. */
static int
vm_qmp(struct qdom *d, struct qvm *v, const char *cmd, json_t *args, json_t **ret, int ms,
    struct fy_error *err)
{
	int r;

	pthread_mutex_lock(&d->mtx);
	v->qmp_busy++;
	pthread_mutex_unlock(&d->mtx);
	pthread_mutex_lock(&v->qmp_mtx);
	if (v->qmp == NULL) {
		json_decref(args);
		r = fy_fail(err, FY_ERR_CONNECT, "VM %s: no monitor connection to QEMU (is it exiting?)", v->name);
	} else
		r = qmp_exec(v->qmp, cmd, args, ret, ms, err);
	pthread_mutex_unlock(&v->qmp_mtx);
	pthread_mutex_lock(&d->mtx);
	v->qmp_busy--;
	pthread_mutex_unlock(&d->mtx);
	wake_supervisor(d);	/* events may have been queued meanwhile */
	return r;
}

/* ------------------------------------------------------------------ */
/* Processes, /proc and files.                                         */

/* Start time of pid (clock ticks after boot, field 22 of /proc/PID/stat); -1 if gone or a zombie. */
static int64_t
proc_start_time(int pid)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd, field;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: fields start after the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	for (field = 2; *p != '\0'; p++) {
		if (*p != ' ')
			continue;
		field++;
		if (field == 3 && (p[1] == 'Z' || p[1] == 'X'))
			return -1;	/* exited, waiting to be reaped */
		if (field == 22)
			return strtoll(p + 1, NULL, 10);
	}
	return -1;
}

/* Is pid still the process that started at start_time? */
static int
pid_alive(int pid, int64_t start_time)
{
	int64_t st = proc_start_time(pid);

	return st >= 0 && st == start_time;
}

/* Signal pid only if it is still the process we started. */
static void
pid_signal(int pid, int64_t start_time, int sig)
{
	if (pid_alive(pid, start_time) && kill(pid, sig) != 0 && errno != ESRCH)
		log_warn("kill %d", pid);
}

/*
 * Run a helper program, collecting its stdout and stderr (at most
 * PROG_OUT_MAX bytes) within ms.  *status is its exit status (-1 when it
 * was killed for the time limit).
 */
static int
run_prog(char *const argv[], int ms, struct fy_buf **out, int *status, struct fy_error *err)
{
	posix_spawn_file_actions_t fa;
	struct fy_buf *b = NULL;
	struct pollfd pfd;
	int64_t deadline = fy_mono_ms() + ms;
	char chunk[4096];
	int p[2] = { -1, -1 }, r, st = 0, timed_out = 0;
	pid_t pid;
	ssize_t n;

	*out = NULL;
	*status = -1;
	if ((b = fy_buf_new(PROG_OUT_MAX)) == NULL)
		return fy_fail(err, FY_ERR_NOMEM, "out of memory");
	if (pipe2(p, O_CLOEXEC) != 0) {
		fy_buf_free(b);
		return fy_fail(err, FY_ERR_SYSTEM, "pipe: %s", strerror(errno));
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r != 0) {
		close(p[0]);
		fy_buf_free(b);
		return fy_fail(err, FY_ERR_SYSTEM, "cannot run %s: %s", argv[0], strerror(r));
	}
	for (;;) {
		int left = (int)(deadline - fy_mono_ms());
		if (left <= 0) {
			timed_out = 1;
			break;
		}
		pfd.fd = p[0];
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, left) < 0 && errno != EINTR)
			break;
		if ((n = read(p[0], chunk, sizeof(chunk))) == 0)
			break;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			break;
		}
		if (fy_buf_len(b) + (size_t)n <= PROG_OUT_MAX)
			if (fy_buf_put(b, chunk, (size_t)n) != 0)
				break;
	}
	close(p[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (timed_out) {
		fy_buf_free(b);
		return fy_fail(err, FY_ERR_TIMEOUT, "%s did not finish within %d s", argv[0], ms / 1000);
	}
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	*out = b;
	return 0;
}

/* The last non-empty line of a program's output, for error messages. */
static void
last_line(const struct fy_buf *b, char *out, size_t cap)
{
	const char *s = b ? (const char *)fy_buf_ptr(b) : "";
	size_t n = b ? fy_buf_len(b) : 0, e, st;

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	e = n;
	st = e;
	while (st > 0 && s[st - 1] != '\n')
		st--;
	snprintf(out, cap, "%.*s", (int)(e - st), s + st);
}

/* The last line of a file (qemu.log), at most 4 KiB back. */
static void
file_last_line(const char *path, char *out, size_t cap)
{
	struct fy_buf *b = NULL;
	char buf[4096];
	ssize_t n;
	off_t sz;
	int fd;

	out[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	sz = lseek(fd, 0, SEEK_END);
	if (sz > (off_t)sizeof(buf))
		(void)lseek(fd, sz - (off_t)sizeof(buf), SEEK_SET);
	else
		(void)lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0 || (b = fy_buf_new(sizeof(buf))) == NULL || fy_buf_put(b, buf, (size_t)n) != 0) {
		fy_buf_free(b);
		return;
	}
	last_line(b, out, cap);
	fy_buf_free(b);
}

static int
sha256_file(const char *path, char hex[65], struct fy_error *err, const char *field)
{
	unsigned char md[32], buf[65536];
	unsigned int mdlen = 0;
	EVP_MD_CTX *c = NULL;
	ssize_t n;
	int fd, r = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return fy_fail(err, FY_ERR_NOTFOUND, "%s: %s: %s", field, path, strerror(errno));
	if ((c = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		r = fy_fail(err, FY_ERR_CRYPTO, "%s: cannot hash %s", field, path);
		goto out;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = fy_fail(err, FY_ERR_IO, "%s: read %s: %s", field, path, strerror(errno));
			goto out;
		}
		if (EVP_DigestUpdate(c, buf, (size_t)n) != 1) {
			r = fy_fail(err, FY_ERR_CRYPTO, "%s: cannot hash %s", field, path);
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(c, md, &mdlen) != 1 || mdlen != sizeof(md)) {
		r = fy_fail(err, FY_ERR_CRYPTO, "%s: cannot hash %s", field, path);
		goto out;
	}
	(void)fy_hex_enc(md, sizeof(md), hex, 65);
	lower(hex);
out:
	EVP_MD_CTX_free(c);
	close(fd);
	return r;
}

static int
urandom(void *p, size_t n)
{
	ssize_t got;
	size_t off = 0;
	int fd;

	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) < 0)
		return FY_ERR_SYSTEM;
	while (off < n) {
		if ((got = read(fd, (char *)p + off, n - off)) <= 0) {
			if (got < 0 && errno == EINTR)
				continue;
			close(fd);
			return FY_ERR_SYSTEM;
		}
		off += (size_t)got;
	}
	close(fd);
	return 0;
}

/* QEMU's option syntax: a ',' inside a value is written ",,". */
static void
opt_escape(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (; *in != '\0' && o + 2 < cap; in++) {
		out[o++] = *in;
		if (*in == ',')
			out[o++] = ',';
	}
	out[o] = '\0';
}

/* snprintf for paths: 0, or FY_ERR_LIMIT when out was too small (out is then cut). */
static int pathf(char *out, size_t cap, const char *fmt, ...) FY_PRINTF(3, 4);

static int
pathf(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= cap ? FY_ERR_LIMIT : 0;
}

/* ------------------------------------------------------------------ */
/* Configuration: datastores and networks.                             */

static int
parse_datastores(struct qdom *d, const char *s, struct fy_error *err)
{
	char buf[4096], *item, *save = NULL, *eq;
	int i;

	if (strlen(s) >= sizeof(buf))
		return fy_fail(err, FY_ERR_CONFIG, "qemu_datastores: too long");
	snprintf(buf, sizeof(buf), "%s", s);
	for (item = strtok_r(buf, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
		while (*item == ' ')
			item++;
		if (*item == '\0')
			continue;
		if ((eq = strchr(item, '=')) == NULL)
			return fy_fail(err, FY_ERR_CONFIG, "qemu_datastores: \"%.64s\": expected NAME=DIR", item);
		*eq = '\0';
		while (eq > item && eq[-1] == ' ')
			*--eq = '\0';
		if (!valid_label(item, sizeof(d->ds[0].name) - 1))
			return fy_fail(err, FY_ERR_CONFIG, "qemu_datastores: \"%.64s\": a name is 1-63 printable "
			    "characters without ',', '=', double quotes or backslashes", item);
		if (eq[1] != '/' || strlen(eq + 1) >= sizeof(d->ds[0].dir) - VM_PATH_MAX - 2)
			return fy_fail(err, FY_ERR_CONFIG, "qemu_datastores: %s: the directory must be an "
			    "absolute path", item);
		for (i = 0; i < d->nds; i++)
			if (strcmp(d->ds[i].name, item) == 0)
				return fy_fail(err, FY_ERR_CONFIG, "qemu_datastores: %s named twice", item);
		if (d->nds == MAX_DATASTORES)
			return fy_fail(err, FY_ERR_CONFIG, "qemu_datastores: at most %d", MAX_DATASTORES);
		snprintf(d->ds[d->nds].name, sizeof(d->ds[0].name), "%s", item);
		snprintf(d->ds[d->nds].dir, sizeof(d->ds[0].dir), "%s", eq + 1);
		/* "DIR/" and "DIR" are the same datastore. */
		while (strlen(d->ds[d->nds].dir) > 1 && d->ds[d->nds].dir[strlen(d->ds[d->nds].dir) - 1] == '/')
			d->ds[d->nds].dir[strlen(d->ds[d->nds].dir) - 1] = '\0';
		d->nds++;
	}
	return 0;
}

static int
parse_networks(struct qdom *d, const char *s, struct fy_error *err)
{
	char buf[4096], *item, *save = NULL;
	int i;

	if (strlen(s) >= sizeof(buf))
		return fy_fail(err, FY_ERR_CONFIG, "qemu_networks: too long");
	snprintf(buf, sizeof(buf), "%s", s);
	for (item = strtok_r(buf, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
		while (*item == ' ')
			item++;
		while (*item != '\0' && item[strlen(item) - 1] == ' ')
			item[strlen(item) - 1] = '\0';
		if (*item == '\0')
			continue;
		if (!valid_label(item, sizeof(d->nets[0]) - 1))
			return fy_fail(err, FY_ERR_CONFIG, "qemu_networks: \"%.64s\": a name is 1-63 printable "
			    "characters without ',', '=', double quotes or backslashes", item);
		for (i = 0; i < d->nnets; i++)
			if (strcmp(d->nets[i], item) == 0)
				return fy_fail(err, FY_ERR_CONFIG, "qemu_networks: %s named twice", item);
		if (d->nnets == MAX_NETWORKS)
			return fy_fail(err, FY_ERR_CONFIG, "qemu_networks: at most %d", MAX_NETWORKS);
		snprintf(d->nets[d->nnets++], sizeof(d->nets[0]), "%s", item);
	}
	return 0;
}

static const struct datastore *
find_ds(const struct qdom *d, const char *name)
{
	int i;

	for (i = 0; i < d->nds; i++)
		if (strcmp(d->ds[i].name, name) == 0)
			return &d->ds[i];
	return NULL;
}

static int
find_net(const struct qdom *d, const char *name)
{
	int i;

	for (i = 0; i < d->nnets; i++)
		if (strcmp(d->nets[i], name) == 0)
			return i;
	return -1;
}

static void
vm_dir(const struct qdom *d, const char *name, char *out, size_t cap)
{
	(void)pathf(out, cap, "%s/%s", d->vmroot, name);
}

static int
disk_path(const struct qdom *d, const struct vm_disk *dk, char *out, size_t cap)
{
	const struct datastore *ds = find_ds(d, dk->datastore);

	if (ds == NULL)
		return FY_ERR_NOTFOUND;
	if ((size_t)snprintf(out, cap, "%s/%s", ds->dir, dk->file) >= cap)
		return FY_ERR_LIMIT;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The vms table.                                                      */

struct vmrow {
	struct vm_spec spec;
	char state[16];
	int pid;
	int64_t pid_start, started, created;
	char job[40];
};

static int
db_open(struct qdom *d, struct fy_db **db, struct fy_error *err)
{
	int r;

	if ((r = site_open_db(d->site, db)) != 0)
		return fy_fail(err, r, "database unavailable: %s", fy_strerror(r));
	return 0;
}

static int
prep(struct fy_db *db, const char *sql, sqlite3_stmt **st, struct fy_error *err)
{
	if (sqlite3_prepare_v2(fy_db_handle(db), sql, -1, st, NULL) != SQLITE_OK)
		return fy_fail(err, FY_ERR_DB, "database: %s", sqlite3_errmsg(fy_db_handle(db)));
	return 0;
}

static const char *
col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}

#define ROW_COLS "name, spec, state, pid, pid_start, started, job, created"

static int
row_read(sqlite3_stmt *st, struct vmrow *row, struct fy_error *err)
{
	json_error_t je;
	json_t *j;
	int r;

	memset(row, 0, sizeof(*row));
	if ((j = json_loads(col_text(st, 1), 0, &je)) == NULL)
		return fy_fail(err, FY_ERR_DB, "VM %s: the stored spec is not JSON", col_text(st, 0));
	r = vm_spec_from_json(j, &row->spec, err);
	json_decref(j);
	if (r != 0)
		return fy_fail_prefix(err, FY_ERR_DB, "VM %s: the stored spec is invalid", col_text(st, 0));
	snprintf(row->state, sizeof(row->state), "%s", col_text(st, 2));
	row->pid = sqlite3_column_int(st, 3);
	row->pid_start = sqlite3_column_int64(st, 4);
	row->started = sqlite3_column_int64(st, 5);
	snprintf(row->job, sizeof(row->job), "%s", col_text(st, 6));
	row->created = sqlite3_column_int64(st, 7);
	return 0;
}

static int
row_get(struct fy_db *db, const char *name, struct vmrow *row, struct fy_error *err)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = prep(db, "SELECT " ROW_COLS " FROM vms WHERE name = ?", &st, err)) != 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = row_read(st, row, err);
	else if (rc == SQLITE_DONE)
		r = fy_fail(err, FY_ERR_NOTFOUND, "no VM named %s", name);
	else
		r = fy_fail(err, FY_ERR_DB, "database: %s", sqlite3_errmsg(fy_db_handle(db)));
	sqlite3_finalize(st);
	return r;
}

/* Run one write statement in its own BEGIN IMMEDIATE transaction. */
static int
db_write(struct fy_db *db, sqlite3_stmt *st, int *changes, struct fy_error *err)
{
	int rc, r;

	if ((r = fy_db_begin(db)) != 0) {
		sqlite3_finalize(st);
		return fy_fail(err, r, "database busy");
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		fy_db_rollback(db);
		return fy_fail(err, rc == SQLITE_CONSTRAINT ? FY_ERR_EXISTS : FY_ERR_DB, "database: %s",
		    sqlite3_errmsg(fy_db_handle(db)));
	}
	if (changes != NULL)
		*changes = sqlite3_changes(fy_db_handle(db));
	if ((r = fy_db_commit(db)) != 0) {
		fy_db_rollback(db);
		return fy_fail(err, r, "database: cannot commit");
	}
	return 0;
}

/* Record a state; pid > 0 also records the process, pid == 0 clears it, pid < 0 leaves it. */
static int
row_set_state(struct fy_db *db, const char *name, const char *state, int pid, int64_t pid_start,
    int64_t started, struct fy_error *err)
{
	sqlite3_stmt *st;
	int r;

	if (pid < 0)
		r = prep(db, "UPDATE vms SET state = ?, updated = ? WHERE name = ?", &st, err);
	else
		r = prep(db, "UPDATE vms SET state = ?, updated = ?, pid = ?, pid_start = ?, started = ? "
		    "WHERE name = ?", &st, err);
	if (r != 0)
		return r;
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, fy_now_ms());
	if (pid < 0)
		sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	else {
		if (pid > 0) {
			sqlite3_bind_int(st, 3, pid);
			sqlite3_bind_int64(st, 4, pid_start);
			sqlite3_bind_int64(st, 5, started);
		} else {
			sqlite3_bind_null(st, 3);
			sqlite3_bind_null(st, 4);
			sqlite3_bind_null(st, 5);
		}
		sqlite3_bind_text(st, 6, name, -1, SQLITE_STATIC);
	}
	return db_write(db, st, NULL, err);
}

/* Change the state only if it is still from (the supervisor's transitions). */
static int
row_transition(struct fy_db *db, const char *name, const char *from, const char *to, struct fy_error *err)
{
	sqlite3_stmt *st;
	int r;

	if ((r = prep(db, "UPDATE vms SET state = ?, updated = ? WHERE name = ? AND state = ?", &st, err)) != 0)
		return r;
	sqlite3_bind_text(st, 1, to, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, fy_now_ms());
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, from, -1, SQLITE_STATIC);
	return db_write(db, st, NULL, err);
}

static int
row_delete(struct fy_db *db, const char *name, struct fy_error *err)
{
	sqlite3_stmt *st;
	int r;

	if ((r = prep(db, "DELETE FROM vms WHERE name = ?", &st, err)) != 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	return db_write(db, st, NULL, err);
}

static int
row_insert(struct fy_db *db, const struct vm_spec *sp, const char *state, const char *job,
    struct fy_error *err)
{
	sqlite3_stmt *st;
	json_t *j;
	char *s;
	int64_t now = fy_now_ms();
	int r;

	if ((j = vm_spec_to_json(sp)) == NULL || (s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		json_decref(j);
		return fy_fail(err, FY_ERR_NOMEM, "out of memory");
	}
	json_decref(j);
	if ((r = prep(db, "INSERT INTO vms (name, uuid, spec, state, job, created, updated) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?)", &st, err)) != 0) {
		free(s);
		return r;
	}
	sqlite3_bind_text(st, 1, sp->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sp->uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, s, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, state, -1, SQLITE_STATIC);
	if (job != NULL && job[0] != '\0')
		sqlite3_bind_text(st, 5, job, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
	sqlite3_bind_int64(st, 6, now);
	sqlite3_bind_int64(st, 7, now);
	r = db_write(db, st, NULL, err);
	free(s);
	if (r == FY_ERR_EXISTS)
		fy_fail(err, r, "VM %s or UUID %s was defined meanwhile", sp->name, sp->uuid);
	return r;
}

static enum vm_state
state_of(const char *s)
{
	if (strcmp(s, "running") == 0 || strcmp(s, "stopping") == 0)
		return VM_RUNNING;
	if (strcmp(s, "paused") == 0)
		return VM_PAUSED;
	if (strcmp(s, "incoming") == 0)
		return VM_INCOMING;
	if (strcmp(s, "crashed") == 0)
		return VM_CRASHED;
	return VM_SHUTOFF;
}

static int
row_active(const struct vmrow *row)
{
	return strcmp(row->state, "running") == 0 || strcmp(row->state, "paused") == 0 ||
	    strcmp(row->state, "incoming") == 0 || strcmp(row->state, "stopping") == 0;
}

/*
 * What a new VM may not share with the defined ones: its name, UUID, MAC
 * addresses and disk files.  err names the field and the other VM.
 */
static int
check_conflicts(struct qdom *d, struct fy_db *db, const struct vm_spec *sp, struct fy_error *err)
{
	sqlite3_stmt *st;
	struct vmrow row;
	struct fy_error e2;
	int r, rc, i, k;

	if ((r = prep(db, "SELECT " ROW_COLS ", uuid FROM vms", &st, err)) != 0)
		return r;
	r = 0;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = col_text(st, 0), *uuid = col_text(st, 8);
		if (strcmp(name, sp->name) == 0) {
			r = fy_fail(err, FY_ERR_EXISTS, "name: a VM named %s already exists", sp->name);
			break;
		}
		if (sp->uuid[0] != '\0' && strcmp(uuid, sp->uuid) == 0) {
			r = fy_fail(err, FY_ERR_EXISTS, "uuid: %s is already VM %s's", sp->uuid, name);
			break;
		}
		if (row_read(st, &row, &e2) != 0) {
			log_warnx("%s", e2.msg);
			continue;
		}
		for (i = 0; r == 0 && i < sp->nnics; i++)
			for (k = 0; r == 0 && k < row.spec.nnics; k++)
				if (sp->nics[i].mac[0] != '\0' && strcmp(sp->nics[i].mac, row.spec.nics[k].mac) == 0)
					r = fy_fail(err, FY_ERR_EXISTS, "nics[%d].mac: %s is already used by VM %s",
					    i, sp->nics[i].mac, name);
		for (i = 0; r == 0 && i < sp->ndisks; i++)
			for (k = 0; r == 0 && k < row.spec.ndisks; k++)
				if (strcmp(sp->disks[i].datastore, row.spec.disks[k].datastore) == 0 &&
				    strcmp(sp->disks[i].file, row.spec.disks[k].file) == 0)
					r = fy_fail(err, FY_ERR_EXISTS, "disks[%d].file: %s in datastore %s is "
					    "already VM %s's", i, sp->disks[i].file, sp->disks[i].datastore, name);
	}
	sqlite3_finalize(st);
	(void)d;
	return r;
}

/* ------------------------------------------------------------------ */
/* Checks of a spec against this site.                                 */

/* The VM's sockets must fit a sockaddr_un. */
static int
check_dir_len(const struct qdom *d, const char *name, struct fy_error *err)
{
	char dir[PATH_MAX];

	vm_dir(d, name, dir, sizeof(dir));
	if (strlen(dir) + sizeof("/serial.sock") > sizeof(((struct sockaddr_un *)0)->sun_path))
		return fy_fail(err, FY_ERR_LIMIT, "name: %s makes the VM's socket paths (%s/serial.sock) "
		    "too long for a UNIX socket: use a shorter name or state_dir", name, dir);
	return 0;
}

/*
 * The disk's file must stay inside its datastore even through symbolic
 * links: compare the real path of its directory with the datastore's.
 */
static int
check_contained(const struct datastore *ds, const char *path, const char *field, struct fy_error *err)
{
	char rds[PATH_MAX], rdir[PATH_MAX], dir[PATH_MAX], *slash;
	size_t n;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	if (realpath(ds->dir, rds) == NULL)
		return fy_fail(err, FY_ERR_NOTFOUND, "%s: datastore %s: directory %s: %s", field, ds->name,
		    ds->dir, strerror(errno));
	if (realpath(dir, rdir) == NULL)
		return fy_fail(err, FY_ERR_NOTFOUND, "%s: directory %s does not exist in datastore %s", field,
		    dir, ds->name);
	n = strlen(rds);
	if (strncmp(rdir, rds, n) != 0 || (rdir[n] != '\0' && rdir[n] != '/' && strcmp(rds, "/") != 0))
		return fy_fail(err, FY_ERR_DENIED, "%s: %s leads out of datastore %s", field, path, ds->name);
	return 0;
}

/*
 * At a migration's destination: create the directories a disk's file is
 * in, one at a time, each checked to be inside the datastore before the
 * next is made in it.
 */
static int
make_parents(const struct datastore *ds, const char *file, const char *field, struct fy_error *err)
{
	char path[PATH_MAX], probe[PATH_MAX + 2], *slash;
	int r;

	if (pathf(path, sizeof(path), "%s/%s", ds->dir, file) != 0)
		return fy_fail(err, FY_ERR_LIMIT, "%s: path too long", field);
	for (slash = path + strlen(ds->dir) + 1; (slash = strchr(slash, '/')) != NULL; slash++) {
		*slash = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return fy_fail(err, FY_ERR_IO, "%s: cannot create %s: %s", field, path, strerror(errno));
		(void)pathf(probe, sizeof(probe), "%s/x", path);	/* check_contained checks a file's directory */
		if ((r = check_contained(ds, probe, field, err)) != 0)
			return r;
		*slash = '/';
	}
	return 0;
}

/* Names, boot image and disks against this site's configuration; no writes. */
static int
check_site(struct qdom *d, struct vm_spec *sp, int want_hash, struct fy_error *err)
{
	char path[PATH_MAX], field[48], hex[65];
	const struct datastore *ds;
	struct stat sb;
	int i, r;

	if ((r = check_dir_len(d, sp->name, err)) != 0)
		return r;
	for (i = 0; i < sp->nnics; i++)
		if (find_net(d, sp->nics[i].network) < 0)
			return fy_fail(err, FY_ERR_NOTFOUND, "nics[%d].network: no network %s at this site "
			    "(qemu_networks: %s)", i, sp->nics[i].network,
			    d->site->conf.qemu_networks[0] ? d->site->conf.qemu_networks : "none");
	for (i = 0; i < sp->ndisks; i++) {
		snprintf(field, sizeof(field), "disks[%d].datastore", i);
		if ((ds = find_ds(d, sp->disks[i].datastore)) == NULL)
			return fy_fail(err, FY_ERR_NOTFOUND, "%s: no datastore %s at this site "
			    "(qemu_datastores: %s)", field, sp->disks[i].datastore,
			    d->site->conf.qemu_datastores[0] ? d->site->conf.qemu_datastores : "none");
		if (stat(ds->dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
			return fy_fail(err, FY_ERR_NOTFOUND, "%s: datastore %s: directory %s does not exist",
			    field, ds->name, ds->dir);
		if (disk_path(d, &sp->disks[i], path, sizeof(path)) != 0)
			return fy_fail(err, FY_ERR_LIMIT, "disks[%d].file: path too long", i);
		snprintf(field, sizeof(field), "disks[%d].file", i);
		if ((r = check_contained(ds, path, field, err)) != 0)
			return r;
	}
	if (sp->boot[0] != '\0') {
		if (stat(sp->boot, &sb) != 0)
			return fy_fail(err, FY_ERR_NOTFOUND, "boot: %s: %s", sp->boot, strerror(errno));
		if (!S_ISREG(sb.st_mode) || access(sp->boot, R_OK) != 0)
			return fy_fail(err, FY_ERR_INVAL, "boot: %s: not a readable file", sp->boot);
		if (sb.st_size == 0 || sb.st_size % 512 != 0)
			return fy_fail(err, FY_ERR_INVAL, "boot: %s: %lld bytes is not a whole number of 512-byte "
			    "sectors", sp->boot, (long long)sb.st_size);
		if (want_hash) {
			if ((r = sha256_file(sp->boot, hex, err, "boot")) != 0)
				return r;
			if (sp->boot_sha256[0] != '\0' && strcmp(hex, sp->boot_sha256) != 0)
				return fy_fail(err, FY_ERR_CHECKSUM, "boot_sha256: %s here has SHA-256 %.16s..., the "
				    "spec says %.16s...", sp->boot, hex, sp->boot_sha256);
			snprintf(sp->boot_sha256, sizeof(sp->boot_sha256), "%s", hex);
		}
	}
	return 0;
}

/* Fill the UUID and MACs a spec left out. */
static int
fill_generated(struct vm_spec *sp, struct fy_error *err)
{
	uint8_t u[16], m[3];
	int i;

	if (sp->uuid[0] == '\0') {
		if (urandom(u, sizeof(u)) != 0)
			return fy_fail(err, FY_ERR_SYSTEM, "cannot read /dev/urandom");
		u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);	/* version 4 */
		u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
		snprintf(sp->uuid, sizeof(sp->uuid), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		    "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		    u[10], u[11], u[12], u[13], u[14], u[15]);
	}
	for (i = 0; i < sp->nnics; i++) {
		if (sp->nics[i].mac[0] != '\0')
			continue;
		if (urandom(m, sizeof(m)) != 0)
			return fy_fail(err, FY_ERR_SYSTEM, "cannot read /dev/urandom");
		snprintf(sp->nics[i].mac, sizeof(sp->nics[i].mac), "52:54:00:%02x:%02x:%02x", m[0], m[1], m[2]);
	}
	return 0;
}

/* qemu-img info: format and virtual size of an existing image. */
static int
disk_info(struct qdom *d, const char *path, int i, char *format, size_t fcap, uint64_t *size,
    struct fy_error *err)
{
	char *argv[] = { d->site->conf.qemu_img, "info", "--output=json", (char *)path, NULL };
	struct fy_buf *out = NULL;
	json_error_t je;
	json_t *j = NULL;
	char msg[256];
	int st, r;

	if ((r = run_prog(argv, QEMU_IMG_MS, &out, &st, err)) != 0)
		return fy_fail_prefix(err, r, "disks[%d].file", i);
	if (st != 0) {
		last_line(out, msg, sizeof(msg));
		r = fy_fail(err, FY_ERR_IO, "disks[%d].file: qemu-img info %s: %s", i, path, msg);
		goto out;
	}
	if ((j = json_loadb((const char *)fy_buf_ptr(out), fy_buf_len(out), 0, &je)) == NULL ||
	    !json_is_string(json_object_get(j, "format")) ||
	    !json_is_integer(json_object_get(j, "virtual-size"))) {
		r = fy_fail(err, FY_ERR_FORMAT, "disks[%d].file: cannot read qemu-img info of %s", i, path);
		goto out;
	}
	if (json_object_get(j, "backing-filename") != NULL) {
		r = fy_fail(err, FY_ERR_INVAL, "disks[%d].file: %s has a backing file (%.100s); use a "
		    "standalone image", i, path, json_string_value(json_object_get(j, "backing-filename")));
		goto out;
	}
	snprintf(format, fcap, "%s", json_string_value(json_object_get(j, "format")));
	*size = (uint64_t)json_integer_value(json_object_get(j, "virtual-size"));
	r = 0;
out:
	json_decref(j);
	fy_buf_free(out);
	return r;
}

static int
disk_create(struct qdom *d, const char *path, const struct vm_disk *dk, int i, struct fy_error *err)
{
	char size[32], msg[256];
	char *argv[] = { d->site->conf.qemu_img, "create", "-q", "-f", (char *)dk->format, (char *)path,
	    size, NULL };
	struct fy_buf *out = NULL;
	int st, r;

	snprintf(size, sizeof(size), "%llu", (unsigned long long)dk->size);
	if ((r = run_prog(argv, QEMU_IMG_MS, &out, &st, err)) != 0)
		return fy_fail_prefix(err, r, "disks[%d]", i);
	if (st != 0) {
		last_line(out, msg, sizeof(msg));
		fy_buf_free(out);
		(void)unlink(path);
		return fy_fail(err, FY_ERR_IO, "disks[%d]: qemu-img create %s: %s", i, path, msg);
	}
	fy_buf_free(out);
	return 0;
}

/*
 * Existing disk files: take their format and size (a format or size given
 * must agree).  Missing ones: created when create is set (the size is then
 * required), an error otherwise.  created[i] tells which files were made.
 */
static int
prepare_disks(struct qdom *d, struct vm_spec *sp, int may_exist, int created[VM_MAX_DISKS],
    struct fy_error *err)
{
	char path[PATH_MAX], fmt[16];
	struct vm_disk *dk;
	struct stat sb;
	uint64_t size;
	int i, r;

	memset(created, 0, sizeof(int) * VM_MAX_DISKS);
	for (i = 0; i < sp->ndisks; i++) {
		dk = &sp->disks[i];
		if (disk_path(d, dk, path, sizeof(path)) != 0)
			return fy_fail(err, FY_ERR_LIMIT, "disks[%d].file: path too long", i);
		if (lstat(path, &sb) == 0) {
			if (!may_exist)
				return fy_fail(err, FY_ERR_EXISTS, "disks[%d].file: %s already exists in datastore %s",
				    i, dk->file, dk->datastore);
			if (!S_ISREG(sb.st_mode))
				return fy_fail(err, FY_ERR_INVAL, "disks[%d].file: %s is not a regular file", i, path);
			if ((r = disk_info(d, path, i, fmt, sizeof(fmt), &size, err)) != 0)
				return r;
			if (strcmp(fmt, "raw") != 0 && strcmp(fmt, "qcow2") != 0)
				return fy_fail(err, FY_ERR_INVAL, "disks[%d].format: %s is %s; Ferry takes raw or qcow2",
				    i, path, fmt);
			if (dk->format[0] != '\0' && strcmp(dk->format, fmt) != 0)
				return fy_fail(err, FY_ERR_INVAL, "disks[%d].format: %s is %s, not %s", i, path, fmt,
				    dk->format);
			if (dk->size != 0 && dk->size != size)
				return fy_fail(err, FY_ERR_INVAL, "disks[%d].size: %s holds %llu bytes, not %llu", i,
				    path, (unsigned long long)size, (unsigned long long)dk->size);
			if (size > (uint64_t)VM_DISK_MAX)
				return fy_fail(err, FY_ERR_INVAL, "disks[%d].size: %s holds %llu bytes, more than the "
				    "64 TiB Ferry takes", i, path, (unsigned long long)size);
			memcpy(dk->format, fmt, strlen(fmt) + 1);	/* "raw" or "qcow2" */
			dk->size = size;
			continue;
		}
		if (errno != ENOENT)
			return fy_fail(err, FY_ERR_IO, "disks[%d].file: %s: %s", i, path, strerror(errno));
		if (dk->size == 0)
			return fy_fail(err, FY_ERR_INVAL, "disks[%d].size: %s does not exist: give a size to create it",
			    i, path);
	}
	/* Nothing refused: now create what is missing. */
	for (i = 0; i < sp->ndisks; i++) {
		dk = &sp->disks[i];
		(void)disk_path(d, dk, path, sizeof(path));
		if (access(path, F_OK) == 0)
			continue;
		if (dk->format[0] == '\0')
			snprintf(dk->format, sizeof(dk->format), "raw");
		if ((r = disk_create(d, path, dk, i, err)) != 0)
			goto fail;
		created[i] = 1;
		if ((r = disk_info(d, path, i, dk->format, sizeof(dk->format), &size, err)) != 0)
			goto fail;
		dk->size = size;
	}
	return 0;
fail:
	for (i = 0; i < sp->ndisks; i++)
		if (created[i] && disk_path(d, &sp->disks[i], path, sizeof(path)) == 0)
			(void)unlink(path);
	memset(created, 0, sizeof(int) * VM_MAX_DISKS);
	return r;
}

static void
delete_disks(struct qdom *d, const struct vm_spec *sp, const int *which)
{
	char path[PATH_MAX];
	int i;

	for (i = 0; i < sp->ndisks; i++) {
		if (which != NULL && !which[i])
			continue;
		if (disk_path(d, &sp->disks[i], path, sizeof(path)) != 0)
			continue;
		if (unlink(path) != 0 && errno != ENOENT)
			log_warn("VM %s: cannot delete disk %s", sp->name, path);
		else
			log_info("VM %s: deleted disk %s", sp->name, path);
	}
}

/* Remove STATE/vms/NAME and what it holds (one level: ferryd makes no subdirectories). */
static void
remove_vm_dir(struct qdom *d, const char *name)
{
	char dir[PATH_MAX], p[PATH_MAX + 300];
	struct dirent *de;
	DIR *dp;

	vm_dir(d, name, dir, sizeof(dir));
	if ((dp = opendir(dir)) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (unlink(p) != 0)
			log_warn("cannot remove %s", p);
	}
	closedir(dp);
	if (rmdir(dir) != 0)
		log_warn("cannot remove %s", dir);
}

/* ------------------------------------------------------------------ */
/* Launching QEMU.                                                     */

struct argv {
	char *v[192];
	int n, oom;
};

static void av_add(struct argv *, const char *, ...) FY_PRINTF(2, 3);

static void
av_add(struct argv *a, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *s;

	if (a->oom || a->n + 1 >= (int)(sizeof(a->v) / sizeof(a->v[0]))) {
		a->oom = 1;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL) {
		a->oom = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void
av_free(struct argv *a)
{
	int i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	a->n = 0;
}

/* The command line; identical on both sides of a migration for the same spec. */
static int
build_argv(struct qdom *d, const struct vm_spec *sp, const char *dir, int incoming, struct argv *a,
    struct fy_error *err)
{
	char e1[2 * PATH_MAX], e2[2 * PATH_MAX];
	int i;

	memset(a, 0, sizeof(*a));
	opt_escape(dir, e1, sizeof(e1));
	av_add(a, "%s", d->site->conf.qemu_binary);
	av_add(a, "-name");
	av_add(a, "guest=%s", sp->name);
	av_add(a, "-uuid");
	av_add(a, "%s", sp->uuid);
	av_add(a, "-no-user-config");
	av_add(a, "-nodefaults");
	av_add(a, "-display");
	av_add(a, "none");
	av_add(a, "-vga");
	av_add(a, "none");
	av_add(a, "-machine");
	av_add(a, "%s", sp->machine);
	if (strcmp(sp->accel, "kvm") == 0) {
		/* KVM when the host has it, TCG otherwise. */
		av_add(a, "-accel");
		av_add(a, "kvm");
	}
	av_add(a, "-accel");
	av_add(a, "tcg");
	av_add(a, "-m");
	av_add(a, "%llu", (unsigned long long)sp->memory_mib);
	av_add(a, "-smp");
	av_add(a, "%d", sp->vcpus);
	av_add(a, "-msg");
	av_add(a, "timestamp=on");
	av_add(a, "-sandbox");
	av_add(a, "on,obsolete=deny,elevateprivileges=deny,spawn=deny");
	av_add(a, "-pidfile");
	av_add(a, "%s/qemu.pid", dir);
	av_add(a, "-chardev");
	av_add(a, "socket,id=qmp,path=%s/qmp.sock,server=on,wait=off", e1);
	av_add(a, "-mon");
	av_add(a, "chardev=qmp,mode=control");
	av_add(a, "-chardev");
	av_add(a, "socket,id=qmp-job,path=%s/job.sock,server=on,wait=off", e1);
	av_add(a, "-mon");
	av_add(a, "chardev=qmp-job,mode=control");
	av_add(a, "-chardev");
	av_add(a, "socket,id=serial0,path=%s/serial.sock,server=on,wait=off", e1);
	av_add(a, "-serial");
	av_add(a, "chardev:serial0");
	if (sp->boot[0] != '\0') {
		opt_escape(sp->boot, e2, sizeof(e2));
		av_add(a, "-drive");
		av_add(a, "file=%s,format=raw,if=none,id=boot,snapshot=on", e2);
		av_add(a, "-device");
		av_add(a, "ide-hd,drive=boot,bus=ide.0,unit=0,bootindex=0,id=dev-boot");
	}
	for (i = 0; i < sp->ndisks; i++) {
		char path[PATH_MAX];
		if (disk_path(d, &sp->disks[i], path, sizeof(path)) != 0)
			return fy_fail(err, FY_ERR_NOTFOUND, "disks[%d].datastore: no datastore %s at this site", i,
			    sp->disks[i].datastore);
		opt_escape(path, e2, sizeof(e2));
		av_add(a, "-drive");
		av_add(a, "file=%s,format=%s,if=none,id=%s,node-name=fmt-%s,cache=writeback", e2,
		    sp->disks[i].format, sp->disks[i].id, sp->disks[i].id);
		av_add(a, "-device");
		av_add(a, "virtio-blk-pci,drive=%s,id=dev-%s,bootindex=%d", sp->disks[i].id, sp->disks[i].id, i + 1);
	}
	for (i = 0; i < sp->nnics; i++) {
		int hub = find_net(d, sp->nics[i].network);
		if (hub < 0)
			return fy_fail(err, FY_ERR_NOTFOUND, "nics[%d].network: no network %s at this site", i,
			    sp->nics[i].network);
		av_add(a, "-netdev");
		av_add(a, "hubport,id=net%d,hubid=%d", i, hub);
		av_add(a, "-device");
		av_add(a, "e1000,netdev=net%d,mac=%s,id=nic%d,romfile=", i, sp->nics[i].mac, i);
	}
	if (incoming) {
		av_add(a, "-S");
		av_add(a, "-incoming");
		av_add(a, "defer");
	}
	if (a->oom) {
		av_free(a);
		return fy_fail(err, FY_ERR_NOMEM, "out of memory");
	}
	return 0;
}

/* Our environment with TMPDIR set to the VM's directory (snapshot=on keeps its overlay there). */
static char **
build_env(const char *dir)
{
	size_t n = 0, i, k = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	if ((env = calloc(n + 2, sizeof(*env))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "TMPDIR=", 7) != 0)
			env[k++] = environ[i];
	if ((env[k] = malloc(strlen(dir) + 8)) == NULL) {
		free(env);
		return NULL;
	}
	memcpy(env[k], "TMPDIR=", 7);
	memcpy(env[k] + 7, dir, strlen(dir) + 1);
	return env;
}

static void
free_env(char **env)
{
	size_t n = 0;

	if (env == NULL)
		return;
	while (env[n] != NULL)
		n++;
	if (n > 0)
		free(env[n - 1]);
	free(env);
}

static void
rotate(const char *dir, const char *name, const char *old)
{
	char a[PATH_MAX], b[PATH_MAX];

	(void)pathf(a, sizeof(a), "%s/%s", dir, name);
	if (old != NULL) {
		(void)pathf(b, sizeof(b), "%s/%s", dir, old);
		if (rename(a, b) == 0 || errno == ENOENT)
			return;
	}
	(void)unlink(a);
}

/* Read exactly n bytes from fd within ms; 0, or -1 on EOF, error or time. */
static int
read_full(int fd, void *p, size_t n, int ms)
{
	int64_t deadline = fy_mono_ms() + ms;
	struct pollfd pfd;
	size_t off = 0;
	ssize_t got;

	while (off < n) {
		int left = (int)(deadline - fy_mono_ms());
		if (left <= 0)
			return -1;
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, left) <= 0)
			continue;
		if ((got = read(fd, (char *)p + off, n - off)) == 0)
			return -1;
		if (got < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		off += (size_t)got;
	}
	return 0;
}

/*
 * Start QEMU detached (fork, setsid, fork: it is not our child and lives
 * on when ferryd stops), its stderr in qemu.log, and wait until the
 * supervisor monitor answers.  *qp is that connection.
 */
static int
launch(struct qdom *d, const struct vm_spec *sp, int incoming, int *pidp, int64_t *startp,
    struct qmp **qp, struct fy_error *err)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], why[256];
	struct argv a;
	char **env = NULL;
	int p[2] = { -1, -1 }, logfd = -1, nullfd = -1, st, r, e;
	int32_t msg;
	long maxfd;
	pid_t c1, pid = -1;
	int64_t start = -1, deadline, t_launch = fy_mono_ms(), t_exec;
	int nap = 5;
	struct fy_error qe;

	*pidp = 0;
	*startp = 0;
	*qp = NULL;
	memset(&a, 0, sizeof(a));
	vm_dir(d, sp->name, dir, sizeof(dir));
	if (access(d->site->conf.qemu_binary, X_OK) != 0)
		return fy_fail(err, FY_ERR_CONFIG, "qemu_binary %s: %s", d->site->conf.qemu_binary, strerror(errno));
	if (fy_mkdir_p(dir, 0700) != 0 || chmod(dir, 0700) != 0)
		return fy_fail(err, FY_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
	rotate(dir, "qmp.sock", NULL);
	rotate(dir, "job.sock", NULL);
	rotate(dir, "serial.sock", NULL);
	rotate(dir, "mig.sock", NULL);
	rotate(dir, "nbd.sock", NULL);
	rotate(dir, "qemu.pid", NULL);
	rotate(dir, "serial.log.1", NULL);
	rotate(dir, "serial.meta", NULL);
	rotate(dir, "serial.log", "serial.log.old");
	rotate(dir, "qemu.log", "qemu.log.old");
	if ((r = build_argv(d, sp, dir, incoming, &a, err)) != 0)
		return r;
	snprintf(path, sizeof(path), "%s/qemu.log", dir);
	if ((logfd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
	    (nullfd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 || (env = build_env(dir)) == NULL ||
	    pipe2(p, O_CLOEXEC) != 0) {
		r = fy_fail(err, FY_ERR_SYSTEM, "VM %s: cannot prepare the launch: %s", sp->name, strerror(errno));
		goto out;
	}
	{
		char *line = NULL;
		size_t len = 0;
		int i;
		for (i = 0; i < a.n; i++)
			len += strlen(a.v[i]) + 1;
		if ((line = malloc(len + 1)) != NULL) {
			line[0] = '\0';
			for (i = 0, len = 0; i < a.n; i++) {
				memcpy(line + len, a.v[i], strlen(a.v[i]));
				len += strlen(a.v[i]);
				line[len++] = i + 1 < a.n ? ' ' : '\0';
			}
			log_info("VM %s: %s", sp->name, line);
			free(line);
		}
	}
	maxfd = sysconf(_SC_OPEN_MAX);
	if (maxfd < 0 || maxfd > 65536)
		maxfd = 65536;
	/* Between fork and exec only async-signal-safe calls: ferryd has threads. */
	if ((c1 = fork()) < 0) {
		r = fy_fail(err, FY_ERR_SYSTEM, "fork: %s", strerror(errno));
		goto out;
	}
	if (c1 == 0) {
		pid_t c2;
		if (setsid() < 0 || (c2 = fork()) < 0) {
			msg = -errno;
			(void)!write(p[1], &msg, sizeof(msg));
			_exit(1);
		}
		if (c2 > 0) {
			msg = (int32_t)c2;
			(void)!write(p[1], &msg, sizeof(msg));
			_exit(0);
		}
		{
			struct sigaction sa;
			sigset_t none;
			int fd, sig;
			/* ferryd ignores SIGPIPE; QEMU gets the defaults and no blocked signals. */
			memset(&sa, 0, sizeof(sa));
			sa.sa_handler = SIG_DFL;
			sigemptyset(&sa.sa_mask);
			for (sig = 1; sig < NSIG; sig++)
				(void)sigaction(sig, &sa, NULL);
			sigemptyset(&none);
			(void)sigprocmask(SIG_SETMASK, &none, NULL);
			if (dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0 ||
			    dup2(p[1], 3) < 0 || fcntl(3, F_SETFD, FD_CLOEXEC) < 0)
				_exit(126);
			if (syscall(SYS_close_range, 4U, ~0U, 0U) != 0)
				for (fd = 4; fd < maxfd; fd++)
					(void)close(fd);
			if (chdir("/") != 0)
				_exit(126);
			execve(a.v[0], a.v, env);
			msg = errno;
			(void)!write(3, &msg, sizeof(msg));
			_exit(127);
		}
	}
	close(p[1]);
	p[1] = -1;
	while (waitpid(c1, &st, 0) < 0 && errno == EINTR)
		;
	if (read_full(p[0], &msg, sizeof(msg), 5000) != 0 || msg <= 0) {
		r = fy_fail(err, FY_ERR_SYSTEM, "VM %s: cannot start QEMU: %s", sp->name,
		    msg < 0 ? strerror(-msg) : "the launcher failed");
		goto out;
	}
	pid = msg;
	/* EOF: the exec happened (the pipe is close-on-exec); four bytes: its errno. */
	if (read_full(p[0], &msg, sizeof(msg), 5000) == 0) {
		r = fy_fail(err, FY_ERR_SYSTEM, "VM %s: cannot run %s: %s", sp->name, a.v[0], strerror(msg));
		pid = -1;
		goto out;
	}
	start = proc_start_time(pid);
	t_exec = fy_mono_ms();
	/* Wait for the monitor; QEMU removes nothing it fails on, its log says why. */
	deadline = fy_mono_ms() + QEMU_START_MS;
	snprintf(path, sizeof(path), "%s/qmp.sock", dir);
	for (;;) {
		memset(&qe, 0, sizeof(qe));
		if (start < 0 || !pid_alive(pid, start)) {
			snprintf(path, sizeof(path), "%s/qemu.log", dir);
			/* Give QEMU's last words a moment to land. */
			usleep(50 * 1000);
			file_last_line(path, why, sizeof(why));
			r = fy_fail(err, FY_ERR_SYSTEM, "VM %s: QEMU exited at start: %s", sp->name,
			    why[0] ? why : "(nothing in qemu.log)");
			pid = -1;
			goto out;
		}
		if ((e = qmp_open(path, 2000, qp, &qe)) == 0) {
			log_debug("VM %s: QEMU pid %d running %lld ms after the launch began, its monitor %lld ms later",
			    sp->name, (int)pid, (long long)(t_exec - t_launch), (long long)(fy_mono_ms() - t_exec));
			break;
		}
		if (fy_mono_ms() >= deadline) {
			r = fy_fail(err, FY_ERR_TIMEOUT, "VM %s: QEMU's monitor did not answer within %d s: %s",
			    sp->name, QEMU_START_MS / 1000, qe.msg);
			goto out;
		}
		/* QEMU listens some 50-100 ms after exec: look often at first, then every 50 ms. */
		usleep((useconds_t)nap * 1000);
		if (nap < 50)
			nap = nap * 3 / 2 + 1;
	}
	*pidp = pid;
	*startp = start;
	pid = -1;
	r = 0;
out:
	if (pid > 0) {
		pid_signal(pid, start, SIGKILL);
		log_warnx("VM %s: killed QEMU pid %d after a failed start", sp->name, (int)pid);
	}
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	if (logfd >= 0)
		close(logfd);
	if (nullfd >= 0)
		close(nullfd);
	free_env(env);
	av_free(&a);
	return r;
}

/* Kill a QEMU we could not hand to the supervisor, and wait (bounded) until it is gone. */
static void
kill_wait(int pid, int64_t start)
{
	int i;

	pid_signal(pid, start, SIGKILL);
	for (i = 0; i < 100 && pid_alive(pid, start); i++)
		usleep(20 * 1000);
}

/* ------------------------------------------------------------------ */
/* The serial console.                                                 */

static void
serial_open_log(struct qvm *v)
{
	char path[PATH_MAX + 16];
	struct stat sb;

	if (v->log_fd >= 0)
		return;
	snprintf(path, sizeof(path), "%s/serial.log", v->dir);
	if ((v->log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		log_warn("VM %s: %s", v->name, path);
		return;
	}
	v->log_size = fstat(v->log_fd, &sb) == 0 ? sb.st_size : 0;
}

static void
serial_connect(struct qvm *v)
{
	struct sockaddr_un sun;
	int fd;

	if (v->serial_fd >= 0)
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/serial.sock", v->dir) >= sizeof(sun.sun_path))
		return;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		log_debug("VM %s: serial console: %s", v->name, strerror(errno));
		close(fd);
		return;
	}
	v->serial_fd = fd;
	serial_open_log(v);
	log_debug("VM %s: serial console connected", v->name);
}

/* serial.log reached its cap: keep one previous file, and the counts so far in serial.meta. */
static void
serial_rotate(struct qdom *d, struct qvm *v)
{
	char a[PATH_MAX + 16], b[PATH_MAX + 16], meta[64];
	int64_t first;
	uint64_t lines;
	int n;

	pthread_mutex_lock(&d->mtx);
	first = v->serial_first_ms;
	lines = v->serial_lines;
	pthread_mutex_unlock(&d->mtx);
	snprintf(a, sizeof(a), "%s/serial.meta", v->dir);
	n = snprintf(meta, sizeof(meta), "%lld %llu\n", (long long)first, (unsigned long long)lines);
	if (fy_write_file_atomic(a, meta, (size_t)n, 0600) != 0)
		log_warnx("VM %s: cannot write %s", v->name, a);
	snprintf(a, sizeof(a), "%s/serial.log", v->dir);
	snprintf(b, sizeof(b), "%s/serial.log.1", v->dir);
	close(v->log_fd);
	v->log_fd = -1;
	if (rename(a, b) != 0)
		log_warn("VM %s: rename %s", v->name, a);
	serial_open_log(v);
}

static void
serial_emit(struct qdom *d, struct qvm *v, int64_t now)
{
	char out[SERIAL_LINE_MAX + 32];
	int n;

	n = snprintf(out, sizeof(out), "%lld %.*s\n", (long long)now, (int)v->line_len, v->line);
	v->line_len = 0;
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(out))
		n = (int)sizeof(out) - 1;
	if (v->log_fd >= 0) {
		if (write(v->log_fd, out, (size_t)n) != n)
			log_warn("VM %s: serial.log", v->name);
		else
			v->log_size += n;
	}
	pthread_mutex_lock(&d->mtx);
	if (v->serial_first_ms == 0)
		v->serial_first_ms = now;
	v->serial_last_ms = now;
	v->serial_lines++;
	pthread_mutex_unlock(&d->mtx);
	if (v->log_size > SERIAL_LOG_MAX)
		serial_rotate(d, v);
}

/* Split guest output into lines: CR dropped, other bytes outside printable ASCII shown as '.', long lines split. */
static void
serial_feed(struct qdom *d, struct qvm *v, const unsigned char *b, size_t n, int64_t now)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (b[i] == '\n') {
			serial_emit(d, v, now);
			continue;
		}
		if (b[i] == '\r')
			continue;
		if (v->line_len == SERIAL_LINE_MAX)
			serial_emit(d, v, now);
		v->line[v->line_len++] = (char)(b[i] < 0x20 || b[i] >= 0x7f ? '.' : b[i]);
	}
}

/* Read what the console has; on EOF or error close it (0 = still open). */
static int
serial_read(struct qdom *d, struct qvm *v)
{
	unsigned char buf[4096];
	ssize_t n;
	int i;

	for (i = 0; i < 64; i++) {
		if ((n = read(v->serial_fd, buf, sizeof(buf))) > 0) {
			serial_feed(d, v, buf, (size_t)n, fy_now_ms());
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		close(v->serial_fd);
		v->serial_fd = -1;
		log_debug("VM %s: serial console closed", v->name);
		return -1;
	}
	return 0;
}

/* After a ferryd restart: the counters from serial.meta and serial.log. */
static void
serial_recount(struct qvm *v)
{
	char path[PATH_MAX + 16];
	struct fy_buf *b = NULL;
	const char *s, *e, *line;
	long long first = 0, last = 0, base_first = 0;
	unsigned long long lines = 0, base_lines = 0;
	size_t n;

	snprintf(path, sizeof(path), "%s/serial.meta", v->dir);
	if (fy_read_file(path, 128, &b) == 0) {
		char tmp[128];
		snprintf(tmp, sizeof(tmp), "%.*s", (int)fy_buf_len(b), (const char *)fy_buf_ptr(b));
		if (sscanf(tmp, "%lld %llu", &base_first, &base_lines) != 2)
			base_first = 0, base_lines = 0;
		fy_buf_free(b);
		b = NULL;
	}
	snprintf(path, sizeof(path), "%s/serial.log", v->dir);
	if (fy_read_file(path, SERIAL_LOG_MAX + 2 * SERIAL_LINE_MAX + 64, &b) == 0) {
		s = (const char *)fy_buf_ptr(b);
		n = fy_buf_len(b);
		for (line = s; line < s + n; line = e + 1) {
			if ((e = memchr(line, '\n', (size_t)(s + n - line))) == NULL)
				break;
			last = strtoll(line, NULL, 10);
			if (first == 0)
				first = last;
			lines++;
		}
		fy_buf_free(b);
	}
	v->serial_first_ms = base_first ? base_first : first;
	v->serial_last_ms = last ? last : base_first;
	v->serial_lines = base_lines + lines;
}

/* ------------------------------------------------------------------ */
/* Supervision.                                                        */

static void
vm_add(struct qdom *d, struct qvm *v)
{
	pthread_mutex_lock(&d->mtx);
	v->next = d->vms;
	d->vms = v;
	pthread_mutex_unlock(&d->mtx);
	wake_supervisor(d);
}

static void
handle_event(struct qdom *d, struct qvm *v, json_t *ev)
{
	const char *name = json_string_value(json_object_get(ev, "event"));
	json_t *data = json_object_get(ev, "data");
	struct fy_db *db = NULL;
	struct fy_error e = { 0, "" };
	const char *from = NULL, *to = NULL;

	if (name == NULL)
		return;
	if (strcmp(name, "SHUTDOWN") == 0) {
		pthread_mutex_lock(&d->mtx);
		v->guest_shutdown = json_is_true(json_object_get(data, "guest"));
		snprintf(v->shutdown_reason, sizeof(v->shutdown_reason), "%s",
		    json_string_value(json_object_get(data, "reason")) ?: "");
		pthread_mutex_unlock(&d->mtx);
		log_info("VM %s: QEMU shutting down (%s)", v->name, v->shutdown_reason);
		return;
	}
	if (strcmp(name, "STOP") == 0)
		from = "running", to = "paused";
	else if (strcmp(name, "RESUME") == 0)
		from = "paused", to = "running";
	else if (strcmp(name, "GUEST_PANICKED") == 0)
		log_warnx("VM %s: the guest panicked", v->name);
	else
		log_debug("VM %s: event %s", v->name, name);
	if (to == NULL)
		return;
	if (db_open(d, &db, &e) != 0 || row_transition(db, v->name, from, to, &e) != 0)
		log_warnx("VM %s: cannot record %s: %s", v->name, to, e.msg);
	fy_db_close(db);
}

/* Take the events the monitor has (or an operation queued); a closed monitor is dropped. */
static void
drain_events(struct qdom *d, struct qvm *v)
{
	struct fy_error e;
	json_t *ev;
	int r;

	if (pthread_mutex_trylock(&v->qmp_mtx) != 0)
		return;
	while (v->qmp != NULL) {
		memset(&e, 0, sizeof(e));
		if ((r = qmp_event(v->qmp, &ev, 0, &e)) == 0) {
			handle_event(d, v, ev);
			json_decref(ev);
			continue;
		}
		if (r == FY_ERR_TIMEOUT)
			break;
		log_debug("VM %s: monitor lost: %s", v->name, e.msg);
		qmp_close(v->qmp);
		v->qmp = NULL;
		v->lost_ms = fy_mono_ms();
		v->retry_ms = v->lost_ms + 1000;
	}
	pthread_mutex_unlock(&v->qmp_mtx);
}

/* QEMU exited: record how, and take the VM off the list. */
static int
finalize(struct qdom *d, struct qvm *v)
{
	struct fy_db *db = NULL;
	struct fy_error e = { 0, "" };
	sqlite3_stmt *st = NULL;
	const char *state;
	char reason[32];
	int stopping, guest, r;

	if (v->serial_fd >= 0)
		while (serial_read(d, v) == 0 && v->serial_fd >= 0) {
			struct pollfd pfd = { .fd = v->serial_fd, .events = POLLIN, .revents = 0 };
			if (poll(&pfd, 1, 0) <= 0)
				break;
		}
	if (v->line_len > 0)
		serial_emit(d, v, fy_now_ms());
	pthread_mutex_lock(&d->mtx);
	stopping = v->stopping;
	guest = v->guest_shutdown;
	snprintf(reason, sizeof(reason), "%s", v->shutdown_reason);
	pthread_mutex_unlock(&d->mtx);
	state = stopping || guest ? "shutoff" : "crashed";
	/* An unfinished incoming VM stays "incoming" (without a process) until its job aborts it. */
	if ((r = db_open(d, &db, &e)) == 0 &&
	    (r = prep(db, "UPDATE vms SET state = CASE WHEN state = 'incoming' THEN 'incoming' ELSE ? END, "
	    "pid = NULL, pid_start = NULL, updated = ? WHERE name = ? AND pid = ?", &st, &e)) == 0) {
		sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, fy_now_ms());
		sqlite3_bind_text(st, 3, v->name, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, v->pid);
		r = db_write(db, st, NULL, &e);
	}
	if (r != 0) {
		log_warnx("VM %s: QEMU exited but cannot record it (will retry): %s", v->name, e.msg);
		fy_db_close(db);
		return r;
	}
	if (strcmp(state, "crashed") == 0) {
		log_warnx("VM %s: QEMU (pid %d) exited unexpectedly%s%s", v->name, v->pid,
		    reason[0] ? ": " : "", reason);
		(void)trust_audit(db, "ferryd", NULL, "vm-exit", "crashed", "VM %s: QEMU pid %d exited%s%s",
		    v->name, v->pid, reason[0] ? ", " : " without a shutdown", reason);
	} else
		log_info("VM %s: QEMU (pid %d) exited%s%s", v->name, v->pid, reason[0] ? ": " : "", reason);
	fy_db_close(db);
	pthread_mutex_lock(&v->qmp_mtx);
	qmp_close(v->qmp);
	v->qmp = NULL;
	pthread_mutex_unlock(&v->qmp_mtx);
	if (v->serial_fd >= 0)
		close(v->serial_fd);
	v->serial_fd = -1;
	if (v->log_fd >= 0)
		close(v->log_fd);
	v->log_fd = -1;
	pthread_mutex_lock(&d->mtx);
	{
		struct qvm **pp;
		for (pp = &d->vms; *pp != NULL; pp = &(*pp)->next)
			if (*pp == v) {
				*pp = v->next;
				break;
			}
	}
	v->gone = 1;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->mtx);
	vm_put(d, v);	/* the list's reference */
	return 0;
}

/* Liveness, and reconnection of a lost monitor or console while QEMU lives. */
static void
check_vm(struct qdom *d, struct qvm *v, int64_t now)
{
	struct qmp *q = NULL;
	struct fy_error e = { 0, "" };
	char path[PATH_MAX + 16];

	if (!pid_alive(v->pid, v->pid_start)) {
		(void)finalize(d, v);
		return;
	}
	if (v->qmp == NULL && now >= v->retry_ms) {
		snprintf(path, sizeof(path), "%s/qmp.sock", v->dir);
		/* Short: the supervisor waits meanwhile, and a live QEMU greets at once. */
		if (qmp_open(path, 300, &q, &e) == 0) {
			pthread_mutex_lock(&v->qmp_mtx);
			v->qmp = q;
			pthread_mutex_unlock(&v->qmp_mtx);
			v->lost_ms = 0;
			log_info("VM %s: monitor reconnected", v->name);
		} else {
			log_debug("VM %s: %s", v->name, e.msg);
			v->retry_ms = now + 2000;
		}
	}
	if (v->serial_fd < 0)
		serial_connect(v);
}

static void *
supervise(void *arg)
{
	struct qdom *d = arg;
	struct pollfd *pf = NULL;
	struct qvm **vs = NULL, **who = NULL;
	size_t cap = 0, n, nv, i;
	int64_t last_check = 0, now;
	int tick, exiting;
	char junk[64];

	for (;;) {
		pthread_mutex_lock(&d->mtx);
		if (d->quit) {
			pthread_mutex_unlock(&d->mtx);
			break;
		}
		{
			struct qvm *v;
			size_t cnt = 0;
			for (v = d->vms; v != NULL; v = v->next)
				cnt++;
			if (cnt * 2 + 1 > cap) {
				size_t nc = cnt * 2 + 16;
				struct pollfd *npf = realloc(pf, nc * sizeof(*pf));
				struct qvm **nvs, **nwho;
				if (npf != NULL)
					pf = npf;
				nvs = npf ? realloc(vs, nc * sizeof(*vs)) : NULL;
				if (nvs != NULL)
					vs = nvs;
				nwho = nvs ? realloc(who, nc * sizeof(*who)) : NULL;
				if (nwho != NULL)
					who = nwho;
				if (npf == NULL || nvs == NULL || nwho == NULL) {
					pthread_mutex_unlock(&d->mtx);
					log_warnx("out of memory; supervision paused");
					sleep(1);
					continue;
				}
				cap = nc;
			}
			n = 0;
			nv = 0;
			exiting = 0;
			pf[n].fd = d->wake[0];
			pf[n].events = POLLIN;
			who[n++] = NULL;
			for (v = d->vms; v != NULL; v = v->next) {
				v->refs++;
				vs[nv++] = v;
				if (v->qmp != NULL && v->qmp_busy == 0) {
					pf[n].fd = qmp_fd(v->qmp);
					pf[n].events = POLLIN;
					who[n++] = v;
				}
				if (v->serial_fd >= 0) {
					pf[n].fd = v->serial_fd;
					pf[n].events = POLLIN;
					who[n++] = v;
				}
				if (v->lost_ms != 0 || v->qmp == NULL)
					exiting = 1;
			}
		}
		pthread_mutex_unlock(&d->mtx);
		tick = exiting ? 10 : SUPERVISE_TICK_MS;	/* an exit is seen within 10 ms */
		for (i = 0; i < n; i++)
			pf[i].revents = 0;
		if (poll(pf, (nfds_t)n, tick) < 0 && errno != EINTR)
			log_warn("poll");
		while (read(d->wake[0], junk, sizeof(junk)) > 0)
			;
		for (i = 1; i < n; i++)
			if ((pf[i].revents & (POLLIN | POLLHUP | POLLERR)) && who[i]->serial_fd == pf[i].fd)
				(void)serial_read(d, who[i]);
		for (i = 0; i < nv; i++)
			drain_events(d, vs[i]);
		now = fy_mono_ms();
		if (now - last_check >= tick) {
			last_check = now;
			for (i = 0; i < nv; i++)
				if (!vs[i]->gone)
					check_vm(d, vs[i], now);
		}
		for (i = 0; i < nv; i++)
			vm_put(d, vs[i]);
	}
	free(pf);
	free(vs);
	free(who);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Operations.                                                         */

/* Hand a launched QEMU to the supervisor; NULL only when out of memory. */
static struct qvm *
vm_register(struct qdom *d, const char *name, int pid, int64_t start, int64_t started, struct qmp *q)
{
	char dir[PATH_MAX];
	struct qvm *v;

	vm_dir(d, name, dir, sizeof(dir));
	if ((v = vm_new(name, dir)) == NULL)
		return NULL;
	v->pid = pid;
	v->pid_start = start;
	v->started_ms = started;
	v->qmp = q;
	serial_open_log(v);
	serial_connect(v);
	vm_add(d, v);
	return v;
}

/*
 * Make v's QEMU exit: system_powerdown and a grace period (graceful),
 * then quit, then SIGKILL.  *how tells which step ended it.
 */
static int
vm_terminate(struct qdom *d, struct qvm *v, int graceful, const char **how, struct fy_error *err)
{
	struct fy_error e = { 0, "" };

	pthread_mutex_lock(&d->mtx);
	v->stopping = 1;
	pthread_mutex_unlock(&d->mtx);
	*how = "";
	if (graceful && vm_qmp(d, v, "system_powerdown", NULL, NULL, QEMU_QMP_MS, &e) == 0 &&
	    vm_wait_gone(d, v, QEMU_GRACE_MS)) {
		*how = "powered off by the guest";
		return 0;
	}
	if (vm_qmp(d, v, "quit", NULL, NULL, QEMU_QMP_MS, &e) != 0 && e.code != FY_ERR_CONNECT)
		log_warnx("VM %s: quit: %s", v->name, e.msg);
	if (e.code == FY_ERR_CONNECT)
		pid_signal(v->pid, v->pid_start, SIGTERM);	/* no monitor: the polite signal */
	if (vm_wait_gone(d, v, QEMU_QUIT_MS)) {
		*how = graceful ? "quit after the grace period" : "quit";
		return 0;
	}
	log_warnx("VM %s: QEMU pid %d did not quit; killing it", v->name, v->pid);
	pid_signal(v->pid, v->pid_start, SIGKILL);
	if (vm_wait_gone(d, v, QEMU_KILL_MS)) {
		*how = "killed";
		return 0;
	}
	return fy_fail(err, FY_ERR_TIMEOUT, "VM %s: QEMU pid %d is still there after SIGKILL", v->name, v->pid);
}

/* A VM recorded as running whose QEMU the supervisor does not hold (it never should). */
static int
terminate_unsupervised(struct qdom *d, struct fy_db *db, const struct vmrow *row, const char *state,
    struct fy_error *err)
{
	int i;

	if (row->pid > 0 && pid_alive(row->pid, row->pid_start)) {
		pid_signal(row->pid, row->pid_start, SIGTERM);
		for (i = 0; i < QEMU_QUIT_MS / 50 && pid_alive(row->pid, row->pid_start); i++)
			usleep(50 * 1000);
		kill_wait(row->pid, row->pid_start);
		if (pid_alive(row->pid, row->pid_start))
			return fy_fail(err, FY_ERR_TIMEOUT, "VM %s: QEMU pid %d is still there after SIGKILL",
			    row->spec.name, row->pid);
	}
	(void)d;
	return state != NULL ? row_set_state(db, row->spec.name, state, 0, 0, 0, err) : 0;
}

static int
held_by_job(const struct vmrow *row, struct fy_error *err)
{
	if (row->job[0] == '\0')
		return 0;
	return fy_fail(err, FY_ERR_STATE, "VM %s is held by migration job %s", row->spec.name, row->job);
}

static int
q_define(struct domain *dom, struct vm_spec *sp, struct fy_error *err)
{
	struct qdom *d = QD(dom);
	struct fy_db *db = NULL;
	int created[VM_MAX_DISKS], r;

	memset(created, 0, sizeof(created));
	if ((r = check_site(d, sp, 1, err)) != 0)
		return r;
	if ((r = name_lock(d, sp->name, err)) != 0)
		return r;
	if ((r = db_open(d, &db, err)) != 0 || (r = fill_generated(sp, err)) != 0 ||
	    (r = check_conflicts(d, db, sp, err)) != 0 || (r = prepare_disks(d, sp, 1, created, err)) != 0)
		goto out;
	if ((r = row_insert(db, sp, "shutoff", NULL, err)) != 0) {
		delete_disks(d, sp, created);
		goto out;
	}
	log_info("VM %s defined (uuid %s, %d vCPUs, %llu MiB, %d disks, %d NICs)", sp->name, sp->uuid,
	    sp->vcpus, (unsigned long long)sp->memory_mib, sp->ndisks, sp->nnics);
out:
	fy_db_close(db);
	name_unlock(d, sp->name);
	return r;
}

static int
q_undefine(struct domain *dom, const char *name, struct fy_error *err)
{
	struct qdom *d = QD(dom);
	struct fy_db *db = NULL;
	struct vmrow row;
	int r;

	if ((r = name_lock(d, name, err)) != 0)
		return r;
	if ((r = db_open(d, &db, err)) != 0 || (r = row_get(db, name, &row, err)) != 0 ||
	    (r = held_by_job(&row, err)) != 0)
		goto out;
	if (row_active(&row)) {
		r = fy_fail(err, FY_ERR_STATE, "VM %s is %s: stop it first", name, row.state);
		goto out;
	}
	if ((r = row_delete(db, name, err)) != 0)
		goto out;
	remove_vm_dir(d, name);
	log_info("VM %s undefined (its disks stay)", name);
out:
	fy_db_close(db);
	name_unlock(d, name);
	return r;
}

static int
q_start(struct domain *dom, const char *name, struct fy_error *err)
{
	struct qdom *d = QD(dom);
	struct fy_db *db = NULL;
	struct qmp *q = NULL;
	struct vmrow row;
	char path[PATH_MAX];
	int64_t start = 0, now;
	int pid = 0, i, r;

	if ((r = name_lock(d, name, err)) != 0)
		return r;
	if ((r = db_open(d, &db, err)) != 0 || (r = row_get(db, name, &row, err)) != 0 ||
	    (r = held_by_job(&row, err)) != 0)
		goto out;
	if (row_active(&row)) {
		r = fy_fail(err, FY_ERR_STATE, "VM %s is already %s", name, row.state);
		goto out;
	}
	if ((r = check_site(d, &row.spec, 0, err)) != 0)
		goto out;
	for (i = 0; i < row.spec.ndisks; i++) {
		(void)disk_path(d, &row.spec.disks[i], path, sizeof(path));
		if (access(path, R_OK | W_OK) != 0) {
			r = fy_fail(err, FY_ERR_NOTFOUND, "disks[%d].file: %s: %s", i, path, strerror(errno));
			goto out;
		}
	}
	if ((r = launch(d, &row.spec, 0, &pid, &start, &q, err)) != 0)
		goto out;
	now = fy_now_ms();
	if ((r = row_set_state(db, name, "running", pid, start, now, err)) != 0 ||
	    vm_register(d, name, pid, start, now, q) == NULL) {
		struct fy_error e2 = { 0, "" };
		if (r == 0)
			r = fy_fail(err, FY_ERR_NOMEM, "out of memory");
		qmp_close(q);
		kill_wait(pid, start);
		if (row_set_state(db, name, "shutoff", 0, 0, 0, &e2) != 0)
			log_warnx("VM %s: %s", name, e2.msg);
		goto out;
	}
	log_info("VM %s started: QEMU pid %d", name, pid);
out:
	fy_db_close(db);
	name_unlock(d, name);
	return r;
}

static int
q_stop(struct domain *dom, const char *name, int force, struct fy_error *err)
{
	struct qdom *d = QD(dom);
	struct fy_db *db = NULL;
	struct qvm *v = NULL;
	struct vmrow row;
	const char *how = "";
	int r, graceful;

	if ((r = name_lock(d, name, err)) != 0)
		return r;
	if ((r = db_open(d, &db, err)) != 0 || (r = row_get(db, name, &row, err)) != 0 ||
	    (r = held_by_job(&row, err)) != 0)
		goto out;
	if (!row_active(&row) || strcmp(row.state, "incoming") == 0) {
		r = fy_fail(err, FY_ERR_STATE, "VM %s is not running (%s)", name, row.state);
		goto out;
	}
	/* A paused guest cannot answer the power button. */
	graceful = !force && strcmp(row.state, "running") == 0;
	if ((r = row_set_state(db, name, "stopping", -1, 0, 0, err)) != 0)
		goto out;
	if ((v = vm_get(d, name)) == NULL) {
		r = terminate_unsupervised(d, db, &row, "shutoff", err);
		goto out;
	}
	if ((r = vm_terminate(d, v, graceful, &how, err)) != 0)
		goto out;
	log_info("VM %s stopped (%s)", name, how);
out:
	vm_put(d, v);
	fy_db_close(db);
	name_unlock(d, name);
	return r;
}

static int
q_lookup(struct domain *dom, const char *name, struct vm_spec *spec, struct vm_status *st,
    struct fy_error *err)
{
	struct qdom *d = QD(dom);
	struct fy_db *db = NULL;
	struct qvm *v;
	struct vmrow row;
	int r;

	if ((r = db_open(d, &db, err)) != 0 || (r = row_get(db, name, &row, err)) != 0) {
		fy_db_close(db);
		return r;
	}
	fy_db_close(db);
	if (spec != NULL)
		*spec = row.spec;
	if (st == NULL)
		return 0;
	memset(st, 0, sizeof(*st));
	v = vm_get(d, name);
	st->state = state_of(row.state);
	if (strcmp(row.state, "incoming") == 0 && v == NULL)
		st->state = VM_CRASHED;		/* its QEMU is gone; the job must abort it */
	if (row_active(&row) && row.pid > 0) {
		st->pid = row.pid;
		st->started_ms = row.started;
	}
	snprintf(st->job, sizeof(st->job), "%s", row.job);
	vm_dir(d, name, st->dir, sizeof(st->dir));
	(void)pathf(st->qmp_path, sizeof(st->qmp_path), "%s/qmp.sock", st->dir);
	(void)pathf(st->job_qmp_path, sizeof(st->job_qmp_path), "%s/job.sock", st->dir);
	if (v != NULL) {
		pthread_mutex_lock(&d->mtx);
		st->serial_first_ms = v->serial_first_ms;
		st->serial_last_ms = v->serial_last_ms;
		st->serial_lines = v->serial_lines;
		pthread_mutex_unlock(&d->mtx);
		vm_put(d, v);
	}
	return 0;
}

static json_t *
q_list(struct domain *dom, struct fy_error *err)
{
	struct qdom *d = QD(dom);
	struct fy_db *db = NULL;
	struct fy_error e2;
	sqlite3_stmt *st = NULL;
	struct vmrow row;
	json_t *arr = NULL, *o;
	struct qvm *v;
	int rc;

	if (db_open(d, &db, err) != 0 || prep(db, "SELECT " ROW_COLS ", uuid FROM vms ORDER BY name", &st, err) != 0)
		goto out;
	arr = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		enum vm_state s;
		memset(&e2, 0, sizeof(e2));
		if (row_read(st, &row, &e2) != 0) {
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "name", col_text(st, 0),
			    "uuid", col_text(st, 8), "state", "invalid", "error", e2.msg));
			continue;
		}
		v = vm_get(d, row.spec.name);
		s = state_of(row.state);
		if (strcmp(row.state, "incoming") == 0 && v == NULL)
			s = VM_CRASHED;
		o = json_pack("{s:s, s:s, s:s, s:b, s:i, s:I, s:s, s:s, s:i, s:i, s:s}", "name", row.spec.name,
		    "uuid", row.spec.uuid, "state", vm_state_name(s), "stopping", strcmp(row.state, "stopping") == 0,
		    "vcpus", row.spec.vcpus, "memory_mib", (json_int_t)row.spec.memory_mib,
		    "machine", row.spec.machine, "accel", row.spec.accel, "disks", row.spec.ndisks,
		    "nics", row.spec.nnics, "job", row.job);
		if (o != NULL && row_active(&row) && row.pid > 0) {
			json_object_set_new(o, "pid", json_integer(row.pid));
			json_object_set_new(o, "started_ms", json_integer((json_int_t)row.started));
		}
		if (o != NULL && v != NULL) {
			pthread_mutex_lock(&d->mtx);
			json_object_set_new(o, "serial_lines", json_integer((json_int_t)v->serial_lines));
			json_object_set_new(o, "serial_last_ms", json_integer((json_int_t)v->serial_last_ms));
			pthread_mutex_unlock(&d->mtx);
		}
		vm_put(d, v);
		json_array_append_new(arr, o);
	}
	if (rc != SQLITE_DONE) {
		fy_fail(err, FY_ERR_DB, "database: %s", sqlite3_errmsg(fy_db_handle(db)));
		json_decref(arr);
		arr = NULL;
	}
out:
	sqlite3_finalize(st);
	fy_db_close(db);
	return arr;
}

static json_t *
q_facts(struct domain *dom, struct fy_error *err)
{
	struct qdom *d = QD(dom);
	json_t *j, *nets = json_array(), *dss = json_array(), *acc = json_array();
	struct statvfs vs;
	char version[64];
	int i;

	read_version(d, version, sizeof(version));

	for (i = 0; i < d->nnets; i++)
		json_array_append_new(nets, json_string(d->nets[i]));
	for (i = 0; i < d->nds; i++) {
		json_t *o = json_pack("{s:s, s:s}", "name", d->ds[i].name, "dir", d->ds[i].dir);
		if (o == NULL)
			continue;
		if (statvfs(d->ds[i].dir, &vs) == 0) {
			json_object_set_new(o, "free_bytes", json_integer((json_int_t)((uint64_t)vs.f_bavail * vs.f_frsize)));
			json_object_set_new(o, "total_bytes", json_integer((json_int_t)((uint64_t)vs.f_blocks * vs.f_frsize)));
		} else {
			json_object_set_new(o, "free_bytes", json_integer(0));
			json_object_set_new(o, "total_bytes", json_integer(0));
			json_object_set_new(o, "error", json_string(strerror(errno)));
		}
		json_array_append_new(dss, o);
	}
	json_array_append_new(acc, json_string("tcg"));
	if (access("/dev/kvm", R_OK | W_OK) == 0)
		json_array_append_new(acc, json_string("kvm"));
	j = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "type", "qemu", "qemu_version", version,
	    "qemu_binary", d->site->conf.qemu_binary, "networks", nets, "datastores", dss, "accelerators", acc);
	if (j == NULL)
		fy_fail(err, FY_ERR_NOMEM, "out of memory");
	return j;
}

static int
valid_job(const char *job)
{
	size_t i, n = strlen(job);

	if (n == 0 || n >= sizeof(((struct vm_status *)0)->job))
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)job[i]) && job[i] != '-' && job[i] != '_' && job[i] != '.')
			return 0;
	return 1;
}

/* Room for the disks, which a mirror fills to their full size. */
static int
check_space(struct qdom *d, const struct vm_spec *sp, struct fy_error *err)
{
	struct statvfs vs;
	uint64_t need, have;
	int i, k;

	for (i = 0; i < sp->ndisks; i++) {
		const struct datastore *ds = find_ds(d, sp->disks[i].datastore);
		for (k = 0; k < i; k++)
			if (strcmp(sp->disks[k].datastore, sp->disks[i].datastore) == 0)
				break;
		if (k < i || ds == NULL)
			continue;
		for (need = 0, k = i; k < sp->ndisks; k++)
			if (strcmp(sp->disks[k].datastore, sp->disks[i].datastore) == 0)
				need += sp->disks[k].size;
		if (statvfs(ds->dir, &vs) != 0)
			return fy_fail(err, FY_ERR_IO, "disks[%d].datastore: %s: %s", i, ds->dir, strerror(errno));
		have = (uint64_t)vs.f_bavail * vs.f_frsize;
		if (have < need)
			return fy_fail(err, FY_ERR_SPACE, "disks[%d].datastore: %s needs %llu MiB for the disks, "
			    "has %llu MiB free", i, ds->name, (unsigned long long)(need >> 20),
			    (unsigned long long)(have >> 20));
	}
	return 0;
}

/* The monitor commands that make a launched -incoming defer QEMU listen. */
static int
incoming_listen(struct qdom *d, struct qmp *q, const struct vm_spec *sp, struct vm_incoming *inc,
    struct fy_error *err)
{
	char dir[PATH_MAX], uri[PATH_MAX + 16];
	json_t *caps;
	int i, r;

	vm_dir(d, sp->name, dir, sizeof(dir));
	(void)pathf(inc->mig_path, sizeof(inc->mig_path), "%s/mig.sock", dir);
	inc->nbd_path[0] = '\0';
	/* Capabilities both ends must share are set before listening (multifd as the source asked). */
	caps = json_pack("[{s:s, s:b}]", "capability", "events", "state", 1);
	if (inc->multifd > 0)
		json_array_append_new(caps, json_pack("{s:s, s:b}", "capability", "multifd", "state", 1));
	if ((r = qmp_exec(q, "migrate-set-capabilities", json_pack("{s:o}", "capabilities", caps), NULL,
	    QEMU_QMP_MS, err)) != 0)
		return r;
	if (inc->multifd > 0 && (r = qmp_exec(q, "migrate-set-parameters",
	    json_pack("{s:I}", "multifd-channels", (json_int_t)inc->multifd), NULL,
	    QEMU_QMP_MS, err)) != 0)
		return r;
	snprintf(uri, sizeof(uri), "unix:%s", inc->mig_path);
	if ((r = qmp_exec(q, "migrate-incoming", json_pack("{s:s}", "uri", uri), NULL, QEMU_QMP_MS, err)) != 0)
		return r;
	if (sp->ndisks == 0)
		return 0;
	(void)pathf(inc->nbd_path, sizeof(inc->nbd_path), "%s/nbd.sock", dir);
	if ((r = qmp_exec(q, "nbd-server-start", json_pack("{s:{s:s, s:{s:s}}}", "addr", "type", "unix",
	    "data", "path", inc->nbd_path), NULL, QEMU_QMP_MS, err)) != 0)
		return r;
	for (i = 0; i < sp->ndisks; i++)
		if ((r = qmp_exec(q, "nbd-server-add", json_pack("{s:s, s:b}", "device", sp->disks[i].id,
		    "writable", 1), NULL, QEMU_QMP_MS, err)) != 0)
			return r;
	return 0;
}

static int
q_incoming_prepare(struct domain *dom, const struct vm_spec *in, const char *job, struct vm_incoming *inc,
    struct fy_error *err)
{
	struct qdom *d = QD(dom);
	struct fy_db *db = NULL;
	struct qmp *q = NULL;
	struct vm_spec sp = *in;
	int created[VM_MAX_DISKS], inserted = 0, pid = 0, i, r;
	int64_t start = 0, now, t0 = fy_mono_ms();
	int multifd = inc->multifd;

	memset(inc, 0, sizeof(*inc));
	inc->multifd = multifd;
	memset(created, 0, sizeof(created));
	if (job == NULL || !valid_job(job))
		return fy_fail(err, FY_ERR_INVAL, "incoming VM %s: bad job id", sp.name);
	if (sp.uuid[0] == '\0')
		return fy_fail(err, FY_ERR_INVAL, "uuid: missing (the source sends the VM's UUID)");
	for (i = 0; i < sp.nnics; i++)
		if (sp.nics[i].mac[0] == '\0')
			return fy_fail(err, FY_ERR_INVAL, "nics[%d].mac: missing (the source sends the MAC)", i);
	for (i = 0; i < sp.ndisks; i++)
		if (sp.disks[i].size == 0 || sp.disks[i].format[0] == '\0')
			return fy_fail(err, FY_ERR_INVAL, "disks[%d]: the source must send its size and format", i);
	if (sp.boot[0] != '\0' && sp.boot_sha256[0] == '\0')
		return fy_fail(err, FY_ERR_INVAL, "boot_sha256: missing (the source sends the boot image's hash)");
	for (i = 0; i < sp.ndisks; i++) {
		const struct datastore *ds = find_ds(d, sp.disks[i].datastore);
		char field[32];
		snprintf(field, sizeof(field), "disks[%d].file", i);
		if (ds != NULL && access(ds->dir, F_OK) == 0 && strchr(sp.disks[i].file, '/') != NULL &&
		    (r = make_parents(ds, sp.disks[i].file, field, err)) != 0)
			return r;
	}
	if ((r = check_site(d, &sp, 1, err)) != 0 || (r = check_space(d, &sp, err)) != 0)
		return r;
	for (i = 0; i < sp.ndisks; i++) {
		char path[PATH_MAX];
		(void)disk_path(d, &sp.disks[i], path, sizeof(path));
		if (access(path, F_OK) == 0)
			return fy_fail(err, FY_ERR_EXISTS, "disks[%d].file: %s already exists in datastore %s",
			    i, sp.disks[i].file, sp.disks[i].datastore);
	}
	if ((r = name_lock(d, sp.name, err)) != 0)
		return r;
	if ((r = db_open(d, &db, err)) != 0 || (r = check_conflicts(d, db, &sp, err)) != 0)
		goto out;
	/* Recorded before anything is created, so a crash leaves something to abort. */
	if ((r = row_insert(db, &sp, "incoming", job, err)) != 0)
		goto out;
	inserted = 1;
	log_debug("VM %s: incoming: checked and recorded in %lld ms", sp.name, (long long)(fy_mono_ms() - t0));
	if ((r = prepare_disks(d, &sp, 0, created, err)) != 0 ||
	    (r = launch(d, &sp, 1, &pid, &start, &q, err)) != 0)
		goto out;
	log_debug("VM %s: incoming: QEMU up at +%lld ms", sp.name, (long long)(fy_mono_ms() - t0));
	if ((r = incoming_listen(d, q, &sp, inc, err)) != 0) {
		fy_fail_prefix(err, r, "VM %s: cannot listen for the migration", sp.name);
		goto out;
	}
	now = fy_now_ms();
	if ((r = row_set_state(db, sp.name, "incoming", pid, start, now, err)) != 0)
		goto out;
	if (vm_register(d, sp.name, pid, start, now, q) == NULL) {
		r = fy_fail(err, FY_ERR_NOMEM, "out of memory");
		goto out;
	}
	log_info("VM %s: incoming for job %s, QEMU pid %d listening on %s%s%s", sp.name, job, pid,
	    inc->mig_path, inc->nbd_path[0] ? " and " : "", inc->nbd_path);
	q = NULL;
	pid = 0;	/* the supervisor's now */
	r = 0;
out:
	if (r != 0) {
		struct fy_error e2 = { 0, "" };
		qmp_close(q);
		if (pid > 0)
			kill_wait(pid, start);
		delete_disks(d, &sp, created);
		if (inserted) {
			remove_vm_dir(d, sp.name);
			if (row_delete(db, sp.name, &e2) != 0)
				log_warnx("VM %s: %s", sp.name, e2.msg);
		}
		memset(inc, 0, sizeof(*inc));
	}
	fy_db_close(db);
	name_unlock(d, sp.name);
	return r;
}

static int
q_incoming_finish(struct domain *dom, const char *name, struct fy_error *err)
{
	struct qdom *d = QD(dom);
	struct fy_db *db = NULL;
	struct fy_error e2 = { 0, "" };
	struct qvm *v = NULL;
	sqlite3_stmt *st;
	struct vmrow row;
	const char *status;
	json_t *ret = NULL;
	int r;

	if ((r = name_lock(d, name, err)) != 0)
		return r;
	if ((r = db_open(d, &db, err)) != 0 || (r = row_get(db, name, &row, err)) != 0)
		goto out;
	if (strcmp(row.state, "running") == 0 && row.job[0] == '\0')
		goto out;	/* finished already */
	if (strcmp(row.state, "incoming") != 0) {
		r = fy_fail(err, FY_ERR_STATE, "VM %s is %s, not an incoming migration", name, row.state);
		goto out;
	}
	if ((v = vm_get(d, name)) == NULL) {
		r = fy_fail(err, FY_ERR_STATE, "VM %s: its QEMU is gone", name);
		goto out;
	}
	if ((r = vm_qmp(d, v, "query-status", NULL, &ret, QEMU_QMP_MS, err)) != 0)
		goto out;
	status = json_string_value(json_object_get(ret, "status"));
	if (status == NULL || strcmp(status, "inmigrate") == 0) {
		r = fy_fail(err, FY_ERR_STATE, "VM %s: the migration has not completed (QEMU status %s)", name,
		    status ? status : "?");
		goto out;
	}
	if (strcmp(status, "running") != 0) {
		(void)vm_qmp(d, v, "nbd-server-stop", NULL, NULL, QEMU_QMP_MS, &e2);
		if ((r = vm_qmp(d, v, "cont", NULL, NULL, QEMU_QMP_MS, err)) != 0)
			goto out;
	}
	if ((r = prep(db, "UPDATE vms SET state = 'running', job = NULL, updated = ? WHERE name = ?", &st, err)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, fy_now_ms());
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if ((r = db_write(db, st, NULL, err)) != 0)
		goto out;
	log_info("VM %s: incoming migration finished, guest running", name);
out:
	json_decref(ret);
	vm_put(d, v);
	fy_db_close(db);
	name_unlock(d, name);
	return r;
}

/* Stop QEMU if it runs, delete the disks, the directory and the row. */
static int
destroy_vm(struct qdom *d, struct fy_db *db, const struct vmrow *row, struct fy_error *err)
{
	struct qvm *v;
	const char *how;
	int r = 0;

	if ((v = vm_get(d, row->spec.name)) != NULL) {
		r = vm_terminate(d, v, 0, &how, err);
		vm_put(d, v);
	} else
		r = terminate_unsupervised(d, db, row, NULL, err);
	if (r != 0)
		return r;
	delete_disks(d, &row->spec, NULL);
	remove_vm_dir(d, row->spec.name);
	return row_delete(db, row->spec.name, err);
}

static int
q_incoming_abort(struct domain *dom, const char *name, struct fy_error *err)
{
	struct qdom *d = QD(dom);
	struct fy_db *db = NULL;
	struct vmrow row;
	int r;

	if ((r = name_lock(d, name, err)) != 0)
		return r;
	if ((r = db_open(d, &db, err)) != 0)
		goto out;
	if ((r = row_get(db, name, &row, err)) != 0) {
		if (r == FY_ERR_NOTFOUND)
			r = 0;	/* nothing left to abort */
		goto out;
	}
	if (strcmp(row.state, "incoming") != 0) {
		r = fy_fail(err, FY_ERR_STATE, "VM %s is %s, not an unfinished incoming migration: not deleting it",
		    name, row.state);
		goto out;
	}
	if ((r = destroy_vm(d, db, &row, err)) == 0)
		log_info("VM %s: incoming migration aborted; QEMU, disks and definition removed", name);
out:
	fy_db_close(db);
	name_unlock(d, name);
	return r;
}

static int
q_claim(struct domain *dom, const char *name, const char *job, struct fy_error *err)
{
	struct qdom *d = QD(dom);
	struct fy_db *db = NULL;
	sqlite3_stmt *st;
	struct vmrow row;
	int r;

	if (job == NULL)
		job = "";
	if (job[0] != '\0' && !valid_job(job))
		return fy_fail(err, FY_ERR_INVAL, "bad job id");
	if ((r = name_lock(d, name, err)) != 0)
		return r;
	if ((r = db_open(d, &db, err)) != 0 || (r = row_get(db, name, &row, err)) != 0)
		goto out;
	if (job[0] != '\0' && row.job[0] != '\0' && strcmp(row.job, job) != 0) {
		r = fy_fail(err, FY_ERR_STATE, "VM %s is held by migration job %s", name, row.job);
		goto out;
	}
	if ((r = prep(db, "UPDATE vms SET job = ?, updated = ? WHERE name = ?", &st, err)) != 0)
		goto out;
	if (job[0] != '\0')
		sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 1);
	sqlite3_bind_int64(st, 2, fy_now_ms());
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	r = db_write(db, st, NULL, err);
out:
	fy_db_close(db);
	name_unlock(d, name);
	return r;
}

static int
q_outgoing_confirm(struct domain *dom, const char *name, struct fy_error *err)
{
	struct qdom *d = QD(dom);
	struct fy_db *db = NULL;
	struct qvm *v = NULL;
	struct vmrow row;
	json_t *ret = NULL;
	struct fy_error e2 = { 0, "" };
	const char *status;
	int r;

	if ((r = name_lock(d, name, err)) != 0)
		return r;
	if ((r = db_open(d, &db, err)) != 0)
		goto out;
	if ((r = row_get(db, name, &row, err)) != 0) {
		if (r == FY_ERR_NOTFOUND)
			r = 0;	/* removed already */
		goto out;
	}
	if (row.job[0] == '\0' || strcmp(row.state, "incoming") == 0) {
		r = fy_fail(err, FY_ERR_STATE, "VM %s is not the source of a migration (no job holds it): "
		    "not deleting it", name);
		goto out;
	}
	/* Never delete a guest that still runs here. */
	if ((v = vm_get(d, name)) != NULL && vm_qmp(d, v, "query-status", NULL, &ret, QEMU_QMP_MS, &e2) == 0 &&
	    (status = json_string_value(json_object_get(ret, "status"))) != NULL && strcmp(status, "running") == 0) {
		r = fy_fail(err, FY_ERR_STATE, "VM %s is still running here: not deleting it", name);
		goto out;
	}
	if ((r = destroy_vm(d, db, &row, err)) == 0)
		log_info("VM %s: migrated away (job %s); QEMU, disks and definition removed here", name, row.job);
out:
	json_decref(ret);
	vm_put(d, v);
	fy_db_close(db);
	name_unlock(d, name);
	return r;
}

/*
 * Pre-flight, asked by the source: is path a regular file here whose
 * SHA-256 is sha256?  1 yes, 0 other content, -1 not usable here (why
 * says so: "missing", "not a regular file", ...).  Never the hash itself:
 * a peer learns no more than Prepare would tell it.
 */
int
dom_qemu_image_same(const char *path, const char *sha256, char *why, size_t cap)
{
	struct fy_error e = { 0, "" };
	struct stat sb;
	char hex[65];

	if (path[0] != '/' || strlen(path) > VM_PATH_MAX) {
		snprintf(why, cap, "not an absolute path");
		return -1;
	}
	if (stat(path, &sb) != 0) {
		snprintf(why, cap, "%s", errno == ENOENT ? "missing" : strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(why, cap, "not a regular file");
		return -1;
	}
	if (sha256_file(path, hex, &e, "boot") != 0) {
		snprintf(why, cap, "unreadable");
		return -1;
	}
	return strcasecmp(hex, sha256) == 0;
}

/* ------------------------------------------------------------------ */
/* Creation, re-attachment, teardown.                                  */

/* QEMU's version, from `qemu --version' the first time it is asked for ("" if unknown). */
static void
read_version(struct qdom *d, char *out, size_t cap)
{
	char *argv[] = { d->site->conf.qemu_binary, "--version", NULL };
	struct fy_error e = { 0, "" };
	struct fy_buf *b = NULL;
	char v[64] = "";
	const char *s, *p;
	int st, done;

	pthread_mutex_lock(&d->mtx);
	done = d->version_read;
	snprintf(out, cap, "%s", d->qemu_version);
	pthread_mutex_unlock(&d->mtx);
	if (done)
		return;
	if (access(d->site->conf.qemu_binary, X_OK) != 0)
		log_warnx("qemu_binary %s: %s", d->site->conf.qemu_binary, strerror(errno));
	else if (run_prog(argv, 10000, &b, &st, &e) != 0 || st != 0)
		log_warnx("%s --version failed %s", d->site->conf.qemu_binary, e.msg);
	else if ((p = strstr((s = (const char *)fy_buf_ptr(b)), "version ")) != NULL) {
		/* "QEMU emulator version 7.2.22 (Debian ...)" */
		p += 8;
		snprintf(v, sizeof(v), "%.*s", (int)strcspn(p, " \n("), p);
	}
	fy_buf_free(b);
	pthread_mutex_lock(&d->mtx);
	snprintf(d->qemu_version, sizeof(d->qemu_version), "%s", v);
	d->version_read = 1;
	pthread_mutex_unlock(&d->mtx);
	snprintf(out, cap, "%s", v);
}

/* The VMs a previous ferryd left running: re-attach the live ones, record the others. */
static void
reattach(struct qdom *d)
{
	struct fy_db *db = NULL;
	struct fy_error e = { 0, "" };
	sqlite3_stmt *st = NULL;
	struct vmrow *rows = NULL, *nr;
	size_t n = 0, i;
	int rc;

	if (db_open(d, &db, &e) != 0 || prep(db, "SELECT " ROW_COLS " FROM vms WHERE pid IS NOT NULL OR "
	    "state IN ('running', 'paused', 'incoming', 'stopping')", &st, &e) != 0) {
		log_warnx("cannot read the VMs: %s", e.msg);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((nr = realloc(rows, (n + 1) * sizeof(*rows))) == NULL)
			break;
		rows = nr;
		if (row_read(st, &rows[n], &e) != 0) {
			log_warnx("%s", e.msg);
			continue;
		}
		n++;
	}
	sqlite3_finalize(st);
	st = NULL;
	for (i = 0; i < n; i++) {
		struct vmrow *row = &rows[i];
		const char *name = row->spec.name;
		char dir[PATH_MAX], path[PATH_MAX + 16];
		struct qmp *q = NULL;
		struct qvm *v;
		json_t *ret = NULL;
		char status[32] = "";

		vm_dir(d, name, dir, sizeof(dir));
		if (row->pid <= 0 || !pid_alive(row->pid, row->pid_start)) {
			const char *to = strcmp(row->state, "incoming") == 0 ? "incoming" :
			    strcmp(row->state, "stopping") == 0 ? "shutoff" : "crashed";
			if (row_set_state(db, name, to, 0, 0, 0, &e) != 0)
				log_warnx("VM %s: %s", name, e.msg);
			if (strcmp(to, "crashed") == 0) {
				log_warnx("VM %s: its QEMU (pid %d) went away while ferryd was not running", name, row->pid);
				(void)trust_audit(db, "ferryd", NULL, "vm-exit", "crashed", "VM %s: QEMU pid %d "
				    "exited while ferryd was down", name, row->pid);
			} else
				log_info("VM %s: its QEMU (pid %d) is gone; now %s", name, row->pid, to);
			continue;
		}
		snprintf(path, sizeof(path), "%s/qmp.sock", dir);
		if (qmp_open(path, 3000, &q, &e) != 0)
			log_warnx("VM %s: %s (will retry)", name, e.msg);
		else if (qmp_exec(q, "query-status", NULL, &ret, QEMU_QMP_MS, &e) == 0)
			snprintf(status, sizeof(status), "%s", json_string_value(json_object_get(ret, "status")) ?: "");
		json_decref(ret);
		if ((v = vm_new(name, dir)) == NULL) {
			qmp_close(q);
			continue;
		}
		v->pid = row->pid;
		v->pid_start = row->pid_start;
		v->started_ms = row->started;
		v->qmp = q;
		v->retry_ms = fy_mono_ms() + 1000;
		serial_recount(v);
		serial_open_log(v);
		serial_connect(v);
		if (strcmp(row->state, "stopping") == 0) {
			/* Finish what the previous ferryd started. */
			v->stopping = 1;
			if (q != NULL && qmp_exec(q, "quit", NULL, NULL, QEMU_QMP_MS, &e) != 0)
				log_debug("VM %s: quit: %s", name, e.msg);
		} else if (strcmp(row->state, "running") == 0 || strcmp(row->state, "paused") == 0) {
			const char *now = strcmp(status, "running") == 0 ? "running" : status[0] ? "paused" : row->state;
			if (strcmp(now, row->state) != 0 && row_set_state(db, name, now, -1, 0, 0, &e) != 0)
				log_warnx("VM %s: %s", name, e.msg);
		}
		vm_add(d, v);
		log_info("VM %s: re-attached to QEMU pid %d (%s)", name, row->pid, status[0] ? status : row->state);
	}
out:
	sqlite3_finalize(st);
	free(rows);
	fy_db_close(db);
}

static void
q_fini(struct domain *dom)
{
	struct qdom *d = QD(dom);
	struct qvm *v, *next;
	int busy;

	pthread_mutex_lock(&d->mtx);
	d->quit = 1;
	pthread_mutex_unlock(&d->mtx);
	wake_supervisor(d);
	if (d->thr_started)
		pthread_join(d->thr, NULL);
	pthread_mutex_lock(&d->mtx);
	busy = d->nbusy > 0;
	for (v = d->vms; v != NULL; v = v->next)
		if (v->refs > 1)
			busy = 1;
	pthread_mutex_unlock(&d->mtx);
	if (busy) {
		/* Commands still run on these VMs: leave the memory to the exiting process. */
		log_warnx("qemu domain: commands still running at shutdown; not freeing");
		return;
	}
	/* QEMU processes keep running: the next ferryd re-attaches them. */
	for (v = d->vms; v != NULL; v = next) {
		next = v->next;
		vm_free(v);
	}
	close(d->wake[0]);
	close(d->wake[1]);
	pthread_mutex_destroy(&d->mtx);
	pthread_cond_destroy(&d->cond);
	free(d);
	free(dom);
}

/* The syntax of qemu_datastores and qemu_networks, for ferryd -n and reloads. */
int
dom_qemu_check_conf(const struct fy_conf *c, struct fy_error *err)
{
	struct qdom *d = calloc(1, sizeof(*d));
	int r;

	if (d == NULL)
		return fy_fail(err, FY_ERR_NOMEM, "out of memory");
	if ((r = parse_datastores(d, c->qemu_datastores, err)) == 0)
		r = parse_networks(d, c->qemu_networks, err);
	free(d);
	return r;
}

int
dom_qemu_new(struct site *s, struct domain **out, struct fy_error *err)
{
	struct domain *dom = NULL;
	struct qdom *d = NULL;
	pthread_condattr_t ca;
	int r;

	*out = NULL;
	if ((dom = calloc(1, sizeof(*dom))) == NULL || (d = calloc(1, sizeof(*d))) == NULL) {
		free(dom);
		return fy_fail(err, FY_ERR_NOMEM, "out of memory");
	}
	d->site = s;
	d->wake[0] = d->wake[1] = -1;
	pthread_mutex_init(&d->mtx, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cond, &ca);
	pthread_condattr_destroy(&ca);
	if ((r = parse_datastores(d, s->conf.qemu_datastores, err)) != 0 ||
	    (r = parse_networks(d, s->conf.qemu_networks, err)) != 0)
		goto fail;
	if ((size_t)snprintf(d->vmroot, sizeof(d->vmroot), "%s/vms", s->conf.state_dir) >= sizeof(d->vmroot) ||
	    fy_mkdir_p(d->vmroot, 0700) != 0 || chmod(d->vmroot, 0700) != 0) {
		r = fy_fail(err, FY_ERR_IO, "cannot create %s/vms", s->conf.state_dir);
		goto fail;
	}
	if (pipe2(d->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		r = fy_fail(err, FY_ERR_SYSTEM, "pipe: %s", strerror(errno));
		goto fail;
	}
	if (access(s->conf.qemu_binary, X_OK) != 0)
		log_warnx("qemu_binary %s: %s; VMs cannot start", s->conf.qemu_binary, strerror(errno));
	dom->ops = &qemu_ops;
	dom->site = s;
	dom->priv = d;
	reattach(d);
	if (pthread_create(&d->thr, NULL, supervise, d) != 0) {
		r = fy_fail(err, FY_ERR_SYSTEM, "cannot start the VM supervisor thread");
		goto fail;
	}
	d->thr_started = 1;
	log_info("qemu domain: %s, %d datastores, %d networks", s->conf.qemu_binary, d->nds, d->nnets);
	*out = dom;
	return 0;
fail:
	{
		struct qvm *v, *next;
		for (v = d->vms; v != NULL; v = next) {
			next = v->next;
			vm_free(v);
		}
	}
	if (d->wake[0] >= 0)
		close(d->wake[0]);
	if (d->wake[1] >= 0)
		close(d->wake[1]);
	pthread_mutex_destroy(&d->mtx);
	pthread_cond_destroy(&d->cond);
	free(d);
	free(dom);
	return r;
}

static const struct dom_ops qemu_ops = {
	.type = "qemu",
	.fini = q_fini,
	.define = q_define,
	.undefine = q_undefine,
	.start = q_start,
	.stop = q_stop,
	.lookup = q_lookup,
	.list = q_list,
	.facts = q_facts,
	.incoming_prepare = q_incoming_prepare,
	.incoming_finish = q_incoming_finish,
	.incoming_abort = q_incoming_abort,
	.claim = q_claim,
	.outgoing_confirm = q_outgoing_confirm,
};
