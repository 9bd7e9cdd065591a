/*
 * vmspec-fuzz.c - libFuzzer harness for vm_spec_from_json(), the VM spec a
 * paired peer sends in a migration's Prepare (gateway/dom_qemu.c).  The
 * input is parsed as job_fed_prepare() does (a C string of at most
 * JOB_SPEC_MAX bytes, jansson with JSON_REJECT_DUPLICATES).  Oracles:
 *   - a refusal is FY_ERR_INVAL with a NUL-terminated message that starts
 *     with the field it names ("spec: ", "disks[2].file: ", ...);
 *   - an accepted spec is within every bound of ferry-vm(5), and
 *     vm_spec_to_json() of it, printed and parsed again, is accepted and
 *     yields the same struct field by field.
 * Any violation aborts.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "common.h"
#include "gateway/gateway.h"
#include "gateway/domain.h"
#include "tests/fuzz/fuzz.h"

#define SPEC_MAX	(64 * 1024)	/* JOB_SPEC_MAX in gateway/job.c */

/* "field: " where field is one vm_spec_from_json may name. */
static int
names_field(const char *m)
{
	static const char *const top[] = { "spec", "name", "uuid", "vcpus", "memory_mib", "machine", "accel",
	    "boot", "boot_sha256", NULL };
	static const char *const dmem[] = { "id", "datastore", "file", "format", "size", NULL };
	static const char *const nmem[] = { "network", "mac", NULL };
	const char *const *mem;
	size_t i, n;

	for (i = 0; top[i] != NULL; i++) {
		n = strlen(top[i]);
		if (strncmp(m, top[i], n) == 0 && strncmp(m + n, ": ", 2) == 0)
			return 1;
	}
	if (strncmp(m, "disks", 5) == 0) {
		m += 5;
		mem = dmem;
	} else if (strncmp(m, "nics", 4) == 0) {
		m += 4;
		mem = nmem;
	} else
		return 0;
	if (strncmp(m, ": ", 2) == 0)
		return 1;
	if (m[0] != '[' || m[1] < '0' || m[1] > '7' || m[2] != ']')	/* at most 8 of each */
		return 0;
	m += 3;
	if (strncmp(m, ": ", 2) == 0)
		return 1;
	if (*m++ != '.')
		return 0;
	for (i = 0; mem[i] != NULL; i++) {
		n = strlen(mem[i]);
		if (strncmp(m, mem[i], n) == 0 && strncmp(m + n, ": ", 2) == 0)
			return 1;
	}
	return 0;
}

/* s is NUL-terminated within cap bytes and at least min long. */
static int
str_ok(const char *s, size_t cap, size_t min)
{
	size_t n = strnlen(s, cap);

	return n < cap && n >= min;
}

