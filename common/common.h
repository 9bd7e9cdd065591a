/*
 * common.h - Ferry's shared foundation: errors, logging, bounded buffers,
 * encodings, time, the configuration table and SQLite helpers.  No policy.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef FY_COMMON_H
#define FY_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define FY_WUR __attribute__((warn_unused_result))
#define FY_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ---- errors: one X-macro list yields the enum and fy_strerror() ---- */
#define FY_ERRORS(X) \
	X(FY_ERR_OK,        0, "success") \
	X(FY_ERR_NOMEM,    -1, "out of memory") \
	X(FY_ERR_INVAL,    -2, "invalid argument") \
	X(FY_ERR_LIMIT,    -3, "size limit exceeded") \
	X(FY_ERR_FORMAT,   -4, "malformed input") \
	X(FY_ERR_IO,       -5, "I/O error") \
	X(FY_ERR_DB,       -6, "database error") \
	X(FY_ERR_CRYPTO,   -7, "cryptographic operation failed") \
	X(FY_ERR_TLS,      -8, "TLS handshake failed") \
	X(FY_ERR_PIN,      -9, "peer key does not match the pinned fingerprint") \
	X(FY_ERR_AUTH,    -10, "authentication failed") \
	X(FY_ERR_EXPIRED, -11, "expired") \
	X(FY_ERR_NOTYET,  -12, "not yet valid") \
	X(FY_ERR_REPLAY,  -13, "replayed token") \
	X(FY_ERR_AUDIENCE,-14, "token audience mismatch") \
	X(FY_ERR_BINDING, -15, "token bound to another certificate") \
	X(FY_ERR_USED,    -16, "invite already used") \
	X(FY_ERR_NOTFOUND,-17, "not found") \
	X(FY_ERR_EXISTS,  -18, "already exists") \
	X(FY_ERR_LOCKED,  -19, "locked out after too many failed attempts") \
	X(FY_ERR_REVOKED, -20, "peer key revoked") \
	X(FY_ERR_CONNECT, -21, "connection failed") \
	X(FY_ERR_TIMEOUT, -22, "timed out") \
	X(FY_ERR_PEER,    -23, "peer refused the request") \
	X(FY_ERR_DENIED,  -24, "permission denied") \
	X(FY_ERR_CONFIG,  -25, "configuration error") \
	X(FY_ERR_SYSTEM,  -26, "system call failed") \
	X(FY_ERR_CHAIN,   -27, "audit chain broken") \
	X(FY_ERR_PROTO,   -28, "protocol error") \
	X(FY_ERR_CHECKSUM,-29, "checksum mismatch") \
	X(FY_ERR_VERSION, -30, "unsupported version") \
	X(FY_ERR_STATE,   -31, "not allowed in the current state") \
	X(FY_ERR_SPACE,   -32, "not enough space") \
	X(FY_ERR_CANCELLED,-33, "cancelled") \
	X(FY_ERR_CONVERGE,-34, "did not converge")

enum fy_err {
#define FY_ERR_ENUM(name, val, str) name = (val),
	FY_ERRORS(FY_ERR_ENUM)
#undef FY_ERR_ENUM
};
const char *fy_strerror(int);
/* Stable code name for --json and SOAP faults ("PIN", "EXPIRED", ...). */
const char *fy_errname(int);
/* Inverse of fy_errname(); FY_ERR_PEER when unknown. */
int fy_errcode(const char *name, size_t len);

/* ---- logging ---- */
enum { FY_LOG_ERR = 3, FY_LOG_WARN = 4, FY_LOG_INFO = 6, FY_LOG_DEBUG = 7 };
void fy_log_init(const char *ident, int to_stderr, int level);
void fy_log_set_level(int);
void fy_log(int prio, const char *func, int with_errno, const char *fmt, ...) FY_PRINTF(4, 5);
#define log_warn(...)  fy_log(FY_LOG_WARN, __func__, 1, __VA_ARGS__)
#define log_warnx(...) fy_log(FY_LOG_WARN, __func__, 0, __VA_ARGS__)
#define log_err(...)   fy_log(FY_LOG_ERR, __func__, 0, __VA_ARGS__)
#define log_info(...)  fy_log(FY_LOG_INFO, __func__, 0, __VA_ARGS__)
#define log_debug(...) fy_log(FY_LOG_DEBUG, __func__, 0, __VA_ARGS__)
int fy_log_level_parse(const char *);

/* ---- bounded buffer: every byte from wire or disk goes through one ---- */
struct fy_buf;
/* New buffer that refuses to grow past max bytes. NULL on ENOMEM. */
struct fy_buf *fy_buf_new(size_t max);
void fy_buf_free(struct fy_buf *);          /* wipes contents; NULL ok */
void fy_buf_reset(struct fy_buf *);
size_t fy_buf_len(const struct fy_buf *);    /* unread bytes */
const uint8_t *fy_buf_ptr(const struct fy_buf *);
int fy_buf_put(struct fy_buf *, const void *, size_t) FY_WUR;
int fy_buf_put_u8(struct fy_buf *, uint8_t) FY_WUR;
int fy_buf_put_u16(struct fy_buf *, uint16_t) FY_WUR;
int fy_buf_put_u64(struct fy_buf *, uint64_t) FY_WUR;
/* Length-prefixed (u16) string/bytes. */
int fy_buf_put_str16(struct fy_buf *, const void *, size_t) FY_WUR;
int fy_buf_get(struct fy_buf *, void *, size_t) FY_WUR;
int fy_buf_get_u8(struct fy_buf *, uint8_t *) FY_WUR;
int fy_buf_get_u16(struct fy_buf *, uint16_t *) FY_WUR;
int fy_buf_get_u64(struct fy_buf *, uint64_t *) FY_WUR;
/* u16-prefixed string, NUL-terminated copy into out (cap bytes incl. NUL). */
int fy_buf_get_str16(struct fy_buf *, char *out, size_t cap) FY_WUR;

