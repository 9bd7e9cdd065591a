/*
 * vim.h - a client for vCenter's vSphere Web Services API (vim25), the
 * part the vsphere domain driver needs: session, property collector,
 * provisioning checks and task wait.  gSOAP stays behind this header.
 *
 * Trust: the vCenter's certificate is pinned by its SHA-1 (vCenter's own
 * "thumbprint") or SHA-256 fingerprint; a mismatch ends the connection
 * before a byte of HTTP is sent.  Credentials come from a file only the
 * owner can read; the password is read when a login needs it and wiped
 * right after (from gSOAP's buffer too), and never appears in an error
 * message or a log.  OpenSSL's record buffers, which held the Login request
 * before encryption, are not wiped: that copy lives until OpenSSL reuses or
 * frees them.
 *
 * Errors: FY_ERR_* codes with a message in struct fy_error; for SOAP
 * faults the vim25 fault type ("InvalidLogin", "NotAuthenticated",
 * "MethodNotFound", ...) is also kept (vim_fault()).
 * One context serves one thread at a time.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef FY_VIM_H
#define FY_VIM_H

#include <stddef.h>
#include "common.h"

struct fy_error;

#define VIM_TIMEOUT_DEF		30		/* seconds per call */
#define VIM_REPLY_MAX		(32 << 20)	/* bytes in one reply */
#define VIM_OBJECTS_MAX		100000		/* objects in one collect */
#define VIM_PROPS_MAX		256		/* properties asked per collect */
#define VIM_NODES_MAX		4000000		/* value nodes kept per collect */
#define VIM_PAGE_DEF		500		/* RetrieveOptions.maxObjects */

struct vim_opts {
	const char *url;		/* https://HOST[:PORT]/sdk */
	const char *thumbprint;		/* SHA-1 or SHA-256, hex, ':' optional */
	const char *cred_file;		/* user on line 1, password on line 2 */
	int timeout_s;			/* per call (connect, TLS, request, reply); 0: default */
	size_t max_reply;		/* 0: VIM_REPLY_MAX */
	size_t max_objects;		/* 0: VIM_OBJECTS_MAX */
	int page_size;			/* 0: VIM_PAGE_DEF */
};

struct vim;

/*
 * Check the options, read nothing from the network.  The strings are
 * copied.  The credential file is checked (owner-only) at each login.
 */
int vim_new(const struct vim_opts *, struct vim **out, struct fy_error *) FY_WUR;
/* Log out when logged in (best effort, bounded by the call timeout); NULL ok. */
void vim_free(struct vim *);

/* RetrieveServiceContent (no login needed); the about strings stay valid
   until vim_free.  Any member may be "" when vCenter omits it. */
struct vim_about {
	const char *name, *full_name, *vendor, *version, *build, *api_type, *api_version,
	    *instance_uuid, *product_line;
};
int vim_about(struct vim *, struct vim_about *out, struct fy_error *) FY_WUR;

/* Login with the credential file (re-read each time).  Idempotent. */
int vim_login(struct vim *, struct fy_error *) FY_WUR;
/* Liveness: read SessionManager.currentSession; log in again when the
   session is gone.  Call it more often than vCenter's idle timeout. */
int vim_keepalive(struct vim *, struct fy_error *) FY_WUR;
/* Transparent re-logins done so far (a call failing with NotAuthenticated
   is retried once after a new login). */
unsigned vim_relogins(const struct vim *);
/* The vim25 fault type of the last failed call, "" if it was no fault. */
const char *vim_fault(const struct vim *);

/*
 * Property values: a small read-only tree copied out of the reply (the
 * value's XML element), with its xsi:type resolved by namespace URI.
 * Nodes live as long as the set that holds them.
 */
struct vim_val;
const char *vim_val_name(const struct vim_val *);	/* element local name */
/* xsi:type's local name ("string", "ArrayOfManagedObjectReference"), "" if none;
   *ns (optional) gets its namespace URI when the prefix was declared, else "". */
const char *vim_val_type(const struct vim_val *, const char **ns);
const char *vim_val_text(const struct vim_val *);	/* "" if none */
const char *vim_val_attr_type(const struct vim_val *);	/* MoRef's type attribute, "" if none */
size_t vim_val_count(const struct vim_val *);		/* child elements */
const struct vim_val *vim_val_child(const struct vim_val *, size_t i);
/*
 * Nested field by path: "providerId.id", "device[2].backing.port.switchUuid"
 * ([n] picks the n-th (from 0) child of that name).  NULL when absent.
 */
