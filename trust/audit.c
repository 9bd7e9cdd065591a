/*
 * audit.c - the hash-chained audit trail.  Record n stores
 *   hash_n = SHA-256(hash_{n-1} || seq || time || actor || peer || action ||
 *                    outcome || detail)     (fields length-prefixed)
 * and meta.audit_head holds (seq, hash) of the last record, so a removed
 * tail is seen too.  It detects edits by anyone without write access to the
 * database's head; anchoring the head outside the site is left to later.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdarg.h>
#include <string.h>
#include <sqlite3.h>
#include <openssl/evp.h>
#include "trust.h"

static int
rec_hash(const uint8_t prev[32], const struct trust_audit_rec *a, uint8_t out[32])
{
	struct fy_buf *b;
	unsigned int ol = 32;
	int r;

	if ((b = fy_buf_new(2048)) == NULL)
		return FY_ERR_NOMEM;
	if ((r = fy_buf_put(b, prev, 32)) != 0 ||
	    (r = fy_buf_put_u64(b, (uint64_t)a->seq)) != 0 ||
	    (r = fy_buf_put_u64(b, (uint64_t)a->time_ms)) != 0 ||
	    (r = fy_buf_put_str16(b, a->actor, strlen(a->actor))) != 0 ||
	    (r = fy_buf_put_str16(b, a->peer, strlen(a->peer))) != 0 ||
	    (r = fy_buf_put_str16(b, a->action, strlen(a->action))) != 0 ||
	    (r = fy_buf_put_str16(b, a->outcome, strlen(a->outcome))) != 0 ||
	    (r = fy_buf_put_str16(b, a->detail, strlen(a->detail))) != 0)
		goto out;
	r = EVP_Digest(fy_buf_ptr(b), fy_buf_len(b), out, &ol, EVP_sha256(), NULL) == 1 ? 0 : FY_ERR_CRYPTO;
out:
	fy_buf_free(b);
	return r;
}

static int
get_head(sqlite3 *h, int64_t *seq, uint8_t hash[32])
{
	sqlite3_stmt *st;
	int rc;

	*seq = 0;
	memset(hash, 0, 32);
	if (sqlite3_prepare_v2(h, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", -1, &st,
	    NULL) != SQLITE_OK)
		return FY_ERR_DB;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 1) == 32) {
		*seq = sqlite3_column_int64(st, 0);
		memcpy(hash, sqlite3_column_blob(st, 1), 32);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : FY_ERR_DB;
}

int
trust_audit(struct fy_db *db, const char *actor, const char *peer, const char *action,
    const char *outcome, const char *fmt, ...)
{
	struct trust_audit_rec a;
	sqlite3 *h = fy_db_handle(db);
	sqlite3_stmt *st = NULL;
	uint8_t prev[32], hash[32];
	int own = sqlite3_get_autocommit(h), r, rc;
	va_list ap;

	memset(&a, 0, sizeof(a));
	snprintf(a.actor, sizeof(a.actor), "%s", actor ? actor : "");
	snprintf(a.peer, sizeof(a.peer), "%s", peer ? peer : "");
	snprintf(a.action, sizeof(a.action), "%s", action);
	snprintf(a.outcome, sizeof(a.outcome), "%s", outcome);
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(a.detail, sizeof(a.detail), fmt, ap);
		va_end(ap);
	}
	fy_sanitize(a.actor);
	fy_sanitize(a.peer);
	fy_sanitize(a.detail);
	if (own && (r = fy_db_begin(db)) != 0)
		return r;
	if ((r = get_head(h, &a.seq, prev)) != 0)
		goto out;
	a.seq++;
	a.time_ms = fy_now_ms();
	if ((r = rec_hash(prev, &a, hash)) != 0)
		goto out;
	r = FY_ERR_DB;
	if (sqlite3_prepare_v2(h, "INSERT INTO audit (seq, time, actor, peer, action, outcome, detail, hash)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, a.seq);
	sqlite3_bind_int64(st, 2, a.time_ms);
	sqlite3_bind_text(st, 3, a.actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a.peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, a.action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, a.outcome, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, a.detail, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 8, hash, 32, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SQLITE_DONE)
		goto out;
	if (sqlite3_prepare_v2(h, "INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_head', ?)",
	    -1, &st, NULL) != SQLITE_OK)
		goto out;
	{
		uint8_t head[40];
		uint64_t s = (uint64_t)a.seq;
		int i;
		for (i = 7; i >= 0; i--, s >>= 8)
			head[i] = s & 0xff;
		memcpy(head + 8, hash, 32);
		sqlite3_bind_blob(st, 1, head, sizeof(head), SQLITE_TRANSIENT);
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto out;
	if (own && (r = fy_db_commit(db)) != 0)
		goto out;
	r = 0;
out:
	if (r != 0) {
		log_warnx("audit record %s/%s could not be written", action, outcome);
		if (own)
			fy_db_rollback(db);
	}
	return r;
}

static void
row_to_rec(sqlite3_stmt *st, struct trust_audit_rec *a)
{
	memset(a, 0, sizeof(*a));
	a->seq = sqlite3_column_int64(st, 0);
	a->time_ms = sqlite3_column_int64(st, 1);
#define T(i, f) snprintf(a->f, sizeof(a->f), "%s", \
	sqlite3_column_text(st, i) ? (const char *)sqlite3_column_text(st, i) : "")
	T(2, actor);
	T(3, peer);
	T(4, action);
	T(5, outcome);
	T(6, detail);
#undef T
}

int
trust_audit_list(struct fy_db *db, int64_t since_ms,
    int (*cb)(const struct trust_audit_rec *, void *), void *arg)
{
	struct trust_audit_rec a;
	sqlite3_stmt *st;
	int r = 0, rc;

	if (sqlite3_prepare_v2(fy_db_handle(db), "SELECT seq, time, actor, peer, action, outcome, detail "
	    "FROM audit WHERE time >= ? ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
		return FY_ERR_DB;
	sqlite3_bind_int64(st, 1, since_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_to_rec(st, &a);
		if ((r = cb(&a, arg)) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = FY_ERR_DB;
	sqlite3_finalize(st);
	return r;
}

int
trust_audit_verify(struct fy_db *db, int64_t *count, int64_t *bad_seq, char *why, size_t whycap)
{
	struct trust_audit_rec a;
	sqlite3_stmt *st;
	uint8_t prev[32], hash[32], head[40];
	int64_t expect = 1, last = 0;
	int rc, r = 0, have_head = 0;

	*count = 0;
	*bad_seq = 0;
	why[0] = '\0';
	memset(prev, 0, sizeof(prev));
	if (sqlite3_prepare_v2(fy_db_handle(db), "SELECT value FROM meta WHERE key = 'audit_head'",
	    -1, &st, NULL) != SQLITE_OK)
		return FY_ERR_DB;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 40) {
		memcpy(head, sqlite3_column_blob(st, 0), 40);
		have_head = 1;
	}
	sqlite3_finalize(st);

	if (sqlite3_prepare_v2(fy_db_handle(db), "SELECT seq, time, actor, peer, action, outcome, detail,"
	    " hash FROM audit ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
		return FY_ERR_DB;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_to_rec(st, &a);
		if (a.seq != expect) {
			*bad_seq = expect;
			snprintf(why, whycap, "record %lld is missing (next present is %lld)",
			    (long long)expect, (long long)a.seq);
			r = FY_ERR_CHAIN;
			break;
		}
		if ((r = rec_hash(prev, &a, hash)) != 0)
			break;
		if (sqlite3_column_bytes(st, 7) != 32 || !fy_ct_equal(hash, sqlite3_column_blob(st, 7), 32)) {
			*bad_seq = a.seq;
			snprintf(why, whycap, "record %lld was altered (hash does not match its contents)",
			    (long long)a.seq);
			r = FY_ERR_CHAIN;
			break;
		}
		memcpy(prev, hash, 32);
		last = a.seq;
		expect++;
		(*count)++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE && r == 0)
		r = FY_ERR_DB;
	sqlite3_finalize(st);
	if (r != 0)
		return r;
	if (have_head) {
		uint64_t hs = 0;
		int i;
		for (i = 0; i < 8; i++)
			hs = (hs << 8) | head[i];
		if ((int64_t)hs != last || !fy_ct_equal(head + 8, prev, 32)) {
			*bad_seq = last + 1;
			snprintf(why, whycap, "the trail ends at record %lld but its head says %llu: "
			    "records were removed from the end", (long long)last, (unsigned long long)hs);
			return FY_ERR_CHAIN;
		}
	} else if (last != 0) {
		snprintf(why, whycap, "the audit head is missing");
		*bad_seq = 1;
		return FY_ERR_CHAIN;
	}
	return 0;
}
