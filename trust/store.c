/*
 * store.c - the site database: schema migrations (forward only), peers,
 * invites, the token replay cache and the deny-list.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "trust.h"

/* Append only: each entry is one schema version. */
static const char *const schema[] = {
	/* 1: trust */
	"CREATE TABLE peers ("
	"  name TEXT PRIMARY KEY, spki BLOB NOT NULL UNIQUE, spki_prev BLOB, prev_until INTEGER,"
	"  endpoint TEXT NOT NULL, role TEXT NOT NULL, paired_at INTEGER NOT NULL,"
	"  last_contact INTEGER, cert TEXT);"
	"CREATE TABLE invites ("
	"  id BLOB PRIMARY KEY, secret_hash BLOB NOT NULL, created INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0,"
	"  failures INTEGER NOT NULL DEFAULT 0, used_by TEXT);"
	"CREATE TABLE seen_tokens (id BLOB PRIMARY KEY, keep_until INTEGER NOT NULL);"
	"CREATE TABLE denylist (spki BLOB PRIMARY KEY, name TEXT, until INTEGER NOT NULL);"
	"CREATE TABLE audit ("
	"  seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, actor TEXT NOT NULL, peer TEXT,"
	"  action TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT, hash BLOB NOT NULL);"
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value);",
	/* 2: key rotation in two steps: an announced key is pending until seen */
	"ALTER TABLE peers ADD COLUMN spki_next BLOB;"
	"ALTER TABLE peers ADD COLUMN cert_next TEXT;",
	/* 3: the management domain's VMs and the migration jobs */
	"CREATE TABLE vms ("
	"  name TEXT PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, spec TEXT NOT NULL,"
	"  state TEXT NOT NULL, pid INTEGER, pid_start INTEGER, started INTEGER,"
	"  job TEXT, created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE TABLE jobs ("
	"  id TEXT PRIMARY KEY, kind TEXT NOT NULL, role TEXT NOT NULL, vm TEXT NOT NULL,"
	"  peer TEXT NOT NULL, phase TEXT NOT NULL, outcome TEXT, params TEXT NOT NULL,"
	"  progress TEXT, error TEXT, created INTEGER NOT NULL, updated INTEGER NOT NULL,"
	"  finished INTEGER);"
	"CREATE TABLE job_events ("
	"  job TEXT NOT NULL, seq INTEGER NOT NULL, time INTEGER NOT NULL, phase TEXT NOT NULL,"
	"  message TEXT NOT NULL, PRIMARY KEY (job, seq));",
};

int
trust_db_open(const char *path, struct fy_db **out)
{
	return fy_db_open(path, schema, (int)(sizeof(schema) / sizeof(schema[0])), out);
}

static int
prep(struct fy_db *db, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(fy_db_handle(db), sql, -1, st, NULL) != SQLITE_OK) {
		log_warnx("sqlite prepare: %s", sqlite3_errmsg(fy_db_handle(db)));
		return FY_ERR_DB;
	}
	return 0;
}

int
trust_replay_check(struct fy_db *db, const uint8_t id[16], int64_t keep_until_ms, int64_t now_ms)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = prep(db, "DELETE FROM seen_tokens WHERE keep_until < ?", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, now_ms);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return FY_ERR_DB;
	if ((r = prep(db, "INSERT INTO seen_tokens (id, keep_until) VALUES (?, ?)", &st)) != 0)
		return r;
	sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, keep_until_ms);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return FY_ERR_REPLAY;
	return rc == SQLITE_DONE ? 0 : FY_ERR_DB;
}

void
trust_peer_clear(struct trust_peer *p)
{
	free(p->cert_pem);
	memset(p, 0, sizeof(*p));
}

#define PEER_COLS "name, spki, spki_prev, prev_until, endpoint, role, paired_at, last_contact, cert, " \
	"spki_next"

static void
copy_text(char *dst, size_t cap, const unsigned char *s)
{
	snprintf(dst, cap, "%s", s ? (const char *)s : "");
}

static int
row_to_peer(sqlite3_stmt *st, struct trust_peer *p)
{
	const void *b;

	memset(p, 0, sizeof(*p));
	copy_text(p->name, sizeof(p->name), sqlite3_column_text(st, 0));
	if ((b = sqlite3_column_blob(st, 1)) == NULL || sqlite3_column_bytes(st, 1) != TRUST_HASH_LEN)
		return FY_ERR_DB;
	memcpy(p->spki, b, TRUST_HASH_LEN);
	if ((b = sqlite3_column_blob(st, 2)) != NULL && sqlite3_column_bytes(st, 2) == TRUST_HASH_LEN) {
		memcpy(p->spki_prev, b, TRUST_HASH_LEN);
		p->has_prev = 1;
		p->prev_until_ms = sqlite3_column_int64(st, 3);
	}
	copy_text(p->endpoint, sizeof(p->endpoint), sqlite3_column_text(st, 4));
	copy_text(p->role, sizeof(p->role), sqlite3_column_text(st, 5));
	p->paired_ms = sqlite3_column_int64(st, 6);
	p->last_contact_ms = sqlite3_column_int64(st, 7);
	if ((b = sqlite3_column_blob(st, 9)) != NULL && sqlite3_column_bytes(st, 9) == TRUST_HASH_LEN) {
		memcpy(p->spki_next, b, TRUST_HASH_LEN);
		p->has_next = 1;
	}
	if (sqlite3_column_text(st, 8) != NULL &&
	    (p->cert_pem = strdup((const char *)sqlite3_column_text(st, 8))) == NULL)
		return FY_ERR_NOMEM;
	return 0;
}

