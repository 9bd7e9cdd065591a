/*
 * store-t.c - the site database: schema versions, the token replay cache
 * (also across a restart), invites (unknown, wrong secret and lockout,
 * expiry, single use, two concurrent redeems), peers and their keys through
 * a rotation, removal and the deny-list.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "common.h"
#include "trust/trust.h"
#include "tests/tap.h"
#include "tests/unit/helpers.h"

#define NOW	1795000000000LL
#define HOUR	3600000LL

static char dbpath[512];

static struct fy_db *
open_db(const char *path)
{
	struct fy_db *db = NULL;
	int r;

	if ((r = trust_db_open(path, &db)) != 0)
		bail("trust_db_open %s: %s", path, fy_strerror(r));
	return db;
}

static long long
sql_int(struct fy_db *db, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_prepare_v2(fy_db_handle(db), sql, -1, &st, NULL) != SQLITE_OK)
		bail("prepare %s: %s", sql, sqlite3_errmsg(fy_db_handle(db)));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
mkinvite(struct trust_invite *iv, uint8_t tag, int64_t expires)
{
	memset(iv, 0, sizeof(*iv));
	memset(iv->id, tag, sizeof(iv->id));
	memset(iv->secret, tag ^ 0x5a, sizeof(iv->secret));
	memset(iv->spki, 0x11, sizeof(iv->spki));
	iv->expires_ms = expires;
	snprintf(iv->endpoint, sizeof(iv->endpoint), "a.example:7443");
	snprintf(iv->site, sizeof(iv->site), "site-a");
}

static void
mkpeer(struct trust_peer *p, const char *name, uint8_t key)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	memset(p->spki, key, sizeof(p->spki));
	snprintf(p->endpoint, sizeof(p->endpoint), "%s.example:7443", name);
	snprintf(p->role, sizeof(p->role), "inviter");
	p->paired_ms = NOW;
}

/* Redeem inside BEGIN IMMEDIATE; commit on success and on a counted failure. */
static int
redeem_txn(struct fy_db *db, const struct trust_invite *iv, const uint8_t *secret, int64_t now,
    int max, const char *by, useconds_t hold)
{
	int r;

	if ((r = fy_db_begin(db)) != 0)
		return r;
	r = trust_invite_redeem(db, iv->id, secret, now, max, by);
	if (hold > 0)
		usleep(hold);	/* keep the write lock while the other side waits */
	if (r == 0 || r == FY_ERR_AUTH) {
		if (fy_db_commit(db) != 0)
			return FY_ERR_DB;
	} else
		fy_db_rollback(db);
	return r;
}

struct racer {
	const struct trust_invite *iv;
	pthread_barrier_t *go;
	const char *name;
	int r;
};

static void *
race(void *arg)
{
	struct racer *x = arg;
	struct fy_db *db = NULL;

	if (trust_db_open(dbpath, &db) != 0) {
		x->r = FY_ERR_DB;
		pthread_barrier_wait(x->go);
		return NULL;
	}
	pthread_barrier_wait(x->go);
	x->r = redeem_txn(db, x->iv, x->iv->secret, NOW, 5, x->name, 20000);
	fy_db_close(db);
	return NULL;
}

static int
count_cb(const struct trust_peer *p, void *arg)
{
	int *n = arg;

	(void)p;
	return ++*n >= 100 ? 1 : 0;
}

static int
stop_cb(const struct trust_peer *p, void *arg)
{
	int *n = arg;

	(void)p;
	++*n;
	return 7;
}

