/*
 * gateway.h - ferryd's internals: configuration, the site (keys, database),
 * the federation API (server and client over our own TLS), the admin API
 * and the operations behind ferryctl's commands.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef FY_GATEWAY_H
#define FY_GATEWAY_H

#include <pthread.h>
#include <stdint.h>
#include <jansson.h>
#include "common.h"
#include "trust/trust.h"
#include "transport/transport.h"

#define FERRY_VERSION_STR	PACKAGE_VERSION
#define FY_ADMIN_REQ_MAX	(64 * 1024)	/* largest admin request */
#define FY_ADMIN_RESP_MAX	(8 << 20)	/* largest admin response */
#define FY_CAPABILITIES		"pair,token,rotate,unpair,ping,migrate"

/* ---- configuration (conf.c) ---- */
struct fy_conf {
	char *site_name;
	char *listen;
	char *advertise;
	char *state_dir;
	char *admin_socket;
	char *admin_group;
	char *pidfile;
	int log_level;
	long long token_lifetime;
	long long clock_skew;
	long long invite_ttl;
	long long pair_max_attempts;
	long long rotate_overlap;
	long long max_message;
	long long max_depth;
	long long io_timeout;
	long long connect_timeout;
	long long max_connections;
	long long tp_streams_min, tp_streams_max, tp_chunk_size, tp_window;
	char *tp_compress;
	long long tp_rate_limit, tp_stream_timeout, tp_dead_timeout, tp_link_rate, tp_keep_idle;
	char *tp_congestion;
	char *domain, *qemu_binary, *qemu_img, *qemu_datastores, *qemu_networks;
	long long mig_downtime_ms, mig_deadline, mig_stall_passes, mig_throttle_max, mig_multifd;
	char *mig_escalate;
	char *vc_url, *vc_thumbprint, *vc_credentials;	/* domain vsphere */
	long long vc_timeout;
};
extern const struct fy_cfg_ent fy_conf_table[];
extern const size_t fy_conf_table_len;
/* Load, apply defaults, check semantics; "file:line: message" in err. */
int fy_conf_load(const char *file, struct fy_conf *, char *err, size_t errcap) FY_WUR;
void fy_conf_free(struct fy_conf *);
/* The endpoint we advertise in invites (advertise, else listen). */
const char *fy_conf_endpoint(const struct fy_conf *);

/* ---- errors carried to the admin client ---- */
struct fy_error {
	int code;
	char msg[512];
};
int fy_fail(struct fy_error *, int code, const char *fmt, ...) FY_PRINTF(3, 4);
/* Put "prefix: " before the message already in the error. */
int fy_fail_prefix(struct fy_error *, int code, const char *fmt, ...) FY_PRINTF(3, 4);

/* ---- the site (site.c) ---- */
struct ssl_ctx_st;
struct site_keys {
	struct trust_identity *id;
	struct ssl_ctx_st *srv, *cli;
	int refs;
};
struct site {
	struct fy_conf conf;
	pthread_mutex_t mtx;
	pthread_mutex_t rotate_mtx;	/* one rotation at a time */
	struct site_keys *keys;
	int nconns;
	int64_t started_ms;
	struct tp_server *tp;		/* transport streams from peers (data.c) */
	struct data_pool *pool;		/* idle sessions kept for the next job (data.c) */
	struct domain *dom;		/* the management domain (domain.h) */
	struct jobs *jobs;		/* the migration job engine (job.c) */
};
int site_init(struct site *, struct fy_conf *take_conf) FY_WUR;
void site_fini(struct site *);
struct site_keys *site_keys_get(struct site *);
void site_keys_put(struct site_keys *);
int site_reload_keys(struct site *) FY_WUR;
int site_open_db(struct site *, struct fy_db **) FY_WUR;
/* Drop the previous key once the rotation overlap has passed. */
void site_housekeeping(struct site *);

/* ---- federation API (fed.c) ---- */
/* Serve one accepted TCP connection (TLS, then SOAP); closes fd. */
void fed_serve_conn(struct site *, int fd, const char *peer_addr);
struct fed_client;
/*
 * TCP connect, TLS 1.3 offering only ALPN proto, and require the peer's
 * SPKI to equal one of pins[0..npins).  On success the blocking socket and
 * SSL are the caller's.
 */
int fed_dial(struct site *, const char *endpoint, const uint8_t *const *pins, int npins,
    const char *proto, int *fd, struct ssl_st **ssl, uint8_t spki[TRUST_HASH_LEN],
    struct fy_error *) FY_WUR;
/*
 * Connect to endpoint, TLS 1.3, and require the peer's SPKI to equal one
 * of pins[0..npins).  On a mismatch nothing is sent and err names the key
 * presented and pins[0].
 */
int fed_connect(struct site *, const char *endpoint, const uint8_t *const *pins, int npins,
    struct fed_client **, struct fy_error *) FY_WUR;
void fed_client_free(struct fed_client *);
struct soap *fed_client_soap(struct fed_client *);
int fed_client_fd(struct fed_client *);	/* its TCP socket (TCP_INFO) */
struct ssl_st *fed_client_ssl(struct fed_client *);
const uint8_t *fed_client_peer_spki(struct fed_client *);
/* Per-read/write timeout on the connection from now on. */
void fed_client_set_timeout(struct fed_client *, long long secs);
/* The keys this connection presents (valid while the client lives). */
struct site_keys *fed_client_keys(struct fed_client *);
/* Ask the callee's token service for a token and put it in the header. */
int fed_client_token(struct fed_client *, const char *aud, const char *scope,
    struct fy_error *) FY_WUR;
