/*
 * transport.h - Ferry's data plane between two paired gateways: a session
 * of N TLS 1.3 streams carrying framed chunks for logical channels.
 *
 * A channel is a reliable, ordered, bidirectional byte stream (like a TCP
 * connection) multiplexed over all the session's streams: its chunks go to
 * whichever stream can take them, carry a per-channel sequence number and
 * an end-to-end XXH3 checksum, and stay in the sender's memory until the
 * receiver acknowledges them.  When a stream dies its unacknowledged
 * chunks are re-sent on the others and the initiator dials it again.
 * Flow control is per channel: the receiver buffers at most `window`
 * bytes, the sender may not run further ahead than that (backpressure
 * reaches the producer as a blocking write).
 *
 * The process must ignore SIGPIPE (streams write to sockets a peer may
 * close at any time; the error is handled, the signal would kill).
 * The transport knows nothing of VMs, SOAP or tokens: the gateway dials
 * and authenticates streams (tp_dial_fn), and verifies the opaque
 * credential each stream presents in its HELLO (tp_verify_fn).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef FY_TRANSPORT_H
#define FY_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include "common.h"

struct ssl_st;
struct tp_session;
struct tp_channel;
struct tp_server;

#define TP_ALPN			"ferry-data/1"
#define TP_MAX_STREAMS		32
#define TP_CHUNK_MIN		(64 * 1024)
#define TP_CHUNK_MAX		(4 << 20)
#define TP_CRED_MAX		1024		/* credential in HELLO */
#define TP_NAME_MAX		64		/* channel name */

enum tp_compress { TP_COMPRESS_NONE = 0, TP_COMPRESS_LZ4 = 1, TP_COMPRESS_ZSTD = 2 };

struct tp_config {
	int min_streams, max_streams;	/* adaptive between them; equal = fixed */
	size_t chunk_size;		/* largest data chunk (1-4 MiB) */
	size_t window;			/* per channel and direction, bytes */
	enum tp_compress compress;
	uint64_t rate_limit;		/* bytes/s for the session, 0 = none */
	int stream_timeout_ms;		/* silence before a stream is declared dead */
	int dead_timeout_ms;		/* all streams down this long: session fails */
	uint64_t link_rate_hint;	/* bytes/s used to size buffers before measuring */
	const char *congestion;		/* "bbr" (cubic with a warning if missing) */
	const char *peer;		/* name for messages */
	/*
	 * Optional: the round trip to the peer in microseconds, or 0 while
	 * unknown; asked (with the dial argument, no lock held) while the
	 * first streams dial, so the rest of the initial streams are dialled
	 * as soon as it is known instead of after the first are up.
	 */
	int64_t (*rtt_hint)(void *dial_arg);
};
void tp_config_defaults(struct tp_config *);

/*
 * Dial stream idx of a session: connect, TLS 1.3 with ALPN TP_ALPN, check
 * the peer's pin, and return the socket and SSL (blocking mode) plus the
 * credential to present in HELLO.  0 or an FY_ERR_* code.
 */
typedef int (*tp_dial_fn)(void *arg, int idx, int *fd, struct ssl_st **ssl,
    char *cred, size_t credcap, char *err, size_t errcap);
/* Accept side: check a stream's credential against its TLS connection. */
typedef int (*tp_verify_fn)(void *arg, struct ssl_st *ssl, const char *cred, char *peer, size_t peercap);
/* Accept side: a channel the peer opened; the callee owns it (tp_channel_free). */
typedef void (*tp_channel_fn)(void *arg, struct tp_session *, struct tp_channel *);

/* ---- initiator ---- */
int tp_session_open(const struct tp_config *, tp_dial_fn, void *dial_arg, struct tp_session **,
    char *err, size_t errcap) FY_WUR;
/* Close all streams (after the peer acknowledged everything, or after timeout_ms) and free. */
void tp_session_close(struct tp_session *, int timeout_ms);
/*
 * 1 when the session may carry the next user's channels: a stream is up,
 * it is neither failing nor closing, no channel is open and nothing waits
 * to be sent (an initiator keeps such a session for its next job).
 */
int tp_session_idle_ok(struct tp_session *);
void tp_session_set_rate(struct tp_session *, uint64_t bytes_per_s);
/* The peer's name: the verified name on the acceptor side, cfg.peer on the initiator's. */
const char *tp_session_peer(const struct tp_session *);
/* The dial_arg given to tp_session_open. */
void *tp_session_arg(struct tp_session *);

/* ---- acceptor ---- */
/* Sessions the peers open here use cfg (window, timeouts, compression). */
int tp_server_new(const struct tp_config *, tp_verify_fn, tp_channel_fn, void *arg,
    struct tp_server **) FY_WUR;
void tp_server_free(struct tp_server *);
/* Fail every session of this peer now (it was unpaired), or of every peer (NULL: stopping): streams are cut. */
void tp_server_drop_peer(struct tp_server *, const char *peer);
/* Run one accepted stream (TLS done, ALPN TP_ALPN) until it ends; closes fd. */
void tp_server_stream(struct tp_server *, int fd, struct ssl_st *ssl, const char *addr);

/* ---- channels (either side) ---- */
int tp_channel_open(struct tp_session *, const char *name, struct tp_channel **) FY_WUR;
const char *tp_channel_name(const struct tp_channel *);
/*
 * Queue n bytes; blocks while the peer's window is full.  Returns 0, or
 * FY_ERR_CONNECT when the session failed (all streams gone too long) or
 * FY_ERR_PEER when the peer reset the channel.
 */
