/*
 * audit-t.c - the hash-chained audit trail: an intact chain verifies; an
 * edited field, a removed middle record and a removed tail are each found
 * and named; listing with a start time.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "common.h"
#include "trust/trust.h"
#include "tests/tap.h"
#include "tests/unit/helpers.h"

#define N 10

static char *dir;

struct seen {
	int n;
	int64_t seq[64], time[64];
	struct trust_audit_rec first;
};

static int
collect(const struct trust_audit_rec *a, void *arg)
{
	struct seen *s = arg;

	if (s->n == 0)
		s->first = *a;
	if (s->n < 64) {
		s->seq[s->n] = a->seq;
		s->time[s->n] = a->time_ms;
	}
	s->n++;
	return 0;
}

static int
stop_at_3(const struct trust_audit_rec *a, void *arg)
{
	int *n = arg;

	(void)a;
	return ++*n == 3 ? 42 : 0;
}

/* A fresh database with N records; a short pause before record 6. */
static struct fy_db *
fresh(const char *name)
{
	struct fy_db *db = NULL;
	char path[512];
	int i, r;

	t_path(path, sizeof(path), dir, name);
	if ((r = trust_db_open(path, &db)) != 0)
		bail("trust_db_open: %s", fy_strerror(r));
	for (i = 1; i <= N; i++) {
		if (i == 6)
			usleep(5000);
		if ((r = trust_audit(db, "admin", i % 3 ? "site-b" : NULL, i % 2 ? "pair-invite" : "peer-remove",
		    i == 4 ? "refused" : "ok", i == 7 ? NULL : "record %d of %d", i, N)) != 0)
			bail("trust_audit %d: %s", i, fy_strerror(r));
	}
	return db;
}

static int
verify(struct fy_db *db, int64_t *count, int64_t *bad, char *why, size_t cap)
{
	return trust_audit_verify(db, count, bad, why, cap);
}

/* Run sql on a fresh trail and expect FY_ERR_CHAIN at bad_seq with why containing part. */
static void
tamper(const char *name, const char *sql, int64_t want_bad, const char *part, const char *what)
{
	struct fy_db *db = fresh(name);
	char why[256];
	int64_t count, bad;

	if (fy_db_exec(db, sql) != 0)
		bail("%s", sql);
	is_int(verify(db, &count, &bad, why, sizeof(why)), FY_ERR_CHAIN, "%s: chain broken", what);
	is_int(bad, want_bad, "%s: names record %lld", what, (long long)want_bad);
	ok(strstr(why, part) != NULL, "%s: says \"%s\"", what, part);
	if (strstr(why, part) == NULL)
		diag("why: %s", why);
	fy_db_close(db);
}