const struct vim_val *vim_val_path(const struct vim_val *, const char *path);
/* Typed reads: FY_ERR_NOTFOUND for NULL/empty, FY_ERR_FORMAT when the
   text is not of that type.  Strings point into the tree. */
int vim_val_str(const struct vim_val *, const char **out) FY_WUR;
int vim_val_int(const struct vim_val *, long long *out) FY_WUR;
int vim_val_bool(const struct vim_val *, int *out) FY_WUR;
int vim_val_moref(const struct vim_val *, const char **type, const char **id) FY_WUR;

/* Objects with their properties, as fetched by vim_collect. */
struct vim_objset;
size_t vim_objset_count(const struct vim_objset *);
const char *vim_obj_type(const struct vim_objset *, size_t i);
const char *vim_obj_id(const struct vim_objset *, size_t i);
size_t vim_obj_nprops(const struct vim_objset *, size_t i);
/* j-th property of object i: its name in *name, its value returned. */
const struct vim_val *vim_obj_prop_at(const struct vim_objset *, size_t i, size_t j, const char **name);
/* The value of property name (as asked, "config.version"), NULL if unset. */
const struct vim_val *vim_obj_prop(const struct vim_objset *, size_t i, const char *name);
/* Properties vCenter reported missing (no privilege...): count and path. */
size_t vim_obj_nmissing(const struct vim_objset *, size_t i);
const char *vim_obj_missing_at(const struct vim_objset *, size_t i, size_t j);
/* Number of RetrievePropertiesEx/Continue replies it took. */
unsigned vim_objset_pages(const struct vim_objset *);
void vim_objset_free(struct vim_objset *);

/*
 * Every object of type (a vim25 managed object type, "VirtualMachine")
 * under the root folder, with the given property paths, through a
 * ContainerView, paging with ContinueRetrievePropertiesEx.  Refuses more
 * than max_objects objects or VIM_PROPS_MAX paths (FY_ERR_LIMIT).
 */
int vim_collect(struct vim *, const char *type, const char *const *paths, size_t npaths,
    struct vim_objset **out, struct fy_error *) FY_WUR;
/* Properties of one object (type, id); a set of 1 object (or 0 if it has none). */
int vim_collect_one(struct vim *, const char *type, const char *id, const char *const *paths,
    size_t npaths, struct vim_objset **out, struct fy_error *) FY_WUR;

/*
 * Wait for a task (poll Task.info until success or error, at most
 * timeout_s seconds: FY_ERR_TIMEOUT).  On success *result (optional) gets
 * a set holding the task (one object) with its property "info"
 * (TaskInfo: vim_val_path(info, "result") is the result); on a task error
 * FY_ERR_PEER naming its fault type and message.
 */
int vim_task_wait(struct vim *, const char *task, int timeout_s, struct vim_objset **result,
    struct fy_error *) FY_WUR;

/*
 * vCenter's own checks, when it offers them (FY_ERR_VERSION, message "not
 * offered", when the VirtualMachineProvisioningChecker is absent or the
 * method is MethodNotFound).  *result gets the task's set: "result" under
 * its "info" is an ArrayOfCheckResult {vm, host, warning[], error[]}.
 * host may be NULL (vCenter picks the VM's current placement).
 */
int vim_check_relocate(struct vim *, const char *vm, const char *host, int timeout_s,
    struct vim_objset **result, struct fy_error *) FY_WUR;
int vim_query_vmotion(struct vim *, const char *const *vms, size_t nvms, const char *const *hosts,
    size_t nhosts, int timeout_s, struct vim_objset **result, struct fy_error *) FY_WUR;

/*
 * Pure reader of one RetrievePropertiesEx reply body (SOAP envelope) into
 * a set: what vim_collect does with each reply, without I/O (fuzzing).
 * *token (optional) gets a malloc'd continuation token or NULL.
 */
int vim_parse_reply(const char *xml, size_t len, struct vim_objset **out, char **token,
    struct fy_error *) FY_WUR;

#endif