int tp_channel_write(struct tp_channel *, const void *, size_t) FY_WUR;
/* Send end-of-stream in this direction (reliable, after all data). */
int tp_channel_shutdown(struct tp_channel *) FY_WUR;
/*
 * Read up to n bytes in order; blocks up to timeout_ms (-1 forever).
 * Returns bytes read, 0 at the peer's end-of-stream, or a negative
 * FY_ERR_* (FY_ERR_TIMEOUT, FY_ERR_CONNECT, FY_ERR_PEER).
 */
long tp_channel_read(struct tp_channel *, void *, size_t, int timeout_ms);
/* Wait until the peer has consumed everything written (or error/timeout). */
int tp_channel_drain(struct tp_channel *, int timeout_ms) FY_WUR;
void tp_channel_set_rate(struct tp_channel *, uint64_t bytes_per_s);
/*
 * Lower the most a channel may have unconsumed at the peer (the smaller of
 * the two sides' windows at open) to bytes, at once for every channel of
 * the session (writers already past the old limit wait until they are
 * under the new one); never below two chunks.  It only lowers.
 */
void tp_session_limit_window(struct tp_session *, uint64_t bytes);
/*
 * Release; a channel not shut down both ways is reset at the peer.  Data
 * still unacknowledged is dropped: tp_channel_drain() first when it must
 * arrive (tp_tunnel does).
 */
void tp_channel_free(struct tp_channel *);

/*
 * Bridge fd and channel both ways until both directions reached
 * end-of-stream or an error; returns 0 or FY_ERR_*.  fd is not closed.
 */
int tp_tunnel(struct tp_channel *, int fd) FY_WUR;

/* ---- measurements ---- */
struct tp_stats {
	int streams_up, streams_target, streams_max_seen;
	uint64_t bytes_sent, bytes_acked, bytes_received;	/* payload, before compression */
	uint64_t wire_bytes_sent;
	uint64_t chunks_resent, chunks_zero, chunks_compressed, chunks_corrupt;
	uint64_t stream_failures, redials;
	uint64_t retransmits;		/* TCP segments resent, all streams over the session's life (TCP_INFO) */
	uint64_t tcp_acked;		/* bytes TCP saw acknowledged, TLS included, all streams over its life */
	double rtt_ms;			/* smoothed, from TCP_INFO: under load */
	double min_rtt_ms;		/* lowest any stream saw (tcpi_min_rtt): the path's; 0 unknown */
	int sndbuf, rcvbuf;		/* per stream, as the kernel granted */
	uint64_t window;		/* a channel's send window now (tp_session_limit_window) */
	int buffers_capped;		/* the kernel's limits were below the BDP */
	char congestion[16];
	char last_error[320];
};
void tp_session_stats(struct tp_session *, struct tp_stats *);

/* ---- framing (frame.c, pure: used by the fuzzer) ---- */
enum tp_type {
	TP_HELLO = 1, TP_WELCOME = 2, TP_DATA = 3, TP_ACK = 4, TP_PING = 5, TP_PONG = 6,
	TP_BYE = 7, TP_RESET = 8,
};
enum tp_flags {
	TP_F_OPEN = 0x01,	/* DATA: first chunk of a channel; payload = name */
	TP_F_FIN = 0x02,	/* DATA: end of stream in this direction */
	TP_F_ZERO = 0x04,	/* DATA: raw_len zero bytes, no payload */
	TP_F_LZ4 = 0x08,
	TP_F_ZSTD = 0x10,
};
#define TP_HDR_LEN	36
#define TP_MAGIC	0x4659u		/* "FY" */
#define TP_VERSION	1
struct tp_hdr {
	uint8_t type, flags;
	uint32_t channel;
	uint32_t len;			/* payload bytes on the wire */
	uint32_t raw_len;		/* payload bytes after decompression */
	uint64_t seq;
	uint64_t sum;			/* XXH3-64 of the raw payload (DATA) */
};
void tp_hdr_encode(const struct tp_hdr *, uint8_t out[TP_HDR_LEN]);
/* FY_ERR_FORMAT/VERSION/LIMIT on a bad header; the limits are the protocol's. */
int tp_hdr_decode(const uint8_t in[TP_HDR_LEN], struct tp_hdr *) FY_WUR;
uint64_t tp_checksum(const void *, size_t);
/*
 * Decode a DATA payload into raw (capacity h->raw_len): decompress, expand
 * zero chunks, verify the checksum.  FY_ERR_CHECKSUM on a mismatch.
 */
int tp_data_decode(const struct tp_hdr *, const uint8_t *payload, uint8_t *raw) FY_WUR;
/*
 * Encode raw into *payload (malloc'd, or NULL for a zero chunk), setting
 * the header's flags, len, raw_len and sum.  Compression is kept only
 * when it saves at least 10%.
 */
int tp_data_encode(struct tp_hdr *, const uint8_t *raw, size_t n, enum tp_compress,
    uint8_t **payload) FY_WUR;
/* ACK payload: a list of (channel u32, next_seq u64, consumed u64). */
#define TP_ACK_ENT	20
struct tp_ack { uint32_t channel; uint64_t next_seq, consumed; };
int tp_ack_decode(const uint8_t *, size_t, struct tp_ack *, size_t max, size_t *n) FY_WUR;
/* HELLO payload: session id[16], stream index u16, str16 credential. */
int tp_hello_decode(const uint8_t *, size_t, uint8_t sid[16], uint16_t *idx, char *cred, size_t credcap) FY_WUR;

#endif
