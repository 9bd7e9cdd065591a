/*
 * vmspec-t.c - the VM spec (gateway/dom_qemu.c: vm_spec_from_json,
 * vm_spec_to_json), which a paired peer sends during a migration: the
 * defaults, a full spec, the round trip, and one refusal for every rule of
 * ferry-vm(5) and of the code, each checked for FY_ERR_INVAL and for an
 * error message that starts with the field it names ("disks[2].file: ...").
 * Last, the defaults that define fills (UUID, MACs, a new disk's format and
 * size) through a qemu domain on a private state directory.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include "common.h"
#include "gateway/gateway.h"
#include "gateway/domain.h"
#include "tests/tap.h"
#include "tests/unit/helpers.h"

#define TXT_MAX		8192

/* ---- building specs ---- */

/*
 * JSON text with ' for " (readable literals), parsed with duplicates
 * refused as the federation API does (and any value at the top, so that
 * scalars can be written here too).
 */
static json_t *J(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *
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

/* prefix, n copies of c, suffix: in one of 8 rotating buffers (one expression may hold several). */
static const char *
rep(const char *prefix, char c, size_t n, const char *suffix)
{
	static char bufs[8][TXT_MAX];
	static unsigned which;
	char *b = bufs[which++ % 8];
	size_t p = strlen(prefix), s = strlen(suffix);

	if (p + n + s >= TXT_MAX)
		bail("rep too long");
	memcpy(b, prefix, p);
	memset(b + p, c, n);
	memcpy(b + p + n, suffix, s + 1);
	return b;
}

/* 8 disks over two datastores, 8 NICs over two networks, every member set. */
static json_t *
full_j(void)
{
	json_t *j, *disks, *nics, *o;
	char file[64], mac[32], id[16];
	int i;

	j = J("{'name': 'web-1.example_com', 'uuid': '0F8FAD5B-D9CB-469F-A165-70867728950E', "
	    "'vcpus': 64, 'memory_mib': 1048576, 'machine': 'q35', 'accel': 'kvm', "
	    "'boot': '/srv/images/web1-boot.img', "
	    "'boot_sha256': 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855'}");
	disks = json_array();
	nics = json_array();
	for (i = 0; i < VM_MAX_DISKS; i++) {
		snprintf(id, sizeof(id), "disk%d", VM_MAX_DISKS - 1 - i);	/* ids need not follow positions */
		snprintf(file, sizeof(file), "web1/d%d.%s", i, i % 2 ? "img" : "qcow2");
		o = json_pack("{s:s, s:s, s:s, s:s}", "id", id, "datastore", i % 2 ? "bulk" : "fast",
		    "file", file, "format", i % 2 ? "raw" : "qcow2");
		if (i == 0)
			json_object_set_new(o, "size", json_string("10G"));
		else if (i == 1)
			json_object_set_new(o, "size", json_string("1T"));
		else
			json_object_set_new(o, "size", json_integer((json_int_t)i << 30));
		json_array_append_new(disks, o);
	}
	for (i = 0; i < VM_MAX_NICS; i++) {
		snprintf(mac, sizeof(mac), "52:54:00:AB:CD:%02X", 0xe0 + i);
		json_array_append_new(nics, json_pack("{s:s, s:s}", "network", i % 2 ? "dmz" : "lan", "mac", mac));
	}
	json_object_set_new(j, "disks", disks);
	json_object_set_new(j, "nics", nics);
	return j;
}

/*
 * Set (v != NULL) or delete (v == NULL) one member of j, named like an
 * error names it: "name", "disks", "disks[2]", "disks[2].file".
 * Steals v; returns j.
 */
static json_t *
with(json_t *j, const char *path, json_t *v)
{
	char arr[16], mem[32];
	json_t *o;
	int i;

	if (sscanf(path, "%15[a-z][%d].%31s", arr, &i, mem) == 3) {
		if ((o = json_array_get(json_object_get(j, arr), (size_t)i)) == NULL)
			bail("with %s: no such element", path);
		if (v == NULL)
			json_object_del(o, mem);
		else
			json_object_set_new(o, mem, v);
	} else if (sscanf(path, "%15[a-z][%d]", arr, &i) == 2) {
		if ((o = json_object_get(j, arr)) == NULL || (size_t)i >= json_array_size(o))
			bail("with %s: no such element", path);
		if (v == NULL)
			json_array_remove(o, (size_t)i);
		else
			json_array_set_new(o, (size_t)i, v);
	} else if (v == NULL)
		json_object_del(j, path);
	else
		json_object_set_new(j, path, v);
	return j;
}

/* ---- checking ---- */

/* The first field that differs, NULL when a and b are the same spec. */
static const char *
spec_diff(const struct vm_spec *a, const struct vm_spec *b)
{
	static char f[48];
	int i;

#define S(x, n) if (strcmp(a->x, b->x) != 0) return n
#define N(x, n) if (a->x != b->x) return n
	S(name, "name"); S(uuid, "uuid"); N(vcpus, "vcpus"); N(memory_mib, "memory_mib");
	S(machine, "machine"); S(boot, "boot"); S(boot_sha256, "boot_sha256"); S(accel, "accel");
	N(ndisks, "ndisks"); N(nnics, "nnics");
	for (i = 0; i < a->ndisks && i < VM_MAX_DISKS; i++) {
		snprintf(f, sizeof(f), "disks[%d]", i);
		S(disks[i].id, f); S(disks[i].datastore, f); S(disks[i].file, f); S(disks[i].format, f);
		N(disks[i].size, f);
	}
	for (i = 0; i < a->nnics && i < VM_MAX_NICS; i++) {
		snprintf(f, sizeof(f), "nics[%d]", i);
		S(nics[i].network, f); S(nics[i].mac, f);
	}
#undef S
#undef N
	return NULL;
}

/* Parse j (consumed); bails out when refused. */
static void
good(json_t *j, struct vm_spec *sp, const char *label)
{
	struct fy_error err = { 0, "" };
	int r;

	if (j == NULL)
		bail("%s: no JSON", label);
	r = vm_spec_from_json(j, sp, &err);
	json_decref(j);
	if (!is_int(r, 0, "%s: accepted", label))
		diag("%s", err.msg);
}

/*
 * j (consumed) is refused with FY_ERR_INVAL and a message that starts with
 * "field:" and, if also is given, contains it.
 */
static void
bad(json_t *j, const char *field, const char *also, const char *label)
{
	struct fy_error err = { 0, "" };
	struct vm_spec sp;
	char want[64];
	int r;

	if (j == NULL)
		bail("%s: no JSON", label);
	memset(err.msg, 'X', sizeof(err.msg) - 1);
	err.msg[sizeof(err.msg) - 1] = '\0';
	r = vm_spec_from_json(j, &sp, &err);
	json_decref(j);
	snprintf(want, sizeof(want), "%s: ", field);
	is_int(r, FY_ERR_INVAL, "%s: refused", label);
	if (!ok(err.code == r && strncmp(err.msg, want, strlen(want)) == 0 &&
	    (also == NULL || strstr(err.msg, also) != NULL), "%s: error names %s", label, field))
		diag("error %d: %s", err.code, err.msg);
}

/* Round trip: to_json, text, parse again, same struct. */
static void
round_trip(const struct vm_spec *sp, const char *label)
{
	struct fy_error err = { 0, "" };
	struct vm_spec back;
	json_error_t je;
	json_t *j, *j2;
	const char *d;
	char *s;
	int r;

	if ((j = vm_spec_to_json(sp)) == NULL || (s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		bail("%s: vm_spec_to_json failed", label);
	json_decref(j);
	j2 = json_loads(s, JSON_REJECT_DUPLICATES, &je);
	free(s);
	if (j2 == NULL)
		bail("%s: to_json text does not parse: %s", label, je.text);
	memset(&back, 0x5a, sizeof(back));
	r = vm_spec_from_json(j2, &back, &err);
	json_decref(j2);
	if (!is_int(r, 0, "%s: round trip accepted", label))
		diag("%s", err.msg);
	d = spec_diff(sp, &back);
	if (!ok(d == NULL, "%s: round trip equal field by field", label))
		diag("differs in %s", d);
}

/* The n bytes at s are lower-case hex digits. */
static int
is_lower_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Lower-case 8-4-4-4-12, version 4, RFC 4122 variant. */
static int
is_uuid_v4(const char *u)
{
	size_t i;

	if (strlen(u) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (u[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)u[i]) || isupper((unsigned char)u[i]))
			return 0;
	}
	return u[14] == '4' && strchr("89ab", u[19]) != NULL;
}

/* ---- the cases ---- */

/*
 * Datastore and network names: 1-63 printable ASCII characters, inner
 * spaces allowed ("VM Network"); no ',', '=', '"' or '\\' (the separators
 * of qemu_datastores, qemu_networks and the maps).
 */
static const char *const bad_labels[] = { "", " lan", "lan ", " ", "a,b", "fast=/etc", "a\"b", "a\\b",
    "a\tb", "a\nb", "a\x7f", "r\xc3\xa9seau" };

static void
test_minimal(void)
{
	struct vm_spec sp;
	json_t *j;

	good(J("{'name': 'a'}"), &sp, "minimal");
	is_str(sp.name, "a", "minimal: name");
	is_str(sp.uuid, "", "minimal: no uuid until define");
	is_int(sp.vcpus, 1, "minimal: vcpus default 1");
	is_int(sp.memory_mib, 128, "minimal: memory_mib default 128");
	is_str(sp.machine, "pc", "minimal: machine default pc");
	is_str(sp.accel, "tcg", "minimal: accel default tcg");
	is_str(sp.boot, "", "minimal: no boot");
	is_str(sp.boot_sha256, "", "minimal: no boot_sha256");
	is_int(sp.ndisks, 0, "minimal: no disks");
	is_int(sp.nnics, 0, "minimal: no NICs");
	round_trip(&sp, "minimal");

	/* What to_json writes for it: defaults explicit, nothing empty. */
	j = vm_spec_to_json(&sp);
	ok(j != NULL && json_object_get(j, "uuid") == NULL && json_object_get(j, "boot") == NULL &&
	    json_object_get(j, "boot_sha256") == NULL, "minimal: to_json leaves out empty uuid and boot");
	ok(json_is_string(json_object_get(j, "machine")) && json_is_string(json_object_get(j, "accel")) &&
	    json_array_size(json_object_get(j, "disks")) == 0, "minimal: to_json states machine, accel, disks");
	json_decref(j);

	/* null is the same as absent. */
	good(J("{'name': 'a', 'uuid': null, 'vcpus': null, 'memory_mib': null, 'machine': null, "
	    "'accel': null, 'boot': null, 'boot_sha256': null, 'disks': null, 'nics': null}"), &sp, "all null");
	ok(sp.vcpus == 1 && sp.memory_mib == 128 && strcmp(sp.machine, "pc") == 0 &&
	    strcmp(sp.accel, "tcg") == 0 && sp.ndisks == 0 && sp.nnics == 0, "all null: defaults");
	good(J("{'name': 'a', 'boot': '', 'disks': [], 'nics': []}"), &sp, "empty boot and arrays");
	ok(sp.boot[0] == '\0' && sp.ndisks == 0 && sp.nnics == 0, "empty boot and arrays: none");

	/* A disk and a NIC with only what is required. */
	good(J("{'name': 'b', 'disks': [{'datastore': 'fast', 'file': 'b.img'}, "
	    "{'datastore': 'fast', 'file': 'c.img'}], 'nics': [{'network': 'lan'}]}"), &sp, "minimal disk, NIC");
	is_str(sp.disks[0].id, "disk0", "minimal disk: id defaults to disk0");
	is_str(sp.disks[1].id, "disk1", "minimal disk: second id defaults to disk1");
	is_str(sp.disks[0].format, "", "minimal disk: format left to define");
	is_int(sp.disks[0].size, 0, "minimal disk: size left to define");
	is_str(sp.nics[0].mac, "", "minimal NIC: mac left to define");
	round_trip(&sp, "minimal disk, NIC");
}

static void
test_full(void)
{
	struct vm_spec sp;
	char mac[18], file[32];
	int i, okd = 1, okn = 1;
	json_t *j;

	good(full_j(), &sp, "full");
	is_str(sp.name, "web-1.example_com", "full: name");
	is_str(sp.uuid, "0f8fad5b-d9cb-469f-a165-70867728950e", "full: uuid in lower case");
	is_int(sp.vcpus, 64, "full: 64 vcpus");
	is_int(sp.memory_mib, 1048576, "full: 1 TiB memory");
	is_str(sp.machine, "q35", "full: machine");
	is_str(sp.accel, "kvm", "full: accel");
	is_str(sp.boot, "/srv/images/web1-boot.img", "full: boot");
	is_str(sp.boot_sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "full: boot_sha256 in lower case");
	is_int(sp.ndisks, 8, "full: 8 disks");
	is_int(sp.nnics, 8, "full: 8 NICs");
	for (i = 0; i < VM_MAX_DISKS; i++) {
		snprintf(file, sizeof(file), "web1/d%d.%s", i, i % 2 ? "img" : "qcow2");
		if (sp.disks[i].id[4] != '0' + VM_MAX_DISKS - 1 - i || strcmp(sp.disks[i].file, file) != 0 ||
		    strcmp(sp.disks[i].datastore, i % 2 ? "bulk" : "fast") != 0 ||
		    strcmp(sp.disks[i].format, i % 2 ? "raw" : "qcow2") != 0) {
			diag("disks[%d]: %s %s %s %s", i, sp.disks[i].id, sp.disks[i].datastore, sp.disks[i].file,
			    sp.disks[i].format);
			okd = 0;
		}
	}
	ok(okd, "full: every disk's id, datastore, file, format");
	is_int(sp.disks[0].size, 10LL << 30, "full: size \"10G\"");
	is_int(sp.disks[1].size, 1LL << 40, "full: size \"1T\"");
	is_int(sp.disks[7].size, 7LL << 30, "full: size in bytes");
	for (i = 0; i < VM_MAX_NICS; i++) {
		snprintf(mac, sizeof(mac), "52:54:00:ab:cd:%02x", 0xe0 + i);
		if (strcmp(sp.nics[i].mac, mac) != 0 || strcmp(sp.nics[i].network, i % 2 ? "dmz" : "lan") != 0) {
			diag("nics[%d]: %s %s", i, sp.nics[i].network, sp.nics[i].mac);
			okn = 0;
		}
	}
	ok(okn, "full: every NIC's network and mac (in lower case)");
	round_trip(&sp, "full");

	/* The longest of everything. */
	j = full_j();
	with(j, "name", json_string(rep("n", 'x', VM_NAME_MAX - 1, "")));
	with(j, "boot", json_string(rep("/", 'b', VM_PATH_MAX - 1, "")));
	with(j, "machine", json_string(rep("", 'm', 31, "")));
	with(j, "disks[3].file", json_string(rep("", 'f', VM_PATH_MAX, "")));
	with(j, "disks[4].size", json_integer(64LL << 40));
	good(j, &sp, "longest values");
	ok(strlen(sp.name) == VM_NAME_MAX && strlen(sp.boot) == VM_PATH_MAX && strlen(sp.machine) == 31 &&
	    strlen(sp.disks[3].file) == VM_PATH_MAX && sp.disks[4].size == 64ULL << 40,
	    "longest values: kept whole");
	round_trip(&sp, "longest values");
	j = full_j();
	with(j, "disks[3].datastore", json_string(rep("d", 's', 62, "")));
	with(j, "nics[3].network", json_string(rep("n", 't', 62, "")));
	with(j, "disks[4].size", json_integer(1));
	good(j, &sp, "longest names, smallest size");
	ok(strlen(sp.disks[3].datastore) == 63 && strlen(sp.nics[3].network) == 63 && sp.disks[4].size == 1,
	    "longest names: kept whole");
	round_trip(&sp, "longest names");

	/* The man page's example. */
	good(J("{ 'name': 'web1', 'vcpus': 2, 'memory_mib': 2048, 'boot': '/srv/images/web1-boot.img', "
	    "'disks': [ { 'datastore': 'fast', 'file': 'web1.qcow2', 'format': 'qcow2', 'size': '10G' } ], "
	    "'nics': [ { 'network': 'lan' } ] }"), &sp, "ferry-vm(5) example");
	ok(sp.vcpus == 2 && sp.memory_mib == 2048 && sp.ndisks == 1 && sp.disks[0].size == 10ULL << 30 &&
	    sp.nnics == 1, "ferry-vm(5) example: values");

	/* Accepted forms. */
	good(with(full_j(), "disks[2].size", json_string("64K")), &sp, "size 64K");
	is_int(sp.disks[2].size, 64 << 10, "size 64K: bytes");
	good(with(full_j(), "disks[2].size", json_string("2m")), &sp, "size 2m");
	is_int(sp.disks[2].size, 2 << 20, "size 2m: bytes");
	good(with(full_j(), "disks[2].size", json_string("512")), &sp, "size \"512\"");
	is_int(sp.disks[2].size, 512, "size \"512\": bytes");
	good(with(with(full_j(), "disks[0].file", json_string("a/b_c+d-e.f/.hidden/...")), "disks[1].file",
	    json_string("web1/d0.qcow2")), &sp, "file: dots inside names, same file in another datastore");
	good(with(with(full_j(), "disks[0].id", NULL), "disks[7].id", json_string("disk7")), &sp,
	    "default id beside explicit ones");
	is_str(sp.disks[0].id, "disk0", "default id: position");
	good(with(with(with(full_j(), "nics[0].mac", json_string("02:00:00:00:00:01")), "nics[1].mac",
	    json_string("FE:FF:FF:FF:FF:FF")), "nics[2].mac", NULL), &sp, "mac: locally administered, absent");
	is_str(sp.nics[1].mac, "fe:ff:ff:ff:ff:ff", "mac: lower case");
	good(with(J("{'name': 'z'}"), "nics", J("[{'network': 'a'}, {'network': 'a'}, {'network': 'a'}]")),
	    &sp, "three NICs without mac on one network");
	good(with(with(full_j(), "boot", NULL), "boot_sha256", NULL), &sp, "no boot, no hash");
	good(with(full_j(), "boot_sha256", NULL), &sp, "boot without hash");
	j = full_j();
	with(j, "disks[0].datastore", json_string("Datastore 1 (ssd)"));
	with(j, "nics[0].network", json_string("VM Network"));
	good(j, &sp, "vCenter-style datastore and network names");
	ok(strcmp(sp.disks[0].datastore, "Datastore 1 (ssd)") == 0 && strcmp(sp.nics[0].network, "VM Network") == 0,
	    "vCenter-style names: kept");
	round_trip(&sp, "vCenter-style names");
	good(with(full_j(), "accel", json_string("tcg")), &sp, "accel tcg");
	good(J("{'name': '0'}"), &sp, "name of one digit");
	good(J("{'name': 'a', 'vcpus': 1, 'memory_mib': 1}"), &sp, "smallest vcpus and memory");
	ok(sp.vcpus == 1 && sp.memory_mib == 1, "smallest vcpus and memory: values");
}

static void
test_top(void)
{
	bad(J("[]"), "spec", NULL, "an array");
	bad(J("'web1'"), "spec", NULL, "a string");
	bad(J("null"), "spec", NULL, "null");
	bad(J("{}"), "name", "missing", "empty object");
	bad(with(full_j(), "nmae", json_string("x")), "spec", "unknown member \"nmae\"", "unknown top member");
	bad(with(full_j(), "state", json_string("running")), "spec", "unknown member \"state\"",
	    "unknown top member state");
	bad(with(full_j(), "Name", json_string("x")), "spec", "unknown member \"Name\"", "member names are case-sensitive");
}

static void
test_name(void)
{
	bad(with(full_j(), "name", NULL), "name", "missing", "name missing");
	bad(with(full_j(), "name", json_null()), "name", "missing", "name null");
	bad(with(full_j(), "name", json_integer(1)), "name", NULL, "name a number");
	bad(with(full_j(), "name", json_true()), "name", NULL, "name a boolean");
	bad(with(full_j(), "name", J("['a']")), "name", NULL, "name an array");
	bad(with(full_j(), "name", json_string("")), "name", NULL, "name empty");
	bad(with(full_j(), "name", json_string("-web")), "name", NULL, "name starting with -");
	bad(with(full_j(), "name", json_string(".web")), "name", NULL, "name starting with .");
	bad(with(full_j(), "name", json_string("web 1")), "name", NULL, "name with a space");
	bad(with(full_j(), "name", json_string("web/1")), "name", NULL, "name with /");
	bad(with(full_j(), "name", json_string("../x")), "name", NULL, "name ../x");
	bad(with(full_j(), "name", json_string("web\n1")), "name", NULL, "name with a newline");
	bad(with(full_j(), "name", json_string("w\xc3\xa9" "b")), "name", NULL, "name not ASCII");
	bad(with(full_j(), "name", json_string(rep("n", 'x', VM_NAME_MAX, ""))), "name", NULL, "name of 64");
	bad(with(full_j(), "name", json_string(rep("n", 'x', 4000, ""))), "name", NULL, "name of 4001");
}

static void
test_uuid(void)
{
	static const char *const bad_uuids[] = {
		"", "0f8fad5b-d9cb-469f-a165-70867728950", "0f8fad5b-d9cb-469f-a165-70867728950e0",
		"0f8fad5bd-9cb-469f-a165-70867728950e", "0f8fad5b-d9cb-469f-a165_70867728950e",
		"0f8fad5b-d9cb-469f-a165-70867728950g", "{0f8fad5b-d9cb-469f-a165-70867728950}",
		"0f8fad5bd9cb469fa16570867728950e", " f8fad5b-d9cb-469f-a165-70867728950e",
		"0f8fad5b-d9cb-469f-a165-70867728950\xc3\xa9",
	};
	size_t i;
	char label[64];

	for (i = 0; i < sizeof(bad_uuids) / sizeof(bad_uuids[0]); i++) {
		snprintf(label, sizeof(label), "uuid \"%.40s\"", bad_uuids[i]);
		bad(with(full_j(), "uuid", json_string(bad_uuids[i])), "uuid", NULL, label);
	}
	bad(with(full_j(), "uuid", json_integer(1)), "uuid", NULL, "uuid a number");
	bad(with(full_j(), "uuid", J("{}")), "uuid", NULL, "uuid an object");
}

static void
test_numbers(void)
{
	bad(with(full_j(), "vcpus", json_integer(0)), "vcpus", "1 to 64", "vcpus 0");
	bad(with(full_j(), "vcpus", json_integer(65)), "vcpus", "1 to 64", "vcpus 65");
	bad(with(full_j(), "vcpus", json_integer(-1)), "vcpus", NULL, "vcpus -1");
	bad(with(full_j(), "vcpus", json_integer(4294967297LL)), "vcpus", NULL, "vcpus 2^32+1");
	bad(with(full_j(), "vcpus", J("-9223372036854775808")), "vcpus", NULL, "vcpus INT64_MIN");
	bad(with(full_j(), "vcpus", json_string("2")), "vcpus", NULL, "vcpus a string");
	bad(with(full_j(), "vcpus", json_real(2.0)), "vcpus", NULL, "vcpus a real");
	bad(with(full_j(), "vcpus", json_true()), "vcpus", NULL, "vcpus a boolean");
	bad(with(full_j(), "memory_mib", json_integer(0)), "memory_mib", "1 to 1048576", "memory_mib 0");
	bad(with(full_j(), "memory_mib", json_integer(VM_MEM_MAX_MIB + 1)), "memory_mib", NULL,
	    "memory_mib 1048577");
	bad(with(full_j(), "memory_mib", J("9223372036854775807")), "memory_mib", NULL, "memory_mib INT64_MAX");
	bad(with(full_j(), "memory_mib", json_integer(-128)), "memory_mib", NULL, "memory_mib negative");
	bad(with(full_j(), "memory_mib", json_string("128")), "memory_mib", NULL, "memory_mib a string");
	bad(with(full_j(), "memory_mib", json_real(128.5)), "memory_mib", NULL, "memory_mib a real");
}

static void
test_machine_accel_boot(void)
{
	bad(with(full_j(), "machine", json_string("")), "machine", NULL, "machine empty");
	bad(with(full_j(), "machine", json_string("pc,accel=kvm")), "machine", NULL, "machine with a comma");
	bad(with(full_j(), "machine", json_string("-pc")), "machine", NULL, "machine starting with -");
	bad(with(full_j(), "machine", json_string("pc q35")), "machine", NULL, "machine with a space");
	bad(with(full_j(), "machine", json_string(rep("", 'm', 32, ""))), "machine", NULL, "machine of 32");
	bad(with(full_j(), "machine", json_integer(35)), "machine", NULL, "machine a number");
	bad(with(full_j(), "accel", json_string("xen")), "accel", "tcg or kvm", "accel xen");
	bad(with(full_j(), "accel", json_string("KVM")), "accel", NULL, "accel KVM");
	bad(with(full_j(), "accel", json_string("kvm:tcg")), "accel", NULL, "accel kvm:tcg");
	bad(with(full_j(), "accel", json_string("")), "accel", NULL, "accel empty");
	bad(with(full_j(), "accel", json_false()), "accel", NULL, "accel a boolean");
	bad(with(full_j(), "boot", json_string("images/boot.img")), "boot", NULL, "boot relative");
	bad(with(full_j(), "boot", json_string("boot.img")), "boot", NULL, "boot a bare name");
	bad(with(full_j(), "boot", json_string("/srv/../etc/shadow")), "boot", NULL, "boot with /../");
	bad(with(full_j(), "boot", json_string("/srv/x\n/y")), "boot", NULL, "boot with a newline");
	bad(with(full_j(), "boot", json_string(rep("/", 'b', VM_PATH_MAX, ""))), "boot", NULL, "boot of 256");
	bad(with(full_j(), "boot", json_string(rep("/", 'b', 5000, ""))), "boot", NULL, "boot of 5001");
	bad(with(full_j(), "boot", json_integer(0)), "boot", NULL, "boot a number");
	bad(with(full_j(), "boot_sha256", json_string("e3b0c442")), "boot_sha256", NULL, "boot_sha256 short");
	bad(with(full_j(), "boot_sha256", json_string(rep("", 'a', 65, ""))), "boot_sha256", NULL,
	    "boot_sha256 of 65");
	bad(with(full_j(), "boot_sha256", json_string(rep("", 'g', 64, ""))), "boot_sha256", NULL,
	    "boot_sha256 not hex");
	bad(with(full_j(), "boot_sha256", json_integer(1)), "boot_sha256", NULL, "boot_sha256 a number");
	bad(with(with(full_j(), "boot", NULL), "boot_sha256", json_string(rep("", 'a', 64, ""))),
	    "boot_sha256", "without boot", "boot_sha256 without boot");
}

static void
test_disks(void)
{
	static const char *const bad_ids[] = { "disk8", "disk9", "disk", "disk00", "disk01", "Disk0", "DISK0",
	    "sda", "disk-1", "disk/", "", "disk0 ", "xdisk0" };
	static const char *const bad_files[] = { "..", "../x", "a/../b", "a/..", ".", "./a", "a/./b", "a/.",
	    "/abs", "/", "a/", "a//b", "", "a b", "a;b", "a,b", "a:b", "a\\b", "a\nb", "a*", "~/x",
	    "d\xc3\xa9.img" };
	static const char *const bad_sizes[] = { "0", "-1", "1.5G", "2T", "1025G", "10X", "10GB", "10 G", " 1G",
	    "1G ", "", "G", "0x10", "1e3", "99999999999999999999", "9223372036854775807" };
	json_t *j;
	size_t i;
	char label[80];

	bad(with(full_j(), "disks", J("{}")), "disks", NULL, "disks an object");
	bad(with(full_j(), "disks", json_string("disk0")), "disks", NULL, "disks a string");
	j = full_j();
	json_array_append_new(json_object_get(j, "disks"), J("{'datastore': 'fast', 'file': 'ninth'}"));
	bad(j, "disks", "at most 8", "9 disks");
	bad(with(full_j(), "disks[2]", json_string("fast:x")), "disks[2]", "object", "disk a string");
	bad(with(full_j(), "disks[2]", json_null()), "disks[2]", "object", "disk null");
	bad(with(full_j(), "disks[2]", J("[]")), "disks[2]", "object", "disk an array");
	bad(with(full_j(), "disks[1].sizee", json_string("1G")), "disks[1]", "unknown member \"sizee\"",
	    "unknown disk member (the man page's example)");
	bad(with(full_j(), "disks[7].path", json_string("/x")), "disks[7]", "unknown member \"path\"",
	    "unknown disk member in the last disk");

	for (i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		snprintf(label, sizeof(label), "disk id \"%s\"", bad_ids[i]);
		bad(with(full_j(), "disks[2].id", json_string(bad_ids[i])), "disks[2].id", NULL, label);
	}
	bad(with(full_j(), "disks[2].id", json_integer(0)), "disks[2].id", NULL, "disk id a number");
	bad(with(full_j(), "disks[3].id", json_string("disk7")), "disks[3].id", "disks[0]", "duplicate disk id");
	bad(with(with(full_j(), "disks[0].id", json_string("disk1")), "disks[1].id", NULL), "disks[1].id",
	    "disks[0]", "default id taken by an explicit one");

	bad(with(full_j(), "disks[5].datastore", NULL), "disks[5].datastore", "missing", "datastore missing");
	for (i = 0; i < sizeof(bad_labels) / sizeof(bad_labels[0]); i++) {
		snprintf(label, sizeof(label), "datastore \"%s\"", bad_labels[i]);
		bad(with(full_j(), "disks[5].datastore", json_string(bad_labels[i])), "disks[5].datastore", NULL,
		    label);
	}
	bad(with(full_j(), "disks[5].datastore", json_string(rep("d", 's', 63, ""))), "disks[5].datastore",
	    NULL, "datastore of 64");
	bad(with(full_j(), "disks[5].datastore", json_integer(1)), "disks[5].datastore", NULL,
	    "datastore a number");

	bad(with(full_j(), "disks[2].file", NULL), "disks[2].file", "missing", "file missing");
	for (i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		snprintf(label, sizeof(label), "file \"%s\"", bad_files[i]);
		bad(with(full_j(), "disks[2].file", json_string(bad_files[i])), "disks[2].file", NULL, label);
	}
	bad(with(full_j(), "disks[2].file", json_string(rep("", 'f', VM_PATH_MAX + 1, ""))), "disks[2].file",
	    NULL, "file of 256");
	bad(with(full_j(), "disks[2].file", json_string(rep("", 'f', 6000, ""))), "disks[2].file", NULL,
	    "file of 6000");
	bad(with(full_j(), "disks[2].file", J("['a']")), "disks[2].file", NULL, "file an array");
	bad(with(full_j(), "disks[4].file", json_string("web1/d0.qcow2")), "disks[4].file", "disks[0]",
	    "same file twice in one datastore");

	bad(with(full_j(), "disks[6].format", json_string("vmdk")), "disks[6].format", "raw or qcow2",
	    "format vmdk");
	bad(with(full_j(), "disks[6].format", json_string("RAW")), "disks[6].format", NULL, "format RAW");
	bad(with(full_j(), "disks[6].format", json_string("")), "disks[6].format", NULL, "format empty");
	bad(with(full_j(), "disks[6].format", json_string("qcow2\n")), "disks[6].format", NULL, "format qcow2\\n");
	bad(with(full_j(), "disks[6].format", json_integer(2)), "disks[6].format", NULL, "format a number");

	for (i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		snprintf(label, sizeof(label), "size \"%s\"", bad_sizes[i]);
		bad(with(full_j(), "disks[2].size", json_string(bad_sizes[i])), "disks[2].size", NULL, label);
	}
	bad(with(full_j(), "disks[2].size", json_integer(0)), "disks[2].size", NULL, "size 0");
	bad(with(full_j(), "disks[2].size", json_integer(-512)), "disks[2].size", NULL, "size negative");
	bad(with(full_j(), "disks[2].size", json_integer((64LL << 40) + 1)), "disks[2].size", NULL,
	    "size 64 TiB + 1");
	bad(with(full_j(), "disks[2].size", J("9223372036854775807")), "disks[2].size", NULL, "size INT64_MAX");
	bad(with(full_j(), "disks[2].size", json_real(1e9)), "disks[2].size", NULL, "size a real");
	bad(with(full_j(), "disks[2].size", json_true()), "disks[2].size", NULL, "size a boolean");
}

static void
test_nics(void)
{
	static const char *const bad_macs[] = {
		"01:00:5e:00:00:01", "53:54:00:12:34:56", "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00",
		"52:54:00:12:34", "52:54:00:12:34:5", "52:54:00:12:34:567", "52:54:00:12:34:56:78",
		"52-54-00-12-34-56", "5254.0012.3456", "525400123456", "52:54:00:12:34:5g", "52:54:00:12:34: 6",
		"52:54:00:12:34:+6", "52:54:00:12:3:456", "", " 52:54:00:12:34:56", "52:54:00:12:34:56 ",
	};
	json_t *j;
	size_t i;
	char label[80];

	bad(with(full_j(), "nics", J("{}")), "nics", NULL, "nics an object");
	bad(with(full_j(), "nics", json_integer(1)), "nics", NULL, "nics a number");
	j = full_j();
	json_array_append_new(json_object_get(j, "nics"), J("{'network': 'lan'}"));
	bad(j, "nics", "at most 8", "9 NICs");
	bad(with(full_j(), "nics[0]", json_string("lan")), "nics[0]", "object", "NIC a string");
	bad(with(full_j(), "nics[3]", json_null()), "nics[3]", "object", "NIC null");
	bad(with(full_j(), "nics[0].model", json_string("virtio")), "nics[0]", "unknown member \"model\"",
	    "unknown NIC member");
	bad(with(full_j(), "nics[6].network", NULL), "nics[6].network", "missing", "network missing");
	for (i = 0; i < sizeof(bad_labels) / sizeof(bad_labels[0]); i++) {
		snprintf(label, sizeof(label), "network \"%s\"", bad_labels[i]);
		bad(with(full_j(), "nics[6].network", json_string(bad_labels[i])), "nics[6].network", NULL, label);
	}
	bad(with(full_j(), "nics[6].network", json_string(rep("n", 't', 63, ""))), "nics[6].network", NULL,
	    "network of 64");
	bad(with(full_j(), "nics[6].network", json_integer(0)), "nics[6].network", NULL, "network a number");
	for (i = 0; i < sizeof(bad_macs) / sizeof(bad_macs[0]); i++) {
		snprintf(label, sizeof(label), "mac \"%s\"", bad_macs[i]);
		bad(with(full_j(), "nics[4].mac", json_string(bad_macs[i])), "nics[4].mac", NULL, label);
	}
	bad(with(full_j(), "nics[4].mac", json_integer(0x525400123456LL)), "nics[4].mac", NULL, "mac a number");
	bad(with(full_j(), "nics[5].mac", json_string("52:54:00:ab:cd:e2")), "nics[5].mac", "nics[2]",
	    "duplicate mac");
	bad(with(full_j(), "nics[5].mac", json_string("52:54:00:AB:cd:E2")), "nics[5].mac", "nics[2]",
	    "duplicate mac in another case");
}

/*
 * A refusal goes back to the peer and into ferryd's log and audit trail
 * (fed.c refuse(): log_warnx("... refused: %s")): the peer's bytes quoted
 * in it must not carry control characters, or a peer forges log lines.
 */
static void
test_messages(void)
{
	static const char *const fields[] = { "name", "uuid", "machine", "accel", "boot", "disks[0].id",
	    "disks[0].datastore", "disks[0].file", "disks[0].format", "disks[0].size", "nics[0].network",
	    "nics[0].mac", NULL };
	static const char evil[] = "/x\n2026-11-22 00:00:00Z forged: \x1b[2J";
	struct fy_error err;
	struct vm_spec sp;
	char echo[256] = "";
	json_t *j;
	size_t i, k;
	int r, clean = 1;

	for (i = 0; fields[i] != NULL; i++) {
		j = with(J("{'name': 'a', 'disks': [{'datastore': 'fast', 'file': 'a.img'}], "
		    "'nics': [{'network': 'lan'}]}"), fields[i], json_string(evil));
		memset(&err, 0, sizeof(err));
		r = vm_spec_from_json(j, &sp, &err);
		json_decref(j);
		for (k = 0; r != 0 && err.msg[k] != '\0'; k++)
			if ((unsigned char)err.msg[k] < 0x20 || err.msg[k] == 0x7f)
				break;
		if (r == 0 || err.msg[k] != '\0') {
			clean = 0;
			snprintf(echo + strlen(echo), sizeof(echo) - strlen(echo), " %s", fields[i]);
		}
	}
	j = J("{'name': 'a'}");
	json_object_set_new(j, evil, json_true());
	memset(&err, 0, sizeof(err));
	r = vm_spec_from_json(j, &sp, &err);
	json_decref(j);
	if (r == 0 || strpbrk(err.msg, "\n\x1b") != NULL) {
		clean = 0;
		snprintf(echo + strlen(echo), sizeof(echo) - strlen(echo), " (unknown member)");
	}
	if (!ok(clean, "refusals quote no control characters"))
		diag("raw control characters in the errors for:%s", echo);
}

/* ---- define: what the domain fills in ---- */

static void
test_define(void)
{
	struct domain *dom = NULL;
	struct fy_error err = { 0, "" };
	struct vm_spec sp, got;
	struct site site;
	char *tmp, ds[512], conf_ds[1100], path[600];
	const char *qemu_img = "/usr/bin/qemu-img";
	const char *d;
	int r;

	tmp = t_tmpdir("vmspec");
	t_path(ds, sizeof(ds), tmp, "fast");
	if (mkdir(ds, 0700) != 0)
		bail("mkdir %s", ds);
	snprintf(conf_ds, sizeof(conf_ds), "fast=%s", ds);
	memset(&site, 0, sizeof(site));
	pthread_mutex_init(&site.mtx, NULL);
	pthread_mutex_init(&site.rotate_mtx, NULL);
	site.conf.site_name = "vmspec-t";
	site.conf.domain = "qemu";
	site.conf.state_dir = tmp;
	site.conf.qemu_binary = "/nonexistent/qemu-system";
	site.conf.qemu_img = (char *)qemu_img;
	site.conf.qemu_datastores = conf_ds;
	site.conf.qemu_networks = "lan,dmz";
	if ((r = dom_qemu_new(&site, &dom, &err)) != 0)
		bail("dom_qemu_new: %s", err.msg);

	good(J("{'name': 'min'}"), &sp, "define: minimal spec");
	r = dom->ops->define(dom, &sp, &err);
	if (!is_int(r, 0, "define: minimal spec defined"))
		diag("%s", err.msg);
	ok(is_uuid_v4(sp.uuid), "define: generated uuid %s is lower-case version 4", sp.uuid);
	r = dom->ops->lookup(dom, "min", &got, NULL, &err);
	is_int(r, 0, "define: lookup");
	d = spec_diff(&sp, &got);
	if (!ok(r == 0 && d == NULL, "define: stored spec equals the defined one"))
		diag("differs in %s", d ? d : "?");
	ok(strcmp(got.machine, "pc") == 0 && strcmp(got.accel, "tcg") == 0 && got.vcpus == 1 &&
	    got.memory_mib == 128, "define: stored defaults pc, tcg, 1 vCPU, 128 MiB");

	good(J("{'name': 'min2', 'nics': [{'network': 'lan'}, {'network': 'dmz', 'mac': '02:AA:BB:CC:DD:EE'}]}"),
	    &sp, "define: spec with NICs");
	r = dom->ops->define(dom, &sp, &err);
	if (!is_int(r, 0, "define: spec with NICs defined"))
		diag("%s", err.msg);
	ok(strncmp(sp.nics[0].mac, "52:54:00:", 9) == 0 && strlen(sp.nics[0].mac) == 17 &&
	    is_lower_hex(sp.nics[0].mac + 9, 2) && is_lower_hex(sp.nics[0].mac + 12, 2) &&
	    is_lower_hex(sp.nics[0].mac + 15, 2), "define: generated mac %s", sp.nics[0].mac);
	is_str(sp.nics[1].mac, "02:aa:bb:cc:dd:ee", "define: given mac kept, in lower case");
	ok(is_uuid_v4(sp.uuid) && strcmp(sp.uuid, got.uuid) != 0, "define: another uuid %s", sp.uuid);

	/* Site rules: names the spec's field too. */
	good(J("{'name': 'min'}"), &sp, "define: the same name again");
	r = dom->ops->define(dom, &sp, &err);
	is_int(r, FY_ERR_EXISTS, "define: name taken refused");
	ok(strncmp(err.msg, "name: ", 6) == 0, "define: name taken names name");
	good(J("{'name': 'other', 'uuid': '%s'}", got.uuid), &sp, "define: the same uuid again");
	r = dom->ops->define(dom, &sp, &err);
	is_int(r, FY_ERR_EXISTS, "define: uuid taken refused");
	ok(strncmp(err.msg, "uuid: ", 6) == 0, "define: uuid taken names uuid");
	good(J("{'name': 'other', 'nics': [{'network': 'wan'}]}"), &sp, "define: unknown network");
	r = dom->ops->define(dom, &sp, &err);
	is_int(r, FY_ERR_NOTFOUND, "define: unknown network refused");
	ok(strncmp(err.msg, "nics[0].network: ", 17) == 0, "define: unknown network names nics[0].network");
	good(J("{'name': 'other', 'disks': [{'datastore': 'slow', 'file': 'x.img', 'size': '1M'}]}"), &sp,
	    "define: unknown datastore");
	r = dom->ops->define(dom, &sp, &err);
	is_int(r, FY_ERR_NOTFOUND, "define: unknown datastore refused");
	ok(strncmp(err.msg, "disks[0].datastore: ", 20) == 0, "define: unknown datastore names the field");

	if (access(qemu_img, X_OK) != 0) {
		skip(7, "no %s", qemu_img);
	} else {
		good(J("{'name': 'withdisk', 'disks': [{'datastore': 'fast', 'file': 'w.img', 'size': '1M'}]}"),
		    &sp, "define: spec with a new disk");
		r = dom->ops->define(dom, &sp, &err);
		if (!is_int(r, 0, "define: new disk created"))
			diag("%s", err.msg);
		ok(strcmp(sp.disks[0].format, "raw") == 0 && sp.disks[0].size == 1 << 20,
		    "define: new disk is raw, 1 MiB (%s, %llu)", sp.disks[0].format,
		    (unsigned long long)sp.disks[0].size);
		t_path(path, sizeof(path), ds, "w.img");
		ok(access(path, F_OK) == 0, "define: disk file exists");
		r = dom->ops->lookup(dom, "withdisk", &got, NULL, &err);
		d = spec_diff(&sp, &got);
		if (!ok(r == 0 && d == NULL, "define: stored spec with disk equals the defined one"))
			diag("%d %s / %s", r, d ? d : "", err.msg);
		good(J("{'name': 'samedisk', 'disks': [{'datastore': 'fast', 'file': 'w.img'}]}"), &sp,
		    "define: a file another VM uses");
		r = dom->ops->define(dom, &sp, &err);
		ok(r == FY_ERR_EXISTS && strncmp(err.msg, "disks[0].file: ", 15) == 0,
		    "define: a file another VM uses is refused, naming disks[0].file");
	}
	if (access(qemu_img, X_OK) != 0) {
		skip(2, "no %s", qemu_img);
	} else {
		/*
		 * An existing image larger than the spec allows (64 TiB): define
		 * takes its size from qemu-img, so it must refuse it, or the stored
		 * row would no longer parse (lookup, list, undefine all fail).
		 */
		char cmd[1200];

		t_path(path, sizeof(path), ds, "huge.qcow2");
		snprintf(cmd, sizeof(cmd), "'%s' create -q -f qcow2 '%s' 65T >/dev/null 2>&1", qemu_img, path);
		if (system(cmd) != 0)
			bail("cannot create %s", path);
		good(J("{'name': 'huge', 'disks': [{'datastore': 'fast', 'file': 'huge.qcow2'}]}"), &sp,
		    "define: an existing 65 TiB image");
		r = dom->ops->define(dom, &sp, &err);
		if (r == 0)
			r = dom->ops->lookup(dom, "huge", &got, NULL, &err);
		if (!ok(r != 0 && strncmp(err.msg, "disks[0].size: ", 15) == 0,
		    "define: a 65 TiB image is refused, naming disks[0].size"))
			diag("%d: %s", r, err.msg);
	}
	domain_fini(dom);
	t_rmtree(tmp);
	free(tmp);
}

int
main(void)
{
	plan_lazy();
	fy_log_init("vmspec-t", 1, FY_LOG_WARN);
	test_minimal();
	test_full();
	test_top();
	test_name();
	test_uuid();
	test_numbers();
	test_machine_accel_boot();
	test_disks();
	test_nics();
	test_messages();
	test_define();
	done_testing();
}