int
trust_peer_by_name(struct fy_db *db, const char *name, struct trust_peer *p)
{
	sqlite3_stmt *st;
	int r, rc;

	memset(p, 0, sizeof(*p));
	if ((r = prep(db, "SELECT " PEER_COLS " FROM peers WHERE name = ?", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	r = rc == SQLITE_ROW ? row_to_peer(st, p) : rc == SQLITE_DONE ? FY_ERR_NOTFOUND : FY_ERR_DB;
	sqlite3_finalize(st);
	return r;
}

int
trust_peer_by_spki(struct fy_db *db, const uint8_t spki[TRUST_HASH_LEN], int64_t now_ms,
    struct trust_peer *p)
{
	sqlite3_stmt *st;
	int r, rc;

	memset(p, 0, sizeof(*p));
	if ((r = prep(db, "SELECT " PEER_COLS " FROM peers WHERE spki = ?1 OR spki_next = ?1 OR "
	    "(spki_prev = ?1 AND prev_until > ?2)", &st)) != 0)
		return r;
	sqlite3_bind_blob(st, 1, spki, TRUST_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms);
	rc = sqlite3_step(st);
	r = rc == SQLITE_ROW ? row_to_peer(st, p) : rc == SQLITE_DONE ? FY_ERR_NOTFOUND : FY_ERR_DB;
	sqlite3_finalize(st);
	return r;
}

int
trust_peer_list(struct fy_db *db, int (*cb)(const struct trust_peer *, void *), void *arg)
{
	struct trust_peer p;
	sqlite3_stmt *st;
	int r, rc;

	if ((r = prep(db, "SELECT " PEER_COLS " FROM peers ORDER BY name", &st)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = row_to_peer(st, &p)) != 0)
			break;
		r = cb(&p, arg);
		trust_peer_clear(&p);
		if (r != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = FY_ERR_DB;
	sqlite3_finalize(st);
	return r;
}

/* FY_ERR_EXISTS when spki is pinned (current, next or previous) for a peer other than name. */
static int
key_taken(struct fy_db *db, const uint8_t spki[TRUST_HASH_LEN], const char *name)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = prep(db, "SELECT 1 FROM peers WHERE name != ?2 AND "
	    "(spki = ?1 OR spki_next = ?1 OR spki_prev = ?1)", &st)) != 0)
		return r;
	sqlite3_bind_blob(st, 1, spki, TRUST_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name ? name : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return FY_ERR_EXISTS;
	return rc == SQLITE_DONE ? 0 : FY_ERR_DB;
}

int
trust_peer_add(struct fy_db *db, const struct trust_peer *p)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = key_taken(db, p->spki, "")) != 0)
		return r;
	if ((r = prep(db, "INSERT INTO peers (name, spki, endpoint, role, paired_at, last_contact, cert)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?)", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, p->spki, TRUST_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, p->endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, p->role, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, p->paired_ms);
	sqlite3_bind_int64(st, 6, p->paired_ms);
	sqlite3_bind_text(st, 7, p->cert_pem, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return FY_ERR_EXISTS;
	if (rc != SQLITE_DONE)
		return FY_ERR_DB;
	/* A deliberate new pairing lifts an earlier revocation of this key. */
	if ((r = prep(db, "DELETE FROM denylist WHERE spki = ?", &st)) != 0)
		return r;
	sqlite3_bind_blob(st, 1, p->spki, TRUST_HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : FY_ERR_DB;
}

int
trust_peer_touch(struct fy_db *db, const char *name, int64_t now_ms)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = prep(db, "UPDATE peers SET last_contact = ? WHERE name = ?", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, now_ms);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : FY_ERR_DB;
}

int
trust_peer_remove(struct fy_db *db, const char *name, int64_t deny_until_ms)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = prep(db, "INSERT OR REPLACE INTO denylist (spki, name, until) "
	    "SELECT spki, name, ?1 FROM peers WHERE name = ?2 UNION ALL "
	    "SELECT spki_prev, name, ?1 FROM peers WHERE name = ?2 AND spki_prev IS NOT NULL UNION ALL "
	    "SELECT spki_next, name, ?1 FROM peers WHERE name = ?2 AND spki_next IS NOT NULL", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, deny_until_ms);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return FY_ERR_DB;
	if ((r = prep(db, "DELETE FROM peers WHERE name = ?", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return FY_ERR_DB;
	return sqlite3_changes(fy_db_handle(db)) == 1 ? 0 : FY_ERR_NOTFOUND;
}

int
trust_peer_announce(struct fy_db *db, const char *name, const uint8_t new_spki[TRUST_HASH_LEN],
    const char *new_cert_pem)
{
	sqlite3_stmt *st;
	int r, rc;

	/*
	 * Certificates are public: a peer must not claim a key another peer
	 * uses, or connections from that peer would be taken for this one.
	 */
	if ((r = key_taken(db, new_spki, name)) != 0)
		return r;
	if ((r = prep(db, "UPDATE peers SET spki_next = ?1, cert_next = ?2 WHERE name = ?3", &st)) != 0)
		return r;
	sqlite3_bind_blob(st, 1, new_spki, TRUST_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, new_cert_pem, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return FY_ERR_DB;
	return sqlite3_changes(fy_db_handle(db)) == 1 ? 0 : FY_ERR_NOTFOUND;
}

int
trust_peer_promote(struct fy_db *db, const char *name, int64_t overlap_until_ms)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = prep(db, "UPDATE peers SET spki_prev = spki, prev_until = ?1, spki = spki_next, "
	    "cert = cert_next, spki_next = NULL, cert_next = NULL "
	    "WHERE name = ?2 AND spki_next IS NOT NULL", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, overlap_until_ms);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return FY_ERR_EXISTS;
	if (rc != SQLITE_DONE)
		return FY_ERR_DB;
	return sqlite3_changes(fy_db_handle(db)) == 1 ? 0 : FY_ERR_NOTFOUND;
}

int
trust_denied(struct fy_db *db, const uint8_t spki[TRUST_HASH_LEN], int64_t now_ms)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = prep(db, "SELECT 1 FROM denylist WHERE spki = ? AND until > ?", &st)) != 0)
		return r;
	sqlite3_bind_blob(st, 1, spki, TRUST_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return FY_ERR_REVOKED;
	return rc == SQLITE_DONE ? 0 : FY_ERR_DB;
}

int
trust_invite_store(struct fy_db *db, const struct trust_invite *iv, int64_t now_ms)
{
	uint8_t h[TRUST_HASH_LEN];
	sqlite3_stmt *st;
	int r, rc;

	trust_secret_hash(iv->secret, h);
	if ((r = prep(db, "INSERT INTO invites (id, secret_hash, created, expires) VALUES (?, ?, ?, ?)",
	    &st)) != 0)
		return r;
	sqlite3_bind_blob(st, 1, iv->id, TRUST_INVITE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, h, TRUST_HASH_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, now_ms);
	sqlite3_bind_int64(st, 4, iv->expires_ms);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : FY_ERR_DB;
}

int
trust_invite_redeem(struct fy_db *db, const uint8_t id[TRUST_INVITE_ID_LEN],
    const uint8_t secret[TRUST_SECRET_LEN], int64_t now_ms, int max_failures, const char *used_by)
{
	uint8_t h[TRUST_HASH_LEN], stored[TRUST_HASH_LEN];
	sqlite3_stmt *st;
	int64_t expires;
	int r, rc, used, failures;
	const void *b;

	if ((r = prep(db, "SELECT secret_hash, expires, used, failures FROM invites WHERE id = ?", &st)) != 0)
		return r;
	sqlite3_bind_blob(st, 1, id, TRUST_INVITE_ID_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return rc == SQLITE_DONE ? FY_ERR_NOTFOUND : FY_ERR_DB;
	}
	b = sqlite3_column_blob(st, 0);
	if (b == NULL || sqlite3_column_bytes(st, 0) != TRUST_HASH_LEN) {
		sqlite3_finalize(st);
		return FY_ERR_DB;
	}
	memcpy(stored, b, TRUST_HASH_LEN);
	expires = sqlite3_column_int64(st, 1);
	used = sqlite3_column_int(st, 2);
	failures = sqlite3_column_int(st, 3);
	sqlite3_finalize(st);

	if (used == 1)
		return FY_ERR_USED;
	if (used == 2 || failures >= max_failures)
		return FY_ERR_LOCKED;
	if (now_ms >= expires)
		return FY_ERR_EXPIRED;
	trust_secret_hash(secret, h);
	if (!fy_ct_equal(h, stored, TRUST_HASH_LEN)) {
		if ((r = prep(db, "UPDATE invites SET failures = failures + 1, "
		    "used = CASE WHEN failures + 1 >= ?2 THEN 2 ELSE used END WHERE id = ?1", &st)) != 0)
			return r;
		sqlite3_bind_blob(st, 1, id, TRUST_INVITE_ID_LEN, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, max_failures);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		return rc == SQLITE_DONE ? FY_ERR_AUTH : FY_ERR_DB;
	}
	if ((r = prep(db, "UPDATE invites SET used = 1, used_by = ? WHERE id = ? AND used = 0", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, used_by, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, id, TRUST_INVITE_ID_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return FY_ERR_DB;
	return sqlite3_changes(fy_db_handle(db)) == 1 ? 0 : FY_ERR_USED;
}

int
trust_invite_count_live(struct fy_db *db, int64_t now_ms)
{
	sqlite3_stmt *st;
	int n = -1;

	if (prep(db, "SELECT count(*) FROM invites WHERE used = 0 AND expires > ?", &st) != 0)
		return -1;
	sqlite3_bind_int64(st, 1, now_ms);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}
