/*
 * vimprop-fuzz - the vim25 property reader (vim_parse_reply in
 * gateway/vim.c): a RetrievePropertiesEx reply as a vCenter sends it, read
 * by gSOAP's generated deserializer into DOM values and copied into the
 * library's own value trees, then every accessor on every value.
 * Corpus: tests/fuzz/corpus/vimprop/ (replies of the simulator and
 * near-misses, named for what they are).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include "stdsoap2.h"
#include "gateway/gateway.h"
#include "gateway/vim.h"
#include "tests/fuzz/fuzz.h"

/*
 * Linked as ferryd is: the vim25 module needs the federation's generated
 * SOAP Header/Fault serializers and gSOAP's runtime its default namespace
 * table (fed.c's); the reader sets its own table on every context.
 */
void (*volatile vimprop_fed_link)(struct fed_client *) = fed_client_free;

static const char *const paths[] = {
	"keyId", "providerId.id", "ManagedObjectReference", "ManagedObjectReference[1]",
	"device[0].backing.port.switchUuid", "device[2].backing.deviceName", "state", "result",
	"error.localizedMessage", "a[", "a[]", "a[x]", "[0]", "..", "", "x[99999999999]",
};

static void
walk(const struct vim_val *v, int depth)
{
	const char *s, *t, *id, *ns;
	long long n;
	size_t i;
	int b;

	if (v == NULL || depth > 200)
		return;
	(void)vim_val_name(v);
	(void)vim_val_type(v, &ns);
	if (ns == NULL)
		abort();
	(void)vim_val_text(v);
	(void)vim_val_attr_type(v);
	if (vim_val_str(v, &s) == 0 && s == NULL)
		abort();
	if (vim_val_int(v, &n) != 0 && n != 0)
		abort();
	if (vim_val_bool(v, &b) == 0 && b != 0 && b != 1)
		abort();
	if (vim_val_moref(v, &t, &id) == 0 && (t == NULL || id == NULL || *t == '\0'))
		abort();
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		(void)vim_val_path(v, paths[i]);
	for (i = 0; i < vim_val_count(v); i++) {
		if (vim_val_child(v, i) == NULL)
			abort();
		walk(vim_val_child(v, i), depth + 1);
	}
	if (vim_val_child(v, vim_val_count(v)) != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vim_objset *s = NULL;
	struct fy_error err;
	const char *name;
	char *token = NULL;
	size_t i, j;

	memset(&err, 0, sizeof(err));
	if (vim_parse_reply((const char *)data, size, &s, &token, &err) != 0) {
		if (s != NULL || token != NULL || err.code == 0 || err.msg[0] == '\0')
			abort();
		return 0;
	}
	for (i = 0; i < vim_objset_count(s); i++) {
		if (vim_obj_type(s, i) == NULL || vim_obj_id(s, i) == NULL || *vim_obj_id(s, i) == '\0')
			abort();
		for (j = 0; j < vim_obj_nprops(s, i); j++) {
			walk(vim_obj_prop_at(s, i, j, &name), 0);
			if (name == NULL || vim_obj_prop(s, i, name) == NULL)
				abort();
		}
		for (j = 0; j < vim_obj_nmissing(s, i); j++)
			if (vim_obj_missing_at(s, i, j) == NULL)
				abort();
	}
	if (vim_obj_type(s, vim_objset_count(s)) != NULL)
		abort();
	free(token);
	vim_objset_free(s);
	return 0;
}