/* Relative, and no component is empty, "." or "..". */
static int
rel_path_ok(const char *s)
{
	const char *c = s, *e;
	size_t n;

	if (*s == '/')
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

static int
lower_hex(const char *s)
{
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
			return 0;
	return 1;
}

/* The bounds ferry-vm(5) promises for an accepted spec. */
static void
check_bounds(const struct vm_spec *sp)
{
	int i, k;

	if (!str_ok(sp->name, sizeof(sp->name), 1) || !fy_valid_name(sp->name) ||
	    !str_ok(sp->uuid, sizeof(sp->uuid), 0) || (sp->uuid[0] != '\0' && strlen(sp->uuid) != 36) ||
	    sp->vcpus < 1 || sp->vcpus > VM_VCPUS_MAX ||
	    sp->memory_mib < VM_MEM_MIN_MIB || sp->memory_mib > VM_MEM_MAX_MIB ||
	    !str_ok(sp->machine, sizeof(sp->machine), 1) ||
	    (strcmp(sp->accel, "tcg") != 0 && strcmp(sp->accel, "kvm") != 0) ||
	    !str_ok(sp->boot, sizeof(sp->boot), 0) || (sp->boot[0] != '\0' && sp->boot[0] != '/') ||
	    strchr(sp->boot, '\n') != NULL ||
	    !str_ok(sp->boot_sha256, sizeof(sp->boot_sha256), 0) ||
	    (sp->boot_sha256[0] != '\0' && (strlen(sp->boot_sha256) != 64 || !lower_hex(sp->boot_sha256) ||
	    sp->boot[0] == '\0')) ||
	    sp->ndisks < 0 || sp->ndisks > VM_MAX_DISKS || sp->nnics < 0 || sp->nnics > VM_MAX_NICS)
		abort();
	for (i = 0; i < 36 && sp->uuid[0] != '\0'; i++)
		if ((i == 8 || i == 13 || i == 18 || i == 23) ? sp->uuid[i] != '-' :
		    !isxdigit((unsigned char)sp->uuid[i]) || isupper((unsigned char)sp->uuid[i]))
			abort();
	for (i = 0; i < sp->ndisks; i++) {
		const struct vm_disk *dk = &sp->disks[i];

		if (!str_ok(dk->id, sizeof(dk->id), 5) || strncmp(dk->id, "disk", 4) != 0 || strlen(dk->id) != 5 ||
		    dk->id[4] < '0' || dk->id[4] >= '0' + VM_MAX_DISKS ||
		    !str_ok(dk->datastore, sizeof(dk->datastore), 1) || !str_ok(dk->file, sizeof(dk->file), 1) ||
		    !rel_path_ok(dk->file) ||
		    (strcmp(dk->format, "") != 0 && strcmp(dk->format, "raw") != 0 &&
		    strcmp(dk->format, "qcow2") != 0) || dk->size > (64ULL << 40))
			abort();
		for (k = 0; k < i; k++)
			if (strcmp(dk->id, sp->disks[k].id) == 0 ||
			    (strcmp(dk->datastore, sp->disks[k].datastore) == 0 &&
			    strcmp(dk->file, sp->disks[k].file) == 0))
				abort();
	}
	for (i = 0; i < sp->nnics; i++) {
		const struct vm_nic *nic = &sp->nics[i];

		if (!str_ok(nic->network, sizeof(nic->network), 1) || !str_ok(nic->mac, sizeof(nic->mac), 0) ||
		    (nic->mac[0] != '\0' && (strlen(nic->mac) != 17 || strchr("02468ace", nic->mac[1]) == NULL)))
			abort();
		for (k = 0; k < i; k++)
			if (nic->mac[0] != '\0' && strcmp(nic->mac, sp->nics[k].mac) == 0)
				abort();
	}
}

/* 1 when a and b are the same spec, field by field. */
static int
same(const struct vm_spec *a, const struct vm_spec *b)
{
	int i;

	if (strcmp(a->name, b->name) != 0 || strcmp(a->uuid, b->uuid) != 0 || a->vcpus != b->vcpus ||
	    a->memory_mib != b->memory_mib || strcmp(a->machine, b->machine) != 0 ||
	    strcmp(a->boot, b->boot) != 0 || strcmp(a->boot_sha256, b->boot_sha256) != 0 ||
	    strcmp(a->accel, b->accel) != 0 || a->ndisks != b->ndisks || a->nnics != b->nnics)
		return 0;
	for (i = 0; i < a->ndisks; i++)
		if (strcmp(a->disks[i].id, b->disks[i].id) != 0 ||
		    strcmp(a->disks[i].datastore, b->disks[i].datastore) != 0 ||
		    strcmp(a->disks[i].file, b->disks[i].file) != 0 ||
		    strcmp(a->disks[i].format, b->disks[i].format) != 0 || a->disks[i].size != b->disks[i].size)
			return 0;
	for (i = 0; i < a->nnics; i++)
		if (strcmp(a->nics[i].network, b->nics[i].network) != 0 ||
		    strcmp(a->nics[i].mac, b->nics[i].mac) != 0)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_spec sp, back;
	struct fy_error err;
	json_error_t je;
	json_t *j, *out;
	char *text, *s;
	int r;

	/* job_fed_prepare gets a C string: what follows a NUL is not seen. */
	if (size > SPEC_MAX || (text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	j = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (j == NULL)
		return 0;

	memset(&err, 'X', sizeof(err));
	memset(&sp, 0xa5, sizeof(sp));
	r = vm_spec_from_json(j, &sp, &err);
	json_decref(j);
	if (r != 0) {
		if (r != FY_ERR_INVAL || err.code != r || memchr(err.msg, '\0', sizeof(err.msg)) == NULL ||
		    !names_field(err.msg)) {
			fprintf(stderr, "vmspec-fuzz: refusal %d does not name a field: %.512s\n", r, err.msg);
			abort();
		}
		return 0;
	}
	check_bounds(&sp);

	/* Round trip through the text the source sends. */
	if ((out = vm_spec_to_json(&sp)) == NULL)
		abort();
	s = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	if (s == NULL)
		abort();
	if (strlen(s) > SPEC_MAX)	/* what we send, the peer must take */
		abort();
	j = json_loads(s, JSON_REJECT_DUPLICATES, &je);
	free(s);
	if (j == NULL)
		abort();
	memset(&back, 0x5a, sizeof(back));
	memset(&err, 'X', sizeof(err));
	r = vm_spec_from_json(j, &back, &err);
	json_decref(j);
	if (r != 0) {
		fprintf(stderr, "vmspec-fuzz: round trip refused: %.512s\n", err.msg);
		abort();
	}
	if (!same(&sp, &back)) {
		fprintf(stderr, "vmspec-fuzz: round trip changed the spec\n");
		abort();
	}
	return 0;
}