/* ---- encodings ---- */
/* base64url without padding.  enc: out needs 4*ceil(n/3)+1. */
int fy_b64url_enc(const uint8_t *, size_t, char *out, size_t outcap) FY_WUR;
/* Returns decoded length in *outlen; FY_ERR_FORMAT on a bad character. */
int fy_b64url_dec(const char *, size_t, uint8_t *out, size_t outcap, size_t *outlen) FY_WUR;
int fy_hex_enc(const uint8_t *, size_t, char *out, size_t outcap);
int fy_hex_dec(const char *, uint8_t *out, size_t n) FY_WUR; /* exactly n bytes */
int fy_b32_enc(const uint8_t *, size_t, char *out, size_t outcap) FY_WUR;

/* ---- time (milliseconds since the epoch; injectable for tests) ---- */
int64_t fy_now_ms(void);
int64_t fy_mono_ms(void);
int64_t fy_mono_us(void);
/* "2026-11-21 23:26:05Z" */
void fy_fmt_time(int64_t ms, char *out, size_t cap);
/* Durations: "90", "90s", "5m", "1h", "2d" -> seconds. */
int fy_parse_duration(const char *, int64_t *secs) FY_WUR;
/* Absolute time or relative ("1h" = 1 hour ago, "2026-11-21", "2026-11-21T10:00:00") -> ms. */
int fy_parse_since(const char *, int64_t now_ms, int64_t *out) FY_WUR;
int fy_parse_int(const char *, long long min, long long max, long long *out) FY_WUR;
/* "512", "64K", "2M", "2G" (binary units) -> bytes, 1 to 1 TiB. */
int fy_parse_size(const char *, long long *out) FY_WUR;

/* ---- misc ---- */
void fy_wipe(void *, size_t);
int fy_random(void *, size_t) FY_WUR;
int fy_ct_equal(const void *, const void *, size_t);
int fy_write_file_atomic(const char *path, const void *, size_t, int mode) FY_WUR;
int fy_read_file(const char *path, size_t max, struct fy_buf **out) FY_WUR;
int fy_mkdir_p(const char *path, int mode) FY_WUR;
/* Valid site name: 1-63 chars [A-Za-z0-9._-], starting alnum. */
int fy_valid_name(const char *);
/* Sleep ms milliseconds, resuming after signals. */
void fy_sleep_ms(int ms);
/* Replace control characters (newlines, escapes) with '?', in place. */
void fy_sanitize(char *);
/* Split "host:port" / "[v6]:port". */
int fy_split_hostport(const char *, char *host, size_t hcap, char *port, size_t pcap) FY_WUR;

/* ---- configuration table ---- */
enum fy_cfg_type { FY_CFG_STR, FY_CFG_INT, FY_CFG_DURATION, FY_CFG_BOOL, FY_CFG_LOGLEVEL };
struct fy_cfg_ent {
	const char *name;
	enum fy_cfg_type type;
	size_t offset;          /* into the caller's struct */
	const char *def;        /* default as text (drives -T and the man page) */
	long long min, max;     /* for INT and DURATION */
	const char *help;
};
/*
 * Parse file into the struct at base, after applying defaults.  On error,
 * writes "file:line: message" to err and returns FY_ERR_CONFIG.  Strings are
 * malloc'd; fy_cfg_free() releases them.
 */
int fy_cfg_load(const struct fy_cfg_ent *, size_t n, void *base, const char *file,
    char *err, size_t errcap) FY_WUR;
int fy_cfg_defaults(const struct fy_cfg_ent *, size_t n, void *base) FY_WUR;
/* Pure line parser, used by fy_cfg_load and by fuzz/unit tests. */
int fy_cfg_parse_buf(const struct fy_cfg_ent *, size_t n, void *base, const char *name,
    const char *text, size_t len, char *err, size_t errcap) FY_WUR;
void fy_cfg_dump(const struct fy_cfg_ent *, size_t n, const void *base, FILE *);
void fy_cfg_free(const struct fy_cfg_ent *, size_t n, void *base);

/* ---- SQLite ---- */
struct sqlite3;
struct fy_db;
/*
 * Open (creating) path with WAL, foreign keys, busy timeout, and run the
 * forward migrations migs[0..n) against PRAGMA user_version.  A database
 * newer than the code is refused (FY_ERR_VERSION).
 */
int fy_db_open(const char *path, const char *const *migs, int n, struct fy_db **out) FY_WUR;
void fy_db_close(struct fy_db *);
struct sqlite3 *fy_db_handle(struct fy_db *);
int fy_db_begin(struct fy_db *) FY_WUR;   /* BEGIN IMMEDIATE */
int fy_db_commit(struct fy_db *) FY_WUR;
void fy_db_rollback(struct fy_db *);
int fy_db_exec(struct fy_db *, const char *sql) FY_WUR;
int fy_db_schema_version(struct fy_db *);

#endif
