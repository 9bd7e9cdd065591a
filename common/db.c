/*
 * db.c - SQLite: WAL, foreign keys, busy timeout, forward-only schema
 * migrations keyed on PRAGMA user_version, BEGIN IMMEDIATE for writes.
 * GPL-2.0-or-later
 */
#include <stdlib.h>
#include <sqlite3.h>
#include "common.h"

struct fy_db {
	sqlite3 *h;
};

struct sqlite3 *
fy_db_handle(struct fy_db *db)
{
	return db->h;
}

int
fy_db_exec(struct fy_db *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_warnx("sqlite: %s", msg ? msg : "?");
		sqlite3_free(msg);
		return FY_ERR_DB;
	}
	return 0;
}

int
fy_db_schema_version(struct fy_db *db)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

int
fy_db_begin(struct fy_db *db)
{
	return fy_db_exec(db, "BEGIN IMMEDIATE");
}

int
fy_db_commit(struct fy_db *db)
{
	return fy_db_exec(db, "COMMIT");
}

void
fy_db_rollback(struct fy_db *db)
{
	if (!sqlite3_get_autocommit(db->h))
		(void)sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

int
fy_db_open(const char *path, const char *const *migs, int n, struct fy_db **out)
{
	struct fy_db *db = NULL;
	char sql[64];
	int r, v, i;

	*out = NULL;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return FY_ERR_NOMEM;
	if (sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_warnx("sqlite open %s: %s", path, db->h ? sqlite3_errmsg(db->h) : "?");
		r = FY_ERR_DB;
		goto out;
	}
	sqlite3_busy_timeout(db->h, 10000);
	if ((r = fy_db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;"
	    "PRAGMA synchronous=NORMAL;")) != 0)
		goto out;
	if ((r = fy_db_begin(db)) != 0)
		goto out;
	v = fy_db_schema_version(db);
	if (v > n) {
		log_warnx("%s: schema version %d is newer than this ferry (%d)", path, v, n);
		fy_db_rollback(db);
		r = FY_ERR_VERSION;
		goto out;
	}
	for (i = v; i < n; i++) {
		if ((r = fy_db_exec(db, migs[i])) != 0) {
			fy_db_rollback(db);
			goto out;
		}
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", i + 1);
		if ((r = fy_db_exec(db, sql)) != 0) {
			fy_db_rollback(db);
			goto out;
		}
	}
	if ((r = fy_db_commit(db)) != 0)
		goto out;
	*out = db;
	db = NULL;
	r = 0;
out:
	fy_db_close(db);
	return r;
}

void
fy_db_close(struct fy_db *db)
{
	if (db == NULL)
		return;
	sqlite3_close(db->h);
	free(db);
}