int
main(void)
{
	struct fy_db *db;
	struct seen s;
	char why[256], big[400];
	int64_t count, bad;
	int i, n;

	plan_lazy();
	fy_log_set_level(FY_LOG_ERR);
	dir = t_tmpdir("audit");

	/* Empty trail. */
	{
		char path[512];
		db = NULL;
		t_path(path, sizeof(path), dir, "empty.db");
		if (trust_db_open(path, &db) != 0)
			bail("open");
		is_int(verify(db, &count, &bad, why, sizeof(why)), 0, "an empty trail verifies");
		is_int(count, 0, "no records");
		fy_db_close(db);
	}

	/* Append N and verify. */
	db = fresh("intact.db");
	is_int(verify(db, &count, &bad, why, sizeof(why)), 0, "%d records verify", N);
	is_int(count, N, "count = %d", N);
	is_int(bad, 0, "no bad record");
	is_str(why, "", "no reason");
	memset(&s, 0, sizeof(s));
	is_int(trust_audit_list(db, 0, collect, &s), 0, "list all");
	is_int(s.n, N, "all %d listed", N);
	{
		int inorder = 1;
		for (i = 0; i < s.n; i++)
			if (s.seq[i] != i + 1)
				inorder = 0;
		ok(inorder, "in seq order 1..%d", N);
	}
	is_str(s.first.actor, "admin", "actor");
	is_str(s.first.peer, "site-b", "peer");
	is_str(s.first.action, "pair-invite", "action");
	is_str(s.first.outcome, "ok", "outcome");
	is_str(s.first.detail, "record 1 of 10", "detail from the format");
	ok(s.first.time_ms > 1700000000000LL && s.first.time_ms <= fy_now_ms(), "time is now, in ms");

	/* List since a time: exactly the records at or after it. */
	{
		int64_t t6 = s.time[5], want = 0;
		struct seen s2;
		ok(s.time[4] < t6, "record 6 is later than record 5");
		for (i = 0; i < N; i++)
			if (s.time[i] >= t6)
				want++;
		memset(&s2, 0, sizeof(s2));
		is_int(trust_audit_list(db, t6, collect, &s2), 0, "list since record 6's time");
		is_int(s2.n, want, "%lld records listed", (long long)want);
		is_int(s2.seq[0], 6, "starting with record 6");
		memset(&s2, 0, sizeof(s2));
		is_int(trust_audit_list(db, s.time[N - 1] + 1, collect, &s2), 0, "list since after the last");
		is_int(s2.n, 0, "nothing listed");
	}
	n = 0;
	is_int(trust_audit_list(db, 0, stop_at_3, &n), 42, "a callback's non-zero return stops the list");
	is_int(n, 3, "after three records");

	/* Inside the caller's transaction: rolled back with it. */
	if (fy_db_begin(db) != 0)
		bail("begin");
	is_int(trust_audit(db, "admin", NULL, "x", "ok", "in a transaction"), 0, "append in a transaction");
	fy_db_rollback(db);
	is_int(verify(db, &count, &bad, why, sizeof(why)), 0, "rolled back: still verifies");
	is_int(count, N, "and still %d records", N);
	memset(big, 'd', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	is_int(trust_audit(db, "admin", "site-b", "long", "ok", "%s", big), 0, "a 399-byte detail");
	memset(&s, 0, sizeof(s));
	is_int(trust_audit_list(db, 0, collect, &s), 0, "list");
	is_int(verify(db, &count, &bad, why, sizeof(why)), 0, "a truncated detail still verifies");
	is_int(count, N + 1, "%d records", N + 1);
	fy_db_close(db);

	/* Edits, one field at a time. */
	tamper("f-outcome.db", "UPDATE audit SET outcome = 'ok' WHERE seq = 4", 4, "record 4 was altered",
	    "outcome of record 4 changed");
	tamper("f-time.db", "UPDATE audit SET time = time + 1 WHERE seq = 5", 5, "record 5 was altered",
	    "time of record 5 changed");
	tamper("f-actor.db", "UPDATE audit SET actor = 'root' WHERE seq = 2", 2, "record 2 was altered",
	    "actor of record 2 changed");
	tamper("f-peer.db", "UPDATE audit SET peer = 'site-c' WHERE seq = 8", 8, "record 8 was altered",
	    "peer of record 8 changed");
	tamper("f-action.db", "UPDATE audit SET action = 'pair-accept' WHERE seq = 1", 1, "record 1 was altered",
	    "action of record 1 changed");
	tamper("f-detail.db", "UPDATE audit SET detail = 'record 9 of 11' WHERE seq = 9", 9, "record 9 was altered",
	    "detail of record 9 changed");
	tamper("f-hash.db", "UPDATE audit SET hash = zeroblob(32) WHERE seq = 3", 3, "record 3 was altered",
	    "hash of record 3 replaced");
	tamper("f-hashlen.db", "UPDATE audit SET hash = x'00' WHERE seq = 6", 6, "record 6 was altered",
	    "hash of record 6 shortened");
	tamper("f-last.db", "UPDATE audit SET detail = 'x' WHERE seq = 10", 10, "record 10 was altered",
	    "last record changed");
	tamper("f-two.db", "UPDATE audit SET outcome = 'ok' WHERE seq IN (7, 4)", 4, "record 4 was altered",
	    "two records changed: the first is named");

	/* Removals. */
	tamper("d-middle.db", "DELETE FROM audit WHERE seq = 5", 5, "record 5 is missing (next present is 6)",
	    "middle record deleted");
	tamper("d-first.db", "DELETE FROM audit WHERE seq = 1", 1, "record 1 is missing", "first record deleted");
	tamper("d-renumber.db", "DELETE FROM audit WHERE seq = 5; UPDATE audit SET seq = seq - 1 WHERE seq > 5",
	    5, "record 5 was altered", "middle record deleted and the rest renumbered");
	tamper("d-last.db", "DELETE FROM audit WHERE seq = 10", 10, "removed from the end",
	    "last record deleted (tail truncation)");
	tamper("d-tail3.db", "DELETE FROM audit WHERE seq > 7", 8, "removed from the end",
	    "last three records deleted");
	tamper("d-all.db", "DELETE FROM audit", 1, "removed from the end", "every record deleted");
	tamper("d-head.db", "DELETE FROM meta WHERE key = 'audit_head'", 1, "the audit head is missing",
	    "head deleted");
	tamper("d-headseq.db", "UPDATE meta SET value = substr(value, 1, 39) WHERE key = 'audit_head'", 1,
	    "the audit head is missing", "head damaged");

	/* Appending after a verified trail keeps it verifiable. */
	db = fresh("append.db");
	for (i = 0; i < 5; i++)
		if (trust_audit(db, "ferryd", "site-b", "token", "ok", "more %d", i) != 0)
			bail("append");
	is_int(verify(db, &count, &bad, why, sizeof(why)), 0, "appending more still verifies");
	is_int(count, N + 5, "%d records", N + 5);
	fy_db_close(db);

	t_rmtree(dir);
	free(dir);
	done_testing();
}