int
main(void)
{
	struct fy_db *db, *db2;
	struct trust_invite iv, iv2;
	struct trust_peer p, q;
	uint8_t id[16], wrong[TRUST_SECRET_LEN], k[TRUST_HASH_LEN];
	char *dir, path[512];
	int i, n;

	plan_lazy();
	fy_log_set_level(FY_LOG_ERR);
	dir = t_tmpdir("store");
	t_path(dbpath, sizeof(dbpath), dir, "ferry.db");

	/* Schema. */
	db = open_db(dbpath);
	ok(fy_db_schema_version(db) >= 1, "schema version %d after migrations", fy_db_schema_version(db));
	n = fy_db_schema_version(db);
	fy_db_close(db);
	db = open_db(dbpath);
	is_int(fy_db_schema_version(db), n, "reopening keeps the version");
	{
		sqlite3_stmt *st;
		const char *jm = "";
		if (sqlite3_prepare_v2(fy_db_handle(db), "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			jm = (const char *)sqlite3_column_text(st, 0);
		is_str(jm, "wal", "journal mode is WAL");
		sqlite3_finalize(st);
	}
	is_int(sql_int(db, "PRAGMA foreign_keys"), 1, "foreign keys on");
	fy_db_close(db);
	t_path(path, sizeof(path), dir, "newer.db");
	db = open_db(path);
	is_int(fy_db_exec(db, "PRAGMA user_version = 99"), 0, "pretend a newer schema");
	fy_db_close(db);
	db = NULL;
	is_int(trust_db_open(path, &db), FY_ERR_VERSION, "a database newer than the code is refused");
	ok(db == NULL, "and not returned");
	t_path(path, sizeof(path), dir, "nodir/x.db");
	is_int(trust_db_open(path, &db), FY_ERR_DB, "a database in a missing directory: db error");

	/* Replay cache. */
	db = open_db(dbpath);
	memset(id, 0x42, sizeof(id));
	is_int(trust_replay_check(db, id, NOW + HOUR, NOW), 0, "first use of a token id");
	is_int(trust_replay_check(db, id, NOW + HOUR, NOW), FY_ERR_REPLAY, "second use: replay");
	id[15] ^= 1;
	is_int(trust_replay_check(db, id, NOW + HOUR, NOW), 0, "another id is fine");
	id[15] ^= 1;
	fy_db_close(db);
	db = open_db(dbpath);
	is_int(trust_replay_check(db, id, NOW + HOUR, NOW + 1000), FY_ERR_REPLAY,
	    "still a replay after closing and reopening the database");
	is_int(trust_replay_check(db, id, NOW + 2 * HOUR, NOW + HOUR), FY_ERR_REPLAY,
	    "still a replay at keep_until");
	is_int(sql_int(db, "SELECT count(*) FROM seen_tokens"), 2, "two ids remembered");
	is_int(trust_replay_check(db, id, NOW + 3 * HOUR, NOW + HOUR + 1), 0,
	    "after keep_until the id is purged and accepted again");
	is_int(sql_int(db, "SELECT count(*) FROM seen_tokens"), 1, "the expired ids were purged");
	is_int(trust_replay_check(db, id, NOW + 3 * HOUR, NOW + HOUR + 2), FY_ERR_REPLAY,
	    "and then remembered again");

	/* Invites. */
	memset(wrong, 0xee, sizeof(wrong));
	mkinvite(&iv, 1, NOW + HOUR);
	is_int(trust_invite_store(db, &iv, NOW), 0, "store an invite");
	is_int(trust_invite_store(db, &iv, NOW), FY_ERR_DB, "storing the same id twice fails");
	is_int(trust_invite_count_live(db, NOW), 1, "one live invite");
	{
		/* Only the hash of the secret is stored. */
		sqlite3_stmt *st;
		uint8_t h[TRUST_HASH_LEN];
		int found = 0;
		trust_secret_hash(iv.secret, h);
		if (sqlite3_prepare_v2(fy_db_handle(db), "SELECT secret_hash FROM invites", -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == TRUST_HASH_LEN &&
		    memcmp(sqlite3_column_blob(st, 0), h, TRUST_HASH_LEN) == 0)
			found = 1;
		sqlite3_finalize(st);
		ok(found, "the database holds SHA-256(secret), not the secret");
	}
	mkinvite(&iv2, 9, NOW + HOUR);
	is_int(redeem_txn(db, &iv2, iv2.secret, NOW, 3, "x", 0), FY_ERR_NOTFOUND, "unknown invite id: not found");
	is_int(redeem_txn(db, &iv, wrong, NOW, 3, "x", 0), FY_ERR_AUTH, "wrong secret 1: auth");
	is_int(sql_int(db, "SELECT failures FROM invites WHERE id = x'0101010101010101'"), 1,
	    "the failure was counted (and committed)");
	is_int(redeem_txn(db, &iv, wrong, NOW, 3, "x", 0), FY_ERR_AUTH, "wrong secret 2: auth");
	is_int(redeem_txn(db, &iv, wrong, NOW, 3, "x", 0), FY_ERR_AUTH, "wrong secret 3: auth");
	is_int(sql_int(db, "SELECT used FROM invites WHERE id = x'0101010101010101'"), 2,
	    "after max failures the invite is burnt");
	is_int(redeem_txn(db, &iv, iv.secret, NOW, 3, "x", 0), FY_ERR_LOCKED, "right secret after lockout: locked");
	is_int(redeem_txn(db, &iv, wrong, NOW, 3, "x", 0), FY_ERR_LOCKED, "wrong secret after lockout: locked");
	is_int(sql_int(db, "SELECT failures FROM invites WHERE id = x'0101010101010101'"), 3,
	    "no more failures counted once locked");
	is_int(trust_invite_count_live(db, NOW), 0, "a locked invite is not live");

	mkinvite(&iv, 2, NOW + HOUR);
	is_int(trust_invite_store(db, &iv, NOW), 0, "store invite 2");
	is_int(redeem_txn(db, &iv, wrong, NOW, 3, "x", 0), FY_ERR_AUTH, "invite 2: one wrong secret");
	is_int(redeem_txn(db, &iv, iv.secret, NOW, 3, "site-b", 0), 0, "invite 2: right secret redeems");
	is_int(sql_int(db, "SELECT used FROM invites WHERE id = x'0202020202020202'"), 1, "marked used");
	{
		sqlite3_stmt *st;
		char by[32] = "";
		if (sqlite3_prepare_v2(fy_db_handle(db), "SELECT used_by FROM invites WHERE id = x'0202020202020202'",
		    -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
			snprintf(by, sizeof(by), "%s", (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		is_str(by, "site-b", "used_by recorded");
	}
	is_int(redeem_txn(db, &iv, iv.secret, NOW, 3, "site-c", 0), FY_ERR_USED, "second use: used");
	is_int(redeem_txn(db, &iv, wrong, NOW, 3, "site-c", 0), FY_ERR_USED, "wrong secret on a used invite: used");

	/* A failure rolled back is not counted (the caller decides). */
	mkinvite(&iv, 3, NOW + HOUR);
	is_int(trust_invite_store(db, &iv, NOW), 0, "store invite 3");
	if (fy_db_begin(db) != 0)
		bail("begin");
	is_int(trust_invite_redeem(db, iv.id, wrong, NOW, 3, "x"), FY_ERR_AUTH, "wrong secret in a transaction");
	fy_db_rollback(db);
	is_int(sql_int(db, "SELECT failures FROM invites WHERE id = x'0303030303030303'"), 0,
	    "rolled back: not counted");

	/* Expiry: valid while now < expires. */
	mkinvite(&iv, 4, NOW + HOUR);
	is_int(trust_invite_store(db, &iv, NOW), 0, "store invite 4");
	is_int(trust_invite_count_live(db, NOW + HOUR - 1), 2, "live just before expiry (invites 3 and 4)");
	is_int(trust_invite_count_live(db, NOW + HOUR), 0, "none live at expiry");
	is_int(redeem_txn(db, &iv, iv.secret, NOW + HOUR, 3, "x", 0), FY_ERR_EXPIRED, "at expiry: expired");
	is_int(redeem_txn(db, &iv, wrong, NOW + HOUR + 1, 3, "x", 0), FY_ERR_EXPIRED,
	    "expired with a wrong secret: expired");
	is_int(sql_int(db, "SELECT failures FROM invites WHERE id = x'0404040404040404'"), 0,
	    "an expired invite counts no failures");
	is_int(redeem_txn(db, &iv, iv.secret, NOW + HOUR - 1, 3, "x", 0), 0, "1 ms before expiry: redeemed");

	/* Two connections redeem the same invite at once: exactly one wins. */
	for (i = 0; i < 4; i++) {
		pthread_barrier_t go;
		pthread_t th[2];
		struct racer x[2];
		int wins = 0, used = 0;
		mkinvite(&iv, (uint8_t)(0x20 + i), NOW + HOUR);
		if (trust_invite_store(db, &iv, NOW) != 0)
			bail("store");
		pthread_barrier_init(&go, NULL, 2);
		for (n = 0; n < 2; n++) {
			x[n].iv = &iv;
			x[n].go = &go;
			x[n].name = n == 0 ? "left" : "right";
			x[n].r = -999;
			if (pthread_create(&th[n], NULL, race, &x[n]) != 0)
				bail("pthread_create");
		}
		for (n = 0; n < 2; n++) {
			pthread_join(th[n], NULL);
			if (x[n].r == 0)
				wins++;
			else if (x[n].r == FY_ERR_USED)
				used++;
			else
				diag("racer %s: %s", x[n].name, fy_strerror(x[n].r));
		}
		pthread_barrier_destroy(&go);
		ok(wins == 1 && used == 1, "race %d: one redeem wins, the other sees it used", i + 1);
	}

	/* Peers. */
	mkpeer(&p, "beta", 0xb1);
	p.cert_pem = (char *)"-----BEGIN CERTIFICATE-----\nbeta\n-----END CERTIFICATE-----\n";
	is_int(trust_peer_add(db, &p), 0, "add peer beta");
	is_int(trust_peer_by_name(db, "beta", &q), 0, "by name");
	ok(memcmp(q.spki, p.spki, TRUST_HASH_LEN) == 0, "spki stored");
	is_str(q.endpoint, "beta.example:7443", "endpoint stored");
	is_str(q.role, "inviter", "role stored");
	is_int(q.paired_ms, NOW, "paired time stored");
	is_str(q.cert_pem, p.cert_pem, "certificate stored");
	ok(!q.has_prev && !q.has_next, "no previous or next key");
	trust_peer_clear(&q);
	ok(q.cert_pem == NULL, "trust_peer_clear frees and clears");
	is_int(trust_peer_by_spki(db, p.spki, NOW, &q), 0, "by spki");
	is_str(q.name, "beta", "by spki finds beta");
	trust_peer_clear(&q);
	is_int(trust_peer_by_name(db, "gamma", &q), FY_ERR_NOTFOUND, "unknown name: not found");
	memset(k, 0x77, sizeof(k));
	is_int(trust_peer_by_spki(db, k, NOW, &q), FY_ERR_NOTFOUND, "unknown spki: not found");
	mkpeer(&q, "beta", 0xb2);
	is_int(trust_peer_add(db, &q), FY_ERR_EXISTS, "duplicate name refused");
	mkpeer(&q, "beta2", 0xb1);
	is_int(trust_peer_add(db, &q), FY_ERR_EXISTS, "duplicate spki under another name refused");
	mkpeer(&q, "gamma", 0xc1);
	is_int(trust_peer_add(db, &q), 0, "add peer gamma");
	n = 0;
	is_int(trust_peer_list(db, count_cb, &n), 0, "list");
	is_int(n, 2, "two peers listed");
	n = 0;
	is_int(trust_peer_list(db, stop_cb, &n), 7, "a callback's non-zero return stops the list and is returned");
	is_int(n, 1, "stopped after one");
	is_int(trust_peer_touch(db, "beta", NOW + 5000), 0, "touch");
	if (trust_peer_by_name(db, "beta", &q) != 0)
		bail("by name");
	is_int(q.last_contact_ms, NOW + 5000, "last contact updated");
	trust_peer_clear(&q);

	/* Rotation: announce (next key accepted beside the current), promote (previous key until overlap). */
	memset(k, 0xb2, sizeof(k));
	is_int(trust_peer_announce(db, "beta", k, "next-cert"), 0, "announce beta's next key");
	{
		uint8_t k2[TRUST_HASH_LEN];
		memset(k2, 0x5a, sizeof(k2));
		is_int(trust_peer_announce(db, "nobody", k2, "next-cert"), FY_ERR_NOTFOUND, "announce for an unknown peer");
	}
	is_int(trust_peer_by_spki(db, k, NOW, &q), 0, "the announced key is accepted");
	ok(strcmp(q.name, "beta") == 0 && q.has_next && memcmp(q.spki_next, k, TRUST_HASH_LEN) == 0,
	    "and belongs to beta as its next key");
	trust_peer_clear(&q);
	is_int(trust_peer_by_spki(db, p.spki, NOW, &q), 0, "the current key still accepted");
	trust_peer_clear(&q);
	is_int(trust_peer_promote(db, "beta", NOW + HOUR), 0, "promote");
	is_int(trust_peer_promote(db, "beta", NOW + HOUR), FY_ERR_NOTFOUND, "promote without a pending key");
	is_int(trust_peer_by_name(db, "beta", &q), 0, "beta after promotion");
	ok(memcmp(q.spki, k, TRUST_HASH_LEN) == 0, "the new key is current");
	ok(q.has_prev && memcmp(q.spki_prev, p.spki, TRUST_HASH_LEN) == 0, "the old key is previous");
	is_int(q.prev_until_ms, NOW + HOUR, "until the end of the overlap");
	ok(!q.has_next, "nothing pending");
	is_str(q.cert_pem, "next-cert", "the announced certificate is current");
	trust_peer_clear(&q);
	is_int(trust_peer_by_spki(db, k, NOW, &q), 0, "new key: found");
	trust_peer_clear(&q);
	is_int(trust_peer_by_spki(db, p.spki, NOW + HOUR - 1, &q), 0, "previous key within the overlap: found");
	is_str(q.name, "beta", "previous key maps to beta");
	trust_peer_clear(&q);
	is_int(trust_peer_by_spki(db, p.spki, NOW + HOUR, &q), FY_ERR_NOTFOUND, "previous key after the overlap: not found");
	/* Certificates are public: a peer may not claim another peer's key. */
	memset(k, 0xc1, sizeof(k));
	is_int(trust_peer_announce(db, "beta", k, "x"), FY_ERR_EXISTS, "announcing gamma's key for beta: exists");
	is_int(sql_int(db, "SELECT count(*) FROM peers WHERE spki = x'"
	    "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1' OR spki_next = x'"
	    "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1'"), 1,
	    "gamma's key matches one peer only");
	is_int(trust_peer_by_spki(db, k, NOW, &q), 0, "gamma's key still looks up");
	is_str(q.name, "gamma", "as gamma");
	trust_peer_clear(&q);
	memset(k, 0xb2, sizeof(k));
	is_int(trust_peer_announce(db, "gamma", k, "x"), FY_ERR_EXISTS, "gamma may not claim beta's current key");
	memset(k, 0xb1, sizeof(k));
	is_int(trust_peer_announce(db, "gamma", k, "x"), FY_ERR_EXISTS, "nor beta's previous key");
	mkpeer(&q, "delta", 0xb1);
	is_int(trust_peer_add(db, &q), FY_ERR_EXISTS, "a new peer with beta's previous key is refused");

	/* Removal and the deny-list. */
	memset(k, 0xb2, sizeof(k));
	is_int(trust_denied(db, k, NOW), 0, "a paired key is not denied");
	is_int(trust_peer_remove(db, "beta", NOW + 2 * HOUR), 0, "remove beta");
	is_int(trust_peer_by_name(db, "beta", &q), FY_ERR_NOTFOUND, "beta is gone");
	is_int(trust_peer_by_spki(db, k, NOW, &q), FY_ERR_NOTFOUND, "its key no longer maps to a peer");
	is_int(trust_denied(db, k, NOW), FY_ERR_REVOKED, "its current key is denied");
	is_int(trust_denied(db, p.spki, NOW), FY_ERR_REVOKED, "its previous key is denied");
	is_int(trust_denied(db, k, NOW + 2 * HOUR - 1), FY_ERR_REVOKED, "denied until just before the time");
	is_int(trust_denied(db, k, NOW + 2 * HOUR), 0, "no longer denied at the time given");
	is_int(trust_peer_remove(db, "beta", NOW + 2 * HOUR), FY_ERR_NOTFOUND, "remove twice: not found");
	memset(k, 0xc1, sizeof(k));
	is_int(trust_denied(db, k, NOW), 0, "gamma, still paired, is not denied");
	mkpeer(&q, "beta", 0xb2);
	is_int(trust_peer_add(db, &q), 0, "pairing again with the revoked key");
	memset(k, 0xb2, sizeof(k));
	is_int(trust_denied(db, k, NOW), 0, "a new pairing lifts the deny-list entry");

	/* Another connection sees committed state. */
	db2 = open_db(dbpath);
	is_int(trust_peer_by_name(db2, "gamma", &q), 0, "a second connection sees gamma");
	trust_peer_clear(&q);
	fy_db_close(db2);
	fy_db_close(db);
	fy_db_close(NULL);
	t_rmtree(dir);
	free(dir);
	done_testing();
}
