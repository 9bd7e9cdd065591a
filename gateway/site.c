/*
 * site.c - the site: its keys (swapped whole on rotation, refcounted so
 * connections in flight keep the ones they started with) and its database.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/ssl.h>
#include <sqlite3.h>
#include "config.h"
#include "gateway.h"

static void
keys_free(struct site_keys *k)
{
	if (k == NULL)
		return;
	trust_identity_free(k->id);
	SSL_CTX_free(k->srv);
	SSL_CTX_free(k->cli);
	free(k);
}

static int
keys_load(struct site *s, struct site_keys **out)
{
	struct site_keys *k;
	int r;

	*out = NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return FY_ERR_NOMEM;
	if ((r = trust_identity_load(s->conf.state_dir, s->conf.site_name, &k->id)) != 0 ||
	    (r = trust_tls_ctx(k->id, 1, &k->srv)) != 0 ||
	    (r = trust_tls_ctx(k->id, 0, &k->cli)) != 0) {
		keys_free(k);
		return r;
	}
	k->refs = 1;
	*out = k;
	return 0;
}

int
site_init(struct site *s, struct fy_conf *c)
{
	struct fy_db *db = NULL;
	int r;

	memset(s, 0, sizeof(*s));
	s->conf = *c;
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&s->mtx, NULL);
	pthread_mutex_init(&s->rotate_mtx, NULL);
	s->started_ms = fy_now_ms();
	umask(077);
	if ((r = fy_mkdir_p(s->conf.state_dir, 0700)) != 0) {
		log_warnx("cannot create state directory %s", s->conf.state_dir);
		return r;
	}
	if (chmod(s->conf.state_dir, 0700) != 0) {
		log_warn("chmod %s", s->conf.state_dir);
		return FY_ERR_IO;
	}
	if ((r = site_open_db(s, &db)) != 0)
		return r;
	fy_db_close(db);
	if ((r = keys_load(s, &s->keys)) != 0)
		return r;
	log_info("site %s, fingerprint %s", s->conf.site_name, trust_identity_fingerprint(s->keys->id));
	return 0;
}

void
site_fini(struct site *s)
{
	site_keys_put(s->keys);
	s->keys = NULL;
	fy_conf_free(&s->conf);
}

/* One lock for the keys pointer and every refcount. */
static pthread_mutex_t refs_mtx = PTHREAD_MUTEX_INITIALIZER;

struct site_keys *
site_keys_get(struct site *s)
{
	struct site_keys *k;

	pthread_mutex_lock(&refs_mtx);
	k = s->keys;
	k->refs++;
	pthread_mutex_unlock(&refs_mtx);
	return k;
}

void
site_keys_put(struct site_keys *k)
{
	int last;

	if (k == NULL)
		return;
	pthread_mutex_lock(&refs_mtx);
	last = --k->refs == 0;
	pthread_mutex_unlock(&refs_mtx);
	if (last)
		keys_free(k);
}

int
site_reload_keys(struct site *s)
{
	struct site_keys *k, *old;
	int r;

	if ((r = keys_load(s, &k)) != 0)
		return r;
	pthread_mutex_lock(&refs_mtx);
	old = s->keys;
	s->keys = k;
	pthread_mutex_unlock(&refs_mtx);
	site_keys_put(old);
	log_info("site key is now %s", trust_identity_fingerprint(k->id));
	return 0;
}

int
site_open_db(struct site *s, struct fy_db **out)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/ferry.db", s->conf.state_dir) >= sizeof(path))
		return FY_ERR_LIMIT;
	return trust_db_open(path, out);
}

void
site_housekeeping(struct site *s)
{
	struct site_keys *k = site_keys_get(s);
	struct fy_db *db = NULL;
	sqlite3_stmt *st;
	int64_t rotated = 0;

	if (trust_identity_prev_spki(k->id) == NULL || site_open_db(s, &db) != 0)
		goto out;
	if (sqlite3_prepare_v2(fy_db_handle(db), "SELECT value FROM meta WHERE key = 'rotated_at'",
	    -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			rotated = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (rotated > 0 && fy_now_ms() > rotated + s->conf.rotate_overlap * 1000) {
		if (trust_identity_forget_prev(s->conf.state_dir) == 0 && site_reload_keys(s) == 0) {
			log_info("rotation overlap over: previous key removed");
			(void)trust_audit(db, "ferryd", NULL, "rotate-overlap-end", "ok",
			    "previous key no longer accepted");
		}
	}
out:
	fy_db_close(db);
	site_keys_put(k);
}