/* Map a SOAP error on the client to an fy_error with the peer's words. */
int fed_client_error(struct fed_client *, const char *what, struct fy_error *);
/* Connect to a paired peer by name and fetch a "fed" token. */
int fed_connect_peer(struct site *, struct fy_db *, const char *name, struct trust_peer *,
    struct fed_client **, struct fy_error *) FY_WUR;

/* ---- the data plane: transport sessions with peers (data.c) ---- */
struct tp_session;
struct tp_config;
int data_init(struct site *) FY_WUR;
void data_fini(struct site *);
/* Hand an accepted TLS connection that chose TRUST_ALPN_DATA to the transport. */
void data_serve_stream(struct site *, int fd, struct ssl_st *ssl, const char *addr);
/* Open a transport session to a paired peer (streams authenticated with "data" tokens). */
int data_session_open(struct site *, const char *peer, const struct tp_config *, struct tp_session **,
    struct fy_error *) FY_WUR;
void data_session_close(struct tp_session *, int timeout_ms);
/*
 * A session to peer for a job: a kept idle one (*reused = 1) when there is
 * one still usable, else a new one (data_session_open).  Released after
 * the job: kept for transport_keep_idle seconds when keep and usable,
 * closed otherwise.
 */
int data_session_take(struct site *, const char *peer, const struct tp_config *, struct tp_session **,
    int *reused, struct fy_error *) FY_WUR;
void data_session_release(struct site *, struct tp_session *, int keep);
/* Close the kept sessions to peer (NULL: all): unpaired, or shutting down. */
void data_pool_drop(struct site *, const char *peer);
/* End the sessions peers opened to this site (ferryd stopping): their streams are cut. */
void data_end_sessions(struct site *);
/* Close kept sessions idle past transport_keep_idle or no longer usable. */
void data_pool_expire(struct site *);
void data_config(const struct site *, struct tp_config *);

/* ---- the migration job engine (job.c) ---- */
/* Load jobs, recover those a previous ferryd left unfinished, start the workers. */
int jobs_init(struct site *, struct fy_error *) FY_WUR;
void jobs_fini(struct site *);
/* A full measurement of a peer's link (link test, a job's probe): jobs in the next minutes use it. */
void jobs_link_note(struct site *, const char *peer, long long mbit, int64_t rtt_us);
/* Keep a federation connection to peer (the caller's no more) for the next job's Prepare. */
void jobs_client_keep(struct site *, const char *peer, struct fed_client *, const char *from);
/* The federation API's migration calls, at the destination (peer = the verified caller). */
struct job_outcome {
	char phase[24], outcome[24], error[400];
	int64_t first_line_ms, resumed_ms;
};
int job_fed_prepare(struct site *, const char *peer, const char *job, const char *spec,
    const char *options, char *vm, size_t vmcap, char *uuid, size_t uuidcap, struct fy_error *) FY_WUR;
int job_fed_finish(struct site *, const char *peer, const char *job, const char *digest,
    char *mydigest, size_t cap, int64_t *resumed_ms, struct fy_error *) FY_WUR;
int job_fed_abort(struct site *, const char *peer, const char *job, const char *reason,
    struct fy_error *) FY_WUR;
int job_fed_query(struct site *, const char *peer, const char *job, struct job_outcome *,
    struct fy_error *) FY_WUR;
/* A transport channel named "mig/..." opened by a peer (data.c hands it over). */
void job_channel(struct site *, struct tp_session *, struct tp_channel *);

/* ---- operations behind the admin API (ops.c) ---- */
struct admin_caller {
	unsigned uid, gid;
	int pid;
	char actor[64];		/* "admin uid=0 pid=123" */
};
typedef json_t *(*op_fn)(struct site *, const struct admin_caller *, json_t *args, struct fy_error *);
struct op_ent {
	const char *name;
	op_fn fn;
};
extern const struct op_ent fy_ops[];
/* A time for --json: "2026-11-21 10:00:00Z", or null for none (ops.c). */
json_t *fy_time_json(int64_t ms);
extern const struct op_ent fy_vm_ops[];		/* ops_vm.c */
extern const struct op_ent fy_job_ops[];	/* job.c */
extern const struct op_ent fy_preflight_ops[];	/* preflight.c */
/* Audit from an op that has no database open (ops.c). */
int trust_audit_noerr(struct site *, const char *actor, const char *peer, const char *action,
    const char *outcome, const char *fmt, ...) FY_PRINTF(6, 7);
/* ferryctl link test: goodput, round trip, retransmits to args' "site" (ops.c). */
json_t *op_link_test(struct site *, const struct admin_caller *, json_t *args, struct fy_error *);
/* ---- pre-flight (preflight.c) ---- */
/* This site's facts, ferry-findings(7) FACTS; vms: the named VMs (array of names), or all when NULL. */
json_t *preflight_facts(struct site *, json_t *names, struct fy_error *);
/* SiteFacts' scope ({"resolve": [names]}): the peer's names resolved here too, into f's "dns". */
void preflight_resolve_scope(struct site *, json_t *f, const char *scope);
const struct op_ent *fy_op_find(const char *);

/* ---- admin API (admin.c) ---- */
/* Listen on the UNIX socket: mode 0660, group admin_group or root's. */
int admin_listen(struct site *, int *fd) FY_WUR;
void admin_serve_conn(struct site *, int fd);
/* Peer-credential policy: root, the daemon's own uid, or admin_group members. */
int admin_authorized(unsigned uid, unsigned gid, unsigned self_uid, int group_set, unsigned group,
    const unsigned *groups, int ngroups);
/* Framing shared with ferryctl: 4-byte big-endian length, then JSON. */
int admin_send(int fd, const char *, size_t) FY_WUR;
int admin_recv(int fd, size_t max, struct fy_buf **out) FY_WUR;

#endif
