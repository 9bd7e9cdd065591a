/*
 * session.c - sessions, streams and channels.
 *
 * Locking: one mutex per session guards its channels, queues and counters;
 * stream threads do their TLS I/O without it.  Each stream is one thread
 * with a non-blocking socket and SSL object (OpenSSL objects are not shared
 * between threads), woken through a pipe when there is something to send.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/tcp.h>	/* struct tcp_info with tcpi_bytes_acked (glibc's lacks it) */
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include "transport-int.h"

#define PING_MS		1000
#define ACK_MS		5	/* coalesce acknowledgements this long at most */
#define ACK_BATCH	64
#define MANAGER_MS	100
#define ADAPT_MS	1000
#define NOTSENT_MIN	(256 * 1024)	/* unsent bytes a stream keeps in its socket, */
#define NOTSENT_MAX	(4 << 20)	/* between these, */
#define NOTSENT_MS	25		/* as much as it sends in this long */
#define OPEN_WAIT_MS	2000	/* open: wait this long after the first stream for the others */
#define RAMP_MS		3000	/* no stream count change while the session ramps up */
#define HOLD_MS		10000	/* after a stream count change that did not pay */
#define PACE_GAIN	1.1	/* per-stream pacing cap: this times an equal share, */
#define PACE_GAIN_LOSSY	1.3	/* or this while over LOSSY of the segments are resent */
#define LOSSY		0.005
#define BDP_PER_STREAM	(3 << 20)	/* initial_streams(): at most this much of the BDP each */
#define PROBE_GAIN	1.05	/* plan for this much more than the best rate delivered */
#define GONE_MAX	256
#define RESET_MAX	64
#define HELLO_DEADLINE_MS 10000
#define CHANNELS_MAX	1024	/* per session */

enum { ST_DOWN = 0, ST_DIALING, ST_UP };

struct stream {
	struct tp_session *s;
	int idx, state, fd, wake[2];
	SSL *ssl;
	pthread_t th;
	int has_thread;
	int64_t last_rx_ms, last_ping_ms, next_dial_ms, down_ms;
	int bye_sent;
	int dial_failures;
	int lowat;			/* TCP_NOTSENT_LOWAT set on the socket */
	uint64_t pacing;		/* SO_MAX_PACING_RATE set on the socket, 0 = none */
	uint64_t info_acked, info_retr;	/* tcpi_bytes_acked, tcpi_total_retrans at the last read_tcp_info() */
	/* frame being written */
	uint8_t whdr[TP_HDR_LEN];
	uint8_t *wctl;			/* control payload (owned) */
	struct chunk *wchunk;		/* data payload (busy) */
	size_t wlen, woff;		/* header + payload */
	/* frame being read */
	uint8_t rhdr[TP_HDR_LEN];
	struct tp_hdr rh;
	uint8_t *rbuf;
	size_t roff;
	int sndbuf, rcvbuf;
};

struct tp_session {
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	struct tp_config cfg;
	uint8_t sid[16];
	int initiator;
	tp_dial_fn dial;
	void *dial_arg;
	struct tp_server *server;	/* acceptor side */
	char peer[64];
	struct stream st[TP_MAX_STREAMS];
	int target;			/* streams wanted (initiator) */
	struct chunkq sendq;
	struct chanq chans;
	uint32_t next_chan;
	uint32_t gone[GONE_MAX];		/* recently closed channel ids */
	int gone_at;
	int nup, closing, failed, bye, refs;
	int64_t down_since_ms;
	int ack_pending;
	int64_t ack_due_ms;
	uint64_t peer_window;		/* the peer's receive buffer per channel */
	int nchans;
	uint32_t resets[RESET_MAX];	/* channels to reset at the peer */
	int nresets;
	struct tp_ack final_acks[RESET_MAX];	/* last word on channels freed here */
	int nfinal;
	char last_dial_error[160];
	char open_error[160];		/* first failure while opening */
	int open_rc;
	int ramping;			/* adapt(): goodput still growing after open */
	int lossy;			/* adapt(): the last period resent over LOSSY */
	int base_streams;		/* initial_streams(): adapt() goes no lower */
	int pong_pending[TP_MAX_STREAMS];
	uint64_t pong_val[TP_MAX_STREAMS];
	/* session token bucket */
	double tokens;
	int64_t tokens_at_us;
	pthread_t manager;
	int has_manager;
	struct tp_stats stats;
	uint64_t adapt_prev_rate, adapt_retr, adapt_prev_retr, adapt_acked;
	int64_t adapt_at_ms, adapt_frozen_until;
	int adapt_last_added;
	uint64_t rate_est;		/* bytes/s the session delivered at best, recently */
	uint64_t rate_hist[8];		/* per adapt period, newest at rate_at */
	int rate_at;
	TAILQ_ENTRY(tp_session) e;
};

struct tp_server {
	pthread_mutex_t mtx;
	struct tp_config cfg;
	tp_verify_fn verify;
	tp_channel_fn on_channel;
	void *arg;
	TAILQ_HEAD(, tp_session) sessions;
};

static void stream_wake(struct stream *);

void
tp_config_defaults(struct tp_config *c)
{
	memset(c, 0, sizeof(*c));
	c->min_streams = 2;
	c->max_streams = 8;
	c->chunk_size = 1 << 20;
	c->window = 64 << 20;
	c->compress = TP_COMPRESS_NONE;
	c->stream_timeout_ms = 10000;
	c->dead_timeout_ms = 30000;
	c->link_rate_hint = 125000000;	/* 1 Gbit/s */
	c->congestion = "bbr";
}

/* ------------------------------------------------------------ helpers */

static void
chunk_free(struct chunk *c)
{
	if (c == NULL)
		return;
	free(c->data);
	free(c);
}

/* Release a sender chunk once nothing refers to it.  Lock held. */
static void
chunk_maybe_free(struct chunk *c)
{
	if (c->acked && !c->busy && !c->queued)
		chunk_free(c);
}

static void
wake_all(struct tp_session *s)
{
	int i;

	for (i = 0; i < TP_MAX_STREAMS; i++)
		if (s->st[i].state == ST_UP)
			stream_wake(&s->st[i]);
	pthread_cond_broadcast(&s->cv);
}

/* A session is failed when no stream has been up for dead_timeout. Lock held. */
static int
session_dead(struct tp_session *s)
{
	if (s->failed)
		return 1;
	if (s->nup == 0 && s->down_since_ms > 0 &&
	    fy_mono_ms() - s->down_since_ms > s->cfg.dead_timeout_ms) {
		s->failed = 1;
		snprintf(s->stats.last_error, sizeof(s->stats.last_error),
		    "no stream to %.40s for %d ms%s%.100s%s", s->peer, s->cfg.dead_timeout_ms,
		    s->last_dial_error[0] ? " (last attempt: " : "", s->last_dial_error,
		    s->last_dial_error[0] ? ")" : "");
		log_warnx("transport session to %s failed: %s", s->peer, s->stats.last_error);
		pthread_cond_broadcast(&s->cv);
	}
	return s->failed;
}

static void
timed_wait(struct tp_session *s, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);	/* the cv is on CLOCK_MONOTONIC */
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	pthread_cond_timedwait(&s->cv, &s->mtx, &ts);
}

static struct tp_channel *
chan_find(struct tp_session *s, uint32_t id)
{
	struct tp_channel *c;

	TAILQ_FOREACH(c, &s->chans, e)
		if (c->id == id)
			return c;
	return NULL;
}

static struct tp_channel *
chan_new(struct tp_session *s, uint32_t id, int local)
{
	struct tp_channel *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->s = s;
	c->id = id;
	c->local = local;
	TAILQ_INIT(&c->unacked);
	TAILQ_INIT(&c->rq);
	TAILQ_INSERT_TAIL(&s->chans, c, e);
	s->refs++;
	s->nchans++;
	return c;
}

/* ------------------------------------------------------------ sockets */

/* Field idx (0-based) of a /proc/sys file of integers; 0 when unreadable. */
static int
sysctl_int(const char *path, int idx)
{
	FILE *f = fopen(path, "r");
	long v = 0;
	int i;

	if (f == NULL)
		return 0;
	for (i = 0; i <= idx; i++)
		if (fscanf(f, "%ld", &v) != 1) {
			v = 0;
			break;
		}
	fclose(f);
	return v > INT32_MAX ? INT32_MAX : (int)v;
}

/*
 * Bytes/s to plan for: the configured link rate, or PROBE_GAIN above the
 * best rate the streams delivered together recently, whichever is more
 * (so that a link faster than configured is found, 5% a second).  Lock held.
 */
static uint64_t
plan_rate(const struct tp_session *s)
{
	uint64_t r = s->cfg.link_rate_hint > 0 ? s->cfg.link_rate_hint : 125000000;
	uint64_t m = (uint64_t)((double)s->rate_est * PROBE_GAIN);

	return m > r ? m : r;
}

/*
 * Per stream, from its share of the rate (lock held; also called when the
 * stream count or the estimate changes):
 * - TCP_NOTSENT_LOWAT: keep about NOTSENT_MS of unsent data in the socket.
 *   Little enough that a chunk goes to a stream that can send it now, not
 *   into the buffer of one stuck in loss recovery; enough that the socket
 *   never runs dry between two wake-ups of the stream's thread.  A socket
 *   that runs dry makes its flow application-limited, and BBR does not
 *   leave STARTUP (pacing at 2.9 x its estimate) on application-limited
 *   rounds: those streams overran the bottleneck queue.
 * - SO_MAX_PACING_RATE: at most PACE_GAIN x an equal share.  N BBR flows
 *   each estimate the bandwidth with a max filter, and what one stream
 *   measured while others were held up sums to more than the link: the
 *   cap keeps the sum of their rates near it, so they do not fill the
 *   bottleneck queue and lose segments to it.  The slack above an equal
 *   share lets the others cover for a stream in loss recovery: more of
 *   it while the link loses segments (with 1% loss, caps at exactly an
 *   equal share cost 8% of goodput; on a lossless 20 ms link with a
 *   one-BDP queue, 1.3 instead of 1.1 cost 3% and 60 000 queue drops).
 */
static int parked(const struct stream *);

/* Streams that take data: up and not parked.  Lock held. */
static int
active_streams(const struct tp_session *s)
{
	int i, n = 0;

	for (i = 0; i < TP_MAX_STREAMS; i++)
		if (s->st[i].state == ST_UP && !parked(&s->st[i]))
			n++;
	return n;
}

static void
stream_pace(struct tp_session *s, struct stream *st)
{
	int n = active_streams(s), lowat;
	uint64_t rate = plan_rate(s), pace;
	double lo;

	if (n < 1)
		n = 1;

	lo = (double)rate * NOTSENT_MS / 1000.0 / n;
	lowat = lo < NOTSENT_MIN ? NOTSENT_MIN : lo > NOTSENT_MAX ? NOTSENT_MAX : (int)lo;
	if (lowat != st->lowat &&
	    setsockopt(st->fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat)) == 0)
		st->lowat = lowat;
	pace = (uint64_t)((double)rate * (s->lossy ? PACE_GAIN_LOSSY : PACE_GAIN) / n);
	if (pace != st->pacing &&
	    setsockopt(st->fd, SOL_SOCKET, SO_MAX_PACING_RATE, &pace, sizeof(pace)) == 0)
		st->pacing = pace;
}

/* Re-derive every up stream's share (the count or the estimate changed).  Lock held. */
static void
pace_all(struct tp_session *s)
{
	int i;

	for (i = 0; i < TP_MAX_STREAMS; i++)
		if (s->st[i].state == ST_UP && s->st[i].fd >= 0)
			stream_pace(s, &s->st[i]);
}

/* Largest send buffer one socket can get: autotuning's or an explicit one. */
static int
sndbuf_max(void)
{
	int autotune = sysctl_int("/proc/sys/net/ipv4/tcp_wmem", 2);
	int core = sysctl_int("/proc/sys/net/core/wmem_max", 0);

	/* The kernel doubles an explicit SO_SNDBUF (bookkeeping overhead). */
	return core > INT32_MAX / 2 ? INT32_MAX : (2 * core > autotune ? 2 * core : autotune);
}

static void
tune_socket(struct tp_session *s, struct stream *st)
{
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);
	const char *cc = s->cfg.congestion ? s->cfg.congestion : "bbr";
	int one = 1, want, n = s->target > 0 ? s->target : 1;
	int autotune, core;
	socklen_t ol = sizeof(int);
	double rtt_s = 0.001;

	(void)setsockopt(st->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (setsockopt(st->fd, IPPROTO_TCP, TCP_CONGESTION, cc, (socklen_t)strlen(cc)) != 0) {
		static int warned;
		if (!warned++)
			log_warnx("congestion control %s unavailable; using cubic", cc);
		(void)setsockopt(st->fd, IPPROTO_TCP, TCP_CONGESTION, "cubic", 5);
		snprintf(s->stats.congestion, sizeof(s->stats.congestion), "cubic");
	} else
		snprintf(s->stats.congestion, sizeof(s->stats.congestion), "%s", cc);
	st->lowat = 0;
	st->pacing = 0;
	stream_pace(s, st);
	if (getsockopt(st->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 && ti.tcpi_rtt > 0)
		rtt_s = ti.tcpi_rtt / 1e6;
	/*
	 * 2 x BDP / streams each.  Kernel autotuning grows buffers up to
	 * tcp_wmem/tcp_rmem's maximum, and an explicit SO_SNDBUF turns it off
	 * and is capped by net.core.wmem_max (the kernel doubles it): so leave
	 * autotuning on when its ceiling is enough, set the buffer when that
	 * gets more than autotuning would, and warn when the streams together
	 * cannot hold the BDP (initial_streams() sized their number for it).
	 */
	want = (int)((double)plan_rate(s) * rtt_s * 2.0 / n);
	autotune = sysctl_int("/proc/sys/net/ipv4/tcp_wmem", 2);
	if (want > autotune) {
		core = sysctl_int("/proc/sys/net/core/wmem_max", 0);
		if (core > want / 2)
			core = want / 2 + 1;
		if (2 * core > autotune)
			(void)setsockopt(st->fd, SOL_SOCKET, SO_SNDBUF, &core, sizeof(core));
	}
	if (want > sysctl_int("/proc/sys/net/ipv4/tcp_rmem", 2)) {
		core = sysctl_int("/proc/sys/net/core/rmem_max", 0);
		if (core >= want)
			(void)setsockopt(st->fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
	}
	ol = sizeof(int);
	(void)getsockopt(st->fd, SOL_SOCKET, SO_SNDBUF, &st->sndbuf, &ol);
	ol = sizeof(int);
	(void)getsockopt(st->fd, SOL_SOCKET, SO_RCVBUF, &st->rcvbuf, &ol);
	(void)fcntl(st->fd, F_SETFL, fcntl(st->fd, F_GETFL) | O_NONBLOCK);
	SSL_set_mode(st->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

static void
stream_wake(struct stream *st)
{
	char c = 1;

	if (st->wake[1] >= 0)
		(void)!write(st->wake[1], &c, 1);
}

/* ------------------------------------------------------------ receiving */

static void
mark_ack(struct tp_session *s, struct tp_channel *c)
{
	c->ack_dirty = 1;
	if (!s->ack_pending) {
		s->ack_pending = 1;
		s->ack_due_ms = fy_mono_ms() + ACK_MS;
	}
}

struct open_job {
	struct tp_session *s;
	struct tp_channel *c;
};

static void *
open_thread(void *arg)
{
	struct open_job *j = arg;

	j->s->server->on_channel(j->s->server->arg, j->s, j->c);
	free(j);
	return NULL;
}

/* Deliver an in-order OPEN to the acceptor's callback, in its own thread. Lock held. */
static void
announce(struct tp_session *s, struct tp_channel *c)
{
	struct open_job *j;
	pthread_attr_t a;
	pthread_t t;

	c->announced = 1;
	if (s->server == NULL || s->server->on_channel == NULL || (j = malloc(sizeof(*j))) == NULL) {
		c->reset = 1;
		return;
	}
	j->s = s;
	j->c = c;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, open_thread, j) != 0) {
		free(j);
		c->reset = 1;
	}
	pthread_attr_destroy(&a);
}

/*
 * Take a verified DATA chunk (raw bytes in k->data).  Lock held; takes k.
 * FY_ERR_LIMIT when the peer overruns our window or opens too many
 * channels: the stream is dropped.
 */
static int
recv_chunk(struct tp_session *s, struct chunk *k)
{
	struct tp_channel *c = chan_find(s, k->h.channel);
	struct chunk *o;

	s->stats.bytes_received += k->h.raw_len;
	if (c == NULL) {
		/* A channel the peer opens: the other side's parity, not one already closed. */
		int theirs = (k->h.channel & 1) != (uint32_t)(s->initiator ? 1 : 0), i;
		for (i = 0; i < GONE_MAX; i++)
			if (s->gone[i] == k->h.channel)
				theirs = 0;
		if (!theirs || k->h.channel == 0) {
			chunk_free(k);	/* stale: a channel already gone */
			return 0;
		}
		if (s->nchans >= CHANNELS_MAX) {
			chunk_free(k);
			return FY_ERR_LIMIT;
		}
		if ((c = chan_new(s, k->h.channel, 0)) == NULL) {
			chunk_free(k);
			return FY_ERR_NOMEM;
		}
	}
	if (c->freed || k->h.seq < c->recv_next) {
		chunk_free(k);
		mark_ack(s, c);		/* a resend: the peer missed our ack */
		return 0;
	}
	/* Our window, one chunk of slack: a peer that runs past it is broken. */
	if (c->buffered + k->h.raw_len > s->cfg.window + TP_CHUNK_MAX ||
	    k->h.seq - c->recv_next > (s->cfg.window / 64) + 1024) {
		chunk_free(k);
		return FY_ERR_LIMIT;
	}
	/* Insert by sequence, searching from the tail (arrivals are mostly in order). */
	TAILQ_FOREACH_REVERSE(o, &c->rq, chunkq, ue) {
		if (o->h.seq == k->h.seq) {
			chunk_free(k);
			return 0;
		}
		if (o->h.seq < k->h.seq)
			break;
	}
	k->ch = c;
	k->fin = (k->h.flags & TP_F_FIN) != 0;
	if (o != NULL)
		TAILQ_INSERT_AFTER(&c->rq, o, k, ue);
	else
		TAILQ_INSERT_HEAD(&c->rq, k, ue);
	if (!(k->h.flags & TP_F_OPEN))
		c->buffered += k->h.raw_len;
	/* Advance over what is now contiguous, starting at the new chunk. */
	for (o = k->h.seq == c->recv_next ? k : NULL; o != NULL; o = TAILQ_NEXT(o, ue)) {
		if (o->h.seq != c->recv_next)
			break;
		c->recv_next++;
		if (o->h.flags & TP_F_OPEN) {
			snprintf(c->name, sizeof(c->name), "%.*s", (int)o->h.raw_len, (char *)o->data);
			if (!c->local && !c->announced)
				announce(s, c);
		}
	}
	/* Drop consumed OPEN markers from the head. */
	while ((o = TAILQ_FIRST(&c->rq)) != NULL && (o->h.flags & TP_F_OPEN) && o->h.seq < c->recv_next) {
		TAILQ_REMOVE(&c->rq, o, ue);
		chunk_free(o);
	}
	mark_ack(s, c);
	pthread_cond_broadcast(&s->cv);
	return 0;
}

/*
 * Release the sender's chunks of channel c with seq below `below` (all of
 * them with UINT64_MAX): out of the send queue, freed once no stream is
 * writing them.  Lock held.
 */
static void
drop_unacked(struct tp_session *s, struct tp_channel *c, uint64_t below)
{
	struct chunk *k;

	while ((k = TAILQ_FIRST(&c->unacked)) != NULL && k->h.seq < below) {
		TAILQ_REMOVE(&c->unacked, k, ue);
		if (k->queued) {
			TAILQ_REMOVE(&s->sendq, k, qe);
			k->queued = 0;
		}
		k->acked = 1;
		chunk_maybe_free(k);
	}
}

static void
recv_ack(struct tp_session *s, const struct tp_ack *a)
{
	struct tp_channel *c = chan_find(s, a->channel);

	if (c == NULL || a->next_seq > c->next_seq || a->consumed > c->sent_bytes)
		return;
	if (a->consumed > c->peer_consumed) {
		s->stats.bytes_acked += a->consumed - c->peer_consumed;
		c->peer_consumed = a->consumed;
	}
	if (a->next_seq > c->peer_next)
		c->peer_next = a->next_seq;
	drop_unacked(s, c, c->peer_next);
	pthread_cond_broadcast(&s->cv);
}

/* Process one complete frame.  Returns 0, or FY_ERR_* to drop the stream. */
static int
process(struct stream *st)
{
	struct tp_session *s = st->s;
	struct tp_ack acks[ACK_BATCH];
	struct chunk *k;
	size_t n, i;
	int r;

	switch (st->rh.type) {
	case TP_DATA:
		if ((k = calloc(1, sizeof(*k))) == NULL)
			return FY_ERR_NOMEM;
		k->h = st->rh;
		if (!(st->rh.flags & (TP_F_ZERO | TP_F_LZ4 | TP_F_ZSTD)) && st->rh.len > 0) {
			/* Raw (len == raw_len, tp_hdr_decode): the read buffer becomes the chunk. */
			k->data = st->rbuf;
			st->rbuf = NULL;
			r = tp_checksum(k->data, k->h.raw_len) == k->h.sum ? 0 : FY_ERR_CHECKSUM;
		} else if ((k->data = malloc(st->rh.raw_len ? st->rh.raw_len : 1)) == NULL) {
			free(k);
			return FY_ERR_NOMEM;
		} else
			r = tp_data_decode(&st->rh, st->rbuf, k->data);
		if (r != 0) {
			chunk_free(k);
			pthread_mutex_lock(&s->mtx);
			s->stats.chunks_corrupt++;
			snprintf(s->stats.last_error, sizeof(s->stats.last_error),
			    "chunk %llu of channel %u failed its %s check: dropped, stream closed",
			    (unsigned long long)st->rh.seq, st->rh.channel,
			    r == FY_ERR_CHECKSUM ? "checksum" : "decompression");
			log_warnx("%s", s->stats.last_error);
			pthread_mutex_unlock(&s->mtx);
			return r;
		}
		pthread_mutex_lock(&s->mtx);
		if ((r = recv_chunk(s, k)) != 0) {
			snprintf(s->stats.last_error, sizeof(s->stats.last_error),
			    "the peer overran the receive window or the channel limit: stream dropped");
			log_warnx("%s", s->stats.last_error);
		}
		pthread_mutex_unlock(&s->mtx);
		return r;
	case TP_ACK:
		if ((r = tp_ack_decode(st->rbuf, st->rh.len, acks, ACK_BATCH, &n)) != 0)
			return r;
		pthread_mutex_lock(&s->mtx);
		for (i = 0; i < n; i++)
			recv_ack(s, &acks[i]);
		pthread_mutex_unlock(&s->mtx);
		return 0;
	case TP_PING:
		pthread_mutex_lock(&s->mtx);
		s->pong_pending[st->idx] = 1;
		s->pong_val[st->idx] = st->rh.seq;
		pthread_mutex_unlock(&s->mtx);
		return 0;
	case TP_PONG:
		return 0;
	case TP_BYE:
		pthread_mutex_lock(&s->mtx);
		s->bye = 1;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mtx);
		return 0;
	case TP_RESET: {
		struct tp_channel *c;
		pthread_mutex_lock(&s->mtx);
		if ((c = chan_find(s, st->rh.channel)) != NULL) {
			c->reset = 1;
			/* Nothing of ours on it needs delivering any more. */
			drop_unacked(s, c, UINT64_MAX);
			pthread_cond_broadcast(&s->cv);
			/* A channel the peer opened and nobody here owns yet: gone. */
			if (!c->local && !c->announced) {
				c->reset = 0;	/* no RESET back */
				c->fin_sent = 1;
				c->eof = 1;
				pthread_mutex_unlock(&s->mtx);
				tp_channel_free(c);
				return 0;
			}
		}
		pthread_mutex_unlock(&s->mtx);
		return 0;
	}
	default:
		return FY_ERR_PROTO;
	}
}

/* Read what is there; process complete frames.  0, or FY_ERR_* when the stream is done. */
static int
stream_read(struct stream *st)
{
	int n, r, e;

	for (;;) {
		if (st->roff < TP_HDR_LEN) {
			n = SSL_read(st->ssl, st->rhdr + st->roff, (int)(TP_HDR_LEN - st->roff));
		} else {
			size_t want = TP_HDR_LEN + st->rh.len - st->roff;
			if (want == 0)
				n = 0;
			else
				n = SSL_read(st->ssl, st->rbuf + (st->roff - TP_HDR_LEN),
				    want > INT32_MAX ? INT32_MAX : (int)want);
		}
		if (n <= 0 && !(st->roff >= TP_HDR_LEN && st->rh.len == st->roff - TP_HDR_LEN)) {
			e = SSL_get_error(st->ssl, n);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return 0;
			return e == SSL_ERROR_ZERO_RETURN ? FY_ERR_CONNECT : FY_ERR_TLS;
		}
		if (n > 0)
			st->roff += (size_t)n;
		st->last_rx_ms = fy_mono_ms();
		if (st->roff == TP_HDR_LEN) {
			if ((r = tp_hdr_decode(st->rhdr, &st->rh)) != 0)
				return r;
			free(st->rbuf);
			if ((st->rbuf = malloc(st->rh.len ? st->rh.len : 1)) == NULL)
				return FY_ERR_NOMEM;
		}
		if (st->roff >= TP_HDR_LEN && st->roff == TP_HDR_LEN + st->rh.len) {
			r = process(st);
			st->roff = 0;
			if (r != 0)
				return r;
		}
	}
}

/* ------------------------------------------------------------ sending */

static int
ctl_frame(struct stream *st, uint8_t type, uint32_t channel, uint64_t seq, uint8_t *payload, size_t len)
{
	struct tp_hdr h;

	memset(&h, 0, sizeof(h));
	h.type = type;
	h.channel = channel;
	h.seq = seq;
	h.len = h.raw_len = (uint32_t)len;
	tp_hdr_encode(&h, st->whdr);
	st->wctl = payload;
	st->wchunk = NULL;
	st->wlen = TP_HDR_LEN + len;
	st->woff = 0;
	return 1;
}


static int64_t
bucket_wait_us(double *tokens, int64_t *at_us, uint64_t rate, size_t need)
{
	int64_t now = fy_mono_us();

	if (rate == 0)
		return 0;
	if (*at_us == 0)
		*at_us = now;
	*tokens += (double)(now - *at_us) * (double)rate / 1e6;
	*at_us = now;
	/* Burst of one chunk or 50 ms, whichever is larger. */
	if (*tokens > (double)rate / 20 + (double)need)
		*tokens = (double)rate / 20 + (double)need;
	if (*tokens >= (double)need)
		return 0;
	return (int64_t)(((double)need - *tokens) * 1e6 / (double)rate) + 1;
}

/*
 * A stream of the initiator above the target count takes no new data (it
 * stays connected, idle, ready when the count goes up again), unless no
 * stream below the target is up.  Lock held.
 */
static int
parked(const struct stream *st)
{
	const struct tp_session *s = st->s;
	int i;

	if (!s->initiator || st->idx < s->target)
		return 0;
	for (i = 0; i < s->target && i < TP_MAX_STREAMS; i++)
		if (s->st[i].state == ST_UP)
			return 1;
	return 0;
}

/*
 * Pick the next frame for this stream: pong, ack, ping, then data.  Lock
 * held.  Returns 1 with st->w* set, 0 when idle; *wait_ms is lowered to
 * when something becomes due.
 */
static int
next_frame(struct stream *st, int *wait_ms)
{
	struct tp_session *s = st->s;
	struct tp_channel *c;
	struct chunk *k;
	int64_t now = fy_mono_ms(), w;
	uint8_t *p;
	size_t n = 0;

	if (s->pong_pending[st->idx]) {
		s->pong_pending[st->idx] = 0;
		return ctl_frame(st, TP_PONG, 0, s->pong_val[st->idx], NULL, 0);
	}
	if (s->nresets > 0)
		return ctl_frame(st, TP_RESET, s->resets[--s->nresets], 0, NULL, 0);
	if (s->ack_pending && now >= s->ack_due_ms) {
		if ((p = malloc(ACK_BATCH * TP_ACK_ENT)) != NULL) {
			while (s->nfinal > 0 && n < ACK_BATCH) {
				struct tp_ack *a = &s->final_acks[--s->nfinal];
				tp_put32(p + n * TP_ACK_ENT, a->channel);
				tp_put64(p + n * TP_ACK_ENT + 4, a->next_seq);
				tp_put64(p + n * TP_ACK_ENT + 12, a->consumed);
				n++;
			}
			TAILQ_FOREACH(c, &s->chans, e) {
				if (!c->ack_dirty || n >= ACK_BATCH)
					continue;
				tp_put32(p + n * TP_ACK_ENT, c->id);
				tp_put64(p + n * TP_ACK_ENT + 4, c->recv_next);
				tp_put64(p + n * TP_ACK_ENT + 12, c->consumed);
				c->ack_dirty = 0;
				n++;
			}
			s->ack_pending = s->nfinal > 0;
			TAILQ_FOREACH(c, &s->chans, e)
				if (c->ack_dirty)
					s->ack_pending = 1;
			if (n > 0)
				return ctl_frame(st, TP_ACK, 0, 0, p, n * TP_ACK_ENT);
			free(p);
		}
	} else if (s->ack_pending && s->ack_due_ms - now < *wait_ms)
		*wait_ms = (int)(s->ack_due_ms - now);
	if (now - st->last_ping_ms >= PING_MS) {
		st->last_ping_ms = now;
		return ctl_frame(st, TP_PING, 0, (uint64_t)now, NULL, 0);
	}
	if (PING_MS - (now - st->last_ping_ms) < *wait_ms)
		*wait_ms = (int)(PING_MS - (now - st->last_ping_ms));
	if (s->bye)
		return 0;
	if (parked(st)) {
		if (s->closing && !st->bye_sent && TAILQ_EMPTY(&s->sendq)) {
			st->bye_sent = 1;
			return ctl_frame(st, TP_BYE, 0, 0, NULL, 0);
		}
		return 0;
	}
	if ((k = TAILQ_FIRST(&s->sendq)) == NULL) {
		if (s->closing && !st->bye_sent) {
			st->bye_sent = 1;
			return ctl_frame(st, TP_BYE, 0, 0, NULL, 0);
		}
		return 0;
	}
	if ((w = bucket_wait_us(&s->tokens, &s->tokens_at_us, s->cfg.rate_limit, k->h.len)) > 0) {
		if (w / 1000 + 1 < *wait_ms)
			*wait_ms = (int)(w / 1000 + 1);
		return 0;
	}
	s->tokens -= (double)k->h.len;
	TAILQ_REMOVE(&s->sendq, k, qe);
	k->queued = 0;
	k->busy = 1;
	if (k->sends++ > 0)
		s->stats.chunks_resent++;
	k->sent_on = st->idx;
	s->stats.wire_bytes_sent += TP_HDR_LEN + k->h.len;
	tp_hdr_encode(&k->h, st->whdr);
	st->wchunk = k;
	st->wctl = NULL;
	st->wlen = TP_HDR_LEN + k->h.len;
	st->woff = 0;
	return 1;
}

/* Finish the frame in flight.  Lock held. */
static void
frame_done(struct stream *st)
{
	if (st->wchunk != NULL) {
		st->wchunk->busy = 0;
		chunk_maybe_free(st->wchunk);
	}
	free(st->wctl);
	st->wchunk = NULL;
	st->wctl = NULL;
	st->wlen = st->woff = 0;
}

/* Write what the socket takes.  0 (maybe partial), or FY_ERR_* when done. */
static int
stream_write(struct stream *st)
{
	const uint8_t *p;
	size_t left;
	int n, e;

	while (st->woff < st->wlen) {
		if (st->woff < TP_HDR_LEN) {
			p = st->whdr + st->woff;
			left = TP_HDR_LEN - st->woff;
		} else {
			p = (st->wchunk ? st->wchunk->data : st->wctl) + (st->woff - TP_HDR_LEN);
			left = st->wlen - st->woff;
		}
		n = SSL_write(st->ssl, p, left > (1 << 20) ? 1 << 20 : (int)left);
		if (n <= 0) {
			e = SSL_get_error(st->ssl, n);
			if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
				return 0;
			return FY_ERR_TLS;
		}
		st->woff += (size_t)n;
	}
	return 0;
}

/* ------------------------------------------------------------ streams */

static void
stream_down(struct stream *st, int err)
{
	struct tp_session *s = st->s;
	struct tp_channel *c;
	struct chunk *k;
	SSL *dead_ssl;
	int dead_fd;
	char why[120];

	snprintf(why, sizeof(why), "%s", fy_strerror(err));
	pthread_mutex_lock(&s->mtx);
	if (st->wchunk != NULL)
		st->wchunk->busy = 0;
	/*
	 * Everything this stream carried and the peer did not acknowledge goes
	 * back to the front of the queue, in sequence order, for the others.
	 */
	TAILQ_FOREACH(c, &s->chans, e) {
		struct chunk *rev = NULL;
		TAILQ_FOREACH_REVERSE(k, &c->unacked, chunkq, ue) {
			if (k->sent_on == st->idx && !k->queued && !k->acked) {
				k->sent_on = -1;
				k->queued = 1;
				TAILQ_INSERT_HEAD(&s->sendq, k, qe);
				rev = k;
			}
		}
		(void)rev;
		/* Our acknowledgements on that stream may be lost: send the state again. */
		if (c->recv_next > 0 || c->consumed > 0)
			mark_ack(s, c);
	}
	if (st->wchunk != NULL)
		chunk_maybe_free(st->wchunk);
	st->wchunk = NULL;
	free(st->wctl);
	st->wctl = NULL;
	st->wlen = st->woff = 0;
	st->roff = 0;
	free(st->rbuf);
	st->rbuf = NULL;
	/* Taken under the lock: a new stream may reuse this slot at once. */
	dead_ssl = st->ssl;
	dead_fd = st->fd;
	st->ssl = NULL;
	st->fd = -1;
	st->state = ST_DOWN;
	st->down_ms = fy_mono_ms();
	s->nup--;
	if (s->nup == 0)
		s->down_since_ms = fy_mono_ms();
	pace_all(s);
	if (!s->closing && !s->bye) {
		s->stats.stream_failures++;
		snprintf(s->stats.last_error, sizeof(s->stats.last_error), "stream %d to %.60s lost: %.60s",
		    st->idx, s->peer, why);
		log_warnx("%s", s->stats.last_error);
	}
	wake_all(s);
	pthread_mutex_unlock(&s->mtx);
	SSL_free(dead_ssl);
	if (dead_fd >= 0)
		close(dead_fd);
}

/* The stream's I/O loop: runs until the stream fails or the session closes. */
static void
stream_run(struct stream *st)
{
	struct tp_session *s = st->s;
	struct pollfd pfd[2];
	int r = 0, wait_ms, have;
	char drain[64];

	st->last_rx_ms = fy_mono_ms();
	st->last_ping_ms = 0;
	for (;;) {
		wait_ms = 200;
		pthread_mutex_lock(&s->mtx);
		if (((s->closing && st->bye_sent) || s->bye) && TAILQ_EMPTY(&s->sendq) && st->wlen == 0) {
			pthread_mutex_unlock(&s->mtx);
			break;
		}
		if (s->failed) {
			pthread_mutex_unlock(&s->mtx);
			break;
		}
		have = st->wlen > st->woff;
		if (!have) {
			if (st->wlen > 0)
				frame_done(st);
			have = next_frame(st, &wait_ms);
		}
		pthread_mutex_unlock(&s->mtx);
		if (have && (r = stream_write(st)) != 0)
			break;
		if (have && st->woff == st->wlen) {
			pthread_mutex_lock(&s->mtx);
			frame_done(st);
			pthread_mutex_unlock(&s->mtx);
			continue;
		}
		if (SSL_pending(st->ssl) > 0) {
			if ((r = stream_read(st)) != 0)
				break;
			continue;
		}
		pfd[0].fd = st->fd;
		pfd[0].events = POLLIN | (have ? POLLOUT : 0);
		pfd[1].fd = st->wake[0];
		pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, have ? 1000 : wait_ms) < 0 && errno != EINTR) {
			r = FY_ERR_SYSTEM;
			break;
		}
		if (pfd[1].revents & POLLIN)
			while (read(st->wake[0], drain, sizeof(drain)) > 0)
				;
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if ((r = stream_read(st)) != 0)
				break;
		}
		if (fy_mono_ms() - st->last_rx_ms > s->cfg.stream_timeout_ms) {
			r = FY_ERR_TIMEOUT;
			break;
		}
	}
	stream_down(st, r ? r : FY_ERR_CONNECT);
}

static int dial_stream(struct tp_session *, int, char *, size_t);

/*
 * Initiator: one thread per stream dials it and then runs it, so that
 * streams are dialled in parallel (each dial is a token request and a TLS
 * handshake, about 6 round trips) and a slow one holds up no other.
 */
static void *
stream_thread(void *arg)
{
	struct stream *st = arg;
	struct tp_session *s = st->s;
	char err[160];
	int r, backoff;

	if ((r = dial_stream(s, st->idx, err, sizeof(err))) != 0) {
		pthread_mutex_lock(&s->mtx);
		st->state = ST_DOWN;
		st->dial_failures++;
		backoff = 100 << (st->dial_failures > 5 ? 5 : st->dial_failures);
		st->next_dial_ms = fy_mono_ms() + backoff;
		/* A failed session keeps the error that failed it (session_dead). */
		if (!s->failed)
			snprintf(s->stats.last_error, sizeof(s->stats.last_error), "%s", err);
		snprintf(s->last_dial_error, sizeof(s->last_dial_error), "%s", err);
		if (s->open_error[0] == '\0' || st->idx == 0) {
			snprintf(s->open_error, sizeof(s->open_error), "%s", err);
			s->open_rc = r;
		}
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mtx);
		return NULL;
	}
	stream_run(st);
	pthread_mutex_lock(&s->mtx);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mtx);
	return NULL;
}

/* Start dialling stream st in its own thread.  Lock held. */
static void
stream_spawn(struct tp_session *s, struct stream *st)
{
	st->state = ST_DIALING;
	if (pthread_create(&st->th, NULL, stream_thread, st) != 0) {
		st->state = ST_DOWN;
		st->next_dial_ms = fy_mono_ms() + 1000;
		snprintf(s->last_dial_error, sizeof(s->last_dial_error), "cannot start a thread");
		return;
	}
	st->has_thread = 1;
}

/* Bring an established (fd, ssl) up as stream idx.  Lock held. */
static int
stream_attach(struct tp_session *s, int idx, int fd, SSL *ssl)
{
	struct stream *st = &s->st[idx];

	st->fd = fd;
	st->ssl = ssl;
	st->state = ST_UP;
	st->info_acked = st->info_retr = 0;
	st->bye_sent = 0;
	st->dial_failures = 0;
	st->roff = 0;
	s->nup++;
	s->down_since_ms = 0;
	tune_socket(s, st);
	pace_all(s);
	/* Acknowledgement state is re-sent on a fresh stream too. */
	wake_all(s);
	return 0;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = (uint8_t)v;
}

static int
blocking_frame_write(SSL *ssl, uint8_t type, uint64_t seq, const uint8_t *payload, size_t len)
{
	struct tp_hdr h;
	uint8_t hdr[TP_HDR_LEN];

	memset(&h, 0, sizeof(h));
	h.type = type;
	h.seq = seq;
	h.len = h.raw_len = (uint32_t)len;
	tp_hdr_encode(&h, hdr);
	if (SSL_write(ssl, hdr, TP_HDR_LEN) != TP_HDR_LEN)
		return FY_ERR_IO;
	if (len > 0 && SSL_write(ssl, payload, (int)len) != (int)len)
		return FY_ERR_IO;
	return 0;
}

static int
read_full(SSL *ssl, uint8_t *p, size_t n)
{
	int r;

	while (n > 0) {
		if ((r = SSL_read(ssl, p, (int)n)) <= 0)
			return FY_ERR_IO;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Read one small frame in blocking mode (handshake). */
static int
blocking_frame_read(SSL *ssl, struct tp_hdr *h, uint8_t *buf, size_t cap)
{
	uint8_t hdr[TP_HDR_LEN];
	int r;

	if ((r = read_full(ssl, hdr, TP_HDR_LEN)) != 0 || (r = tp_hdr_decode(hdr, h)) != 0)
		return r;
	if (h->len > cap)
		return FY_ERR_LIMIT;
	return read_full(ssl, buf, h->len);
}

/* Initiator: dial stream idx and bring it up.  Called without the lock. */
static int
dial_stream(struct tp_session *s, int idx, char *err, size_t errcap)
{
	struct stream *st = &s->st[idx];
	char cred[TP_CRED_MAX + 1];
	uint8_t hello[20 + TP_CRED_MAX], buf[256];
	struct tp_hdr h;
	struct timeval tv;
	char why[160];
	SSL *ssl = NULL;
	size_t cl;
	int fd = -1, r;

	cred[0] = '\0';
	why[0] = '\0';
	if ((r = s->dial(s->dial_arg, idx, &fd, &ssl, cred, sizeof(cred), why, sizeof(why))) != 0) {
		snprintf(err, errcap, "cannot open stream %d: %s", idx, why[0] ? why : fy_strerror(r));
		return r;
	}
	/* HELLO and WELCOME within the stream timeout, or the stream is not up. */
	tv.tv_sec = s->cfg.stream_timeout_ms / 1000;
	tv.tv_usec = (s->cfg.stream_timeout_ms % 1000) * 1000;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	cl = strlen(cred);
	memcpy(hello, s->sid, 16);
	put16(hello + 16, (uint16_t)idx);
	put16(hello + 18, (uint16_t)cl);
	memcpy(hello + 20, cred, cl);
	fy_wipe(cred, sizeof(cred));
	/* HELLO's seq carries our receive window, WELCOME's the peer's. */
	if ((r = blocking_frame_write(ssl, TP_HELLO, s->cfg.window, hello, 20 + cl)) != 0 ||
	    (r = blocking_frame_read(ssl, &h, buf, sizeof(buf))) != 0) {
		snprintf(err, errcap, "stream %d: no answer to HELLO", idx);
		goto fail;
	}
	if (h.type == TP_RESET) {
		snprintf(err, errcap, "stream %d refused by the peer: %.*s", idx, (int)h.len, (char *)buf);
		r = FY_ERR_PEER;
		goto fail;
	}
	if (h.type != TP_WELCOME) {
		snprintf(err, errcap, "stream %d: unexpected answer to HELLO", idx);
		r = FY_ERR_PROTO;
		goto fail;
	}
	pthread_mutex_lock(&s->mtx);
	if (h.seq >= TP_CHUNK_MIN && h.seq < s->peer_window)
		s->peer_window = h.seq;
	stream_attach(s, idx, fd, ssl);
	s->stats.redials += st->dial_failures > 0 || st->down_ms > 0;
	if (s->nup > s->stats.streams_max_seen)
		s->stats.streams_max_seen = s->nup;
	pthread_mutex_unlock(&s->mtx);
	return 0;
fail:
	SSL_free(ssl);
	close(fd);
	return r;
}

static void
read_tcp_info(struct tp_session *s)
{
	struct tcp_info ti;
	socklen_t tl;
	uint64_t retr = 0, acked = 0;
	double rtt = 0;
	int i, n = 0;

	for (i = 0; i < TP_MAX_STREAMS; i++) {
		struct stream *st = &s->st[i];
		if (st->state != ST_UP || st->fd < 0)
			continue;
		tl = sizeof(ti);
		if (getsockopt(st->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) != 0)
			continue;
		/* Per stream, what it added since the last read: a stream re-opened starts from 0. */
		if (ti.tcpi_total_retrans > st->info_retr)
			retr += ti.tcpi_total_retrans - st->info_retr;
		st->info_retr = ti.tcpi_total_retrans;
		rtt += ti.tcpi_rtt / 1000.0;
		n++;
		if (tl >= offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof(ti.tcpi_bytes_acked)) {
			if (ti.tcpi_bytes_acked > st->info_acked)
				acked += ti.tcpi_bytes_acked - st->info_acked;
			st->info_acked = ti.tcpi_bytes_acked;
		}
		if (tl >= offsetof(struct tcp_info, tcpi_min_rtt) + sizeof(ti.tcpi_min_rtt) && ti.tcpi_min_rtt > 0 &&
		    ti.tcpi_min_rtt != ~0U && (s->stats.min_rtt_ms <= 0 || ti.tcpi_min_rtt / 1000.0 < s->stats.min_rtt_ms))
			s->stats.min_rtt_ms = ti.tcpi_min_rtt / 1000.0;
		s->stats.sndbuf = st->sndbuf;
		s->stats.rcvbuf = st->rcvbuf;
	}
	/* Totals over the session's life, a lost stream's included (up to its last read). */
	s->stats.retransmits += retr;
	s->stats.tcp_acked += acked;
	if (n > 0)
		s->stats.rtt_ms = rtt / n;
}

/*
 * Streams to start with, from the round trip (what the first streams
 * measured, or the caller's hint before they are up): enough
 * that their buffers, at the most one socket can get here, hold 2.5 x the
 * bandwidth-delay product between them (in flight, plus what loss recovery
 * holds back, plus unsent data), and that none carries more than
 * BDP_PER_STREAM of it (a stream in loss recovery then holds back less;
 * with 1% loss at 100 ms, 4 streams delivered 860 Mbit/s where 2 did 800).
 * Warn (once per open) when the kernel's buffer limits cap it.  Lock held.
 */
static int
streams_for_rtt(struct tp_session *s, double rtt_s, int warn)
{
	double need;
	int n;

	need = (double)plan_rate(s) * rtt_s * 2.5 / (double)sndbuf_max();
	if (need < (double)plan_rate(s) * rtt_s / BDP_PER_STREAM)
		need = (double)plan_rate(s) * rtt_s / BDP_PER_STREAM;
	n = need > TP_MAX_STREAMS ? TP_MAX_STREAMS : (int)need + (need > (int)need);
	if (n < s->cfg.min_streams)
		n = s->cfg.min_streams;
	if (n > s->cfg.max_streams)
		n = s->cfg.max_streams;
	if (warn && (double)sndbuf_max() * n < (double)plan_rate(s) * rtt_s * 2.0) {
		log_warnx("socket buffers limited by the kernel: tcp_wmem max and net.core.wmem_max allow "
		    "%d bytes per stream, and %d streams cannot hold twice the bandwidth-delay product "
		    "(%.0f bytes): raise them, or allow more streams", sndbuf_max(), n,
		    (double)plan_rate(s) * rtt_s * 2.0);
		s->stats.buffers_capped = 1;
	}
	return n;
}

/* From the round trip an up stream's TCP measured; min_streams when none is up.  Lock held. */
static int
initial_streams(struct tp_session *s)
{
	struct tcp_info ti;
	socklen_t tl;
	double rtt_s = 0;
	int i;

	for (i = 0; i < TP_MAX_STREAMS && rtt_s == 0; i++) {
		tl = sizeof(ti);
		if (s->st[i].state == ST_UP && s->st[i].fd >= 0 &&
		    getsockopt(s->st[i].fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 && ti.tcpi_rtt > 0)
			rtt_s = ti.tcpi_rtt / 1e6;
	}
	return rtt_s > 0 ? streams_for_rtt(s, rtt_s, 1) : s->cfg.min_streams;
}

/*
 * While the first streams dial: as soon as the caller's hint gives the
 * round trip, dial the rest of the initial streams too, so they come up
 * with the first instead of a whole dial (several round trips) later.
 * 1 when the count was set from the hint.  Lock held; released around
 * the hint.
 */
static int
open_hint(struct tp_session *s)
{
	int64_t us = 0;
	int i, n, dialing;

	for (;;) {
		for (dialing = 0, i = 0; i < s->target; i++)
			dialing += s->st[i].state == ST_DIALING;
		if (dialing == 0 || s->nup > 0)
			return 0;
		pthread_mutex_unlock(&s->mtx);
		us = s->cfg.rtt_hint(s->dial_arg);
		pthread_mutex_lock(&s->mtx);
		if (us > 0)
			break;
		timed_wait(s, 5);
	}
	n = streams_for_rtt(s, (double)us / 1e6, 1);	/* the only count of this open: initial_streams() is skipped */
	log_debug("transport to %s: round trip %.1f ms known while dialling: %d streams", s->peer, (double)us / 1000,
	    n);
	if (n > s->target) {
		for (i = s->target; i < n; i++)
			stream_spawn(s, &s->st[i]);
		s->target = n;
	}
	return 1;
}

/*
 * Adapt the stream count (initiator), once a second while data is waiting
 * to be sent, after the ramp-up: try one more stream; keep it when goodput
 * rose by 5% (and try another), park it again when it did not (a parked
 * stream stays connected, idle) and hold the count for a while.  Take one
 * back when goodput fell or the link started dropping much more.  The
 * goodput also feeds rate_est, the best recent rate, which sizes each
 * stream's share (stream_pace).  Lock held.
 */
static void
adapt(struct tp_session *s)
{
	int64_t now = fy_mono_ms();
	uint64_t rate, retr, best, delivered;
	int64_t prev_at;
	int more_loss, lossy, i;

	if (now - s->adapt_at_ms < ADAPT_MS)
		return;
	prev_at = s->adapt_at_ms;
	retr = s->stats.retransmits - s->adapt_retr;
	/* Retransmits more than doubled since the last period (and not just noise). */
	more_loss = retr > 2 * s->adapt_prev_retr + 100;
	s->adapt_at_ms = now;
	s->adapt_retr = s->stats.retransmits;
	s->adapt_prev_retr = retr;
	/*
	 * Rates are measured at the TCP level (bytes acknowledged by TCP, all
	 * streams, as read_tcp_info() just totalled them): goodput at the
	 * channel comes in bursts when a late chunk releases the ones behind
	 * it, too noisy for a 5% decision.
	 */
	delivered = s->stats.tcp_acked - s->adapt_acked;
	s->adapt_acked = s->stats.tcp_acked;
	rate = delivered * 1000 / (uint64_t)(now - prev_at);
	/* Segments resent (TCP_INFO) against bytes delivered, MSS 1448: the share lost. */
	lossy = (double)retr * 1448 > LOSSY * (double)(delivered ? delivered : 1);
	if (lossy != s->lossy) {
		s->lossy = lossy;
		pace_all(s);
	}
	s->rate_at = (s->rate_at + 1) % (int)(sizeof(s->rate_hist) / sizeof(s->rate_hist[0]));
	s->rate_hist[s->rate_at] = rate;
	for (best = 0, i = 0; i < (int)(sizeof(s->rate_hist) / sizeof(s->rate_hist[0])); i++)
		if (s->rate_hist[i] > best)
			best = s->rate_hist[i];
	if (best != s->rate_est) {
		s->rate_est = best;
		pace_all(s);
	}
	/* Still ramping up (goodput grew by more than 10%): no decision yet. */
	if (s->ramping) {
		if (rate > s->adapt_prev_rate * 110 / 100 || now < s->adapt_frozen_until)
			s->adapt_frozen_until = now + ADAPT_MS;
		else
			s->ramping = 0;
	}
	if (s->cfg.min_streams >= s->cfg.max_streams || now < s->adapt_frozen_until ||
	    TAILQ_EMPTY(&s->sendq)) {
		/* A stream added for a period that says nothing is parked again. */
		if (s->adapt_last_added) {
			s->target--;
			s->adapt_frozen_until = now + HOLD_MS;
			s->stats.streams_target = s->target;
			pace_all(s);
		}
		s->adapt_prev_rate = rate;
		s->adapt_last_added = 0;
		return;
	}
	if (s->adapt_last_added) {
		s->adapt_last_added = 0;
		if (rate >= s->adapt_prev_rate * 105 / 100 && !more_loss) {
			if (s->target < s->cfg.max_streams) {
				s->target++;
				s->adapt_last_added = 1;
			}
		} else {
			s->target--;
			s->adapt_frozen_until = now + HOLD_MS;
		}
	} else if (s->target > s->base_streams && (more_loss || rate < s->adapt_prev_rate * 90 / 100)) {
		s->target--;
		s->adapt_frozen_until = now + HOLD_MS;
	} else if (s->target < s->cfg.max_streams) {
		s->target++;
		s->adapt_last_added = 1;
	}
	s->adapt_prev_rate = rate;
	s->stats.streams_target = s->target;
	pace_all(s);
}

static void *
manager_thread(void *arg)
{
	struct tp_session *s = arg;
	int i;
	int64_t last_info = 0;

	pthread_mutex_lock(&s->mtx);
	while (!s->closing && !s->failed) {
		for (i = 0; i < TP_MAX_STREAMS; i++) {
			struct stream *st = &s->st[i];
			if (st->state == ST_DOWN && st->has_thread) {
				pthread_mutex_unlock(&s->mtx);
				pthread_join(st->th, NULL);
				pthread_mutex_lock(&s->mtx);
				st->has_thread = 0;
			}
			/* Streams above the target are parked, and not redialled when they go down. */
			if (st->state != ST_DOWN || st->has_thread || i >= s->target || s->closing ||
			    fy_mono_ms() < st->next_dial_ms)
				continue;
			stream_spawn(s, st);
		}
		if (fy_mono_ms() - last_info >= 1000) {
			last_info = fy_mono_ms();
			read_tcp_info(s);
			adapt(s);
		}
		(void)session_dead(s);
		timed_wait(s, MANAGER_MS);
	}
	pthread_mutex_unlock(&s->mtx);
	return NULL;
}

static struct tp_session *
session_new(const struct tp_config *cfg)
{
	struct tp_session *s;
	int i;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	pthread_mutex_init(&s->mtx, NULL);
	{
		/* Wall-clock steps must not stretch any wait. */
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	s->cfg = *cfg;
	s->peer_window = cfg->window;
	if (s->cfg.chunk_size < TP_CHUNK_MIN)
		s->cfg.chunk_size = TP_CHUNK_MIN;
	if (s->cfg.chunk_size > TP_CHUNK_MAX)
		s->cfg.chunk_size = TP_CHUNK_MAX;
	if (s->cfg.window < 2 * s->cfg.chunk_size)
		s->cfg.window = 2 * s->cfg.chunk_size;
	if (s->cfg.min_streams < 1)
		s->cfg.min_streams = 1;
	if (s->cfg.max_streams > TP_MAX_STREAMS)
		s->cfg.max_streams = TP_MAX_STREAMS;
	if (s->cfg.max_streams < s->cfg.min_streams)
		s->cfg.max_streams = s->cfg.min_streams;
	TAILQ_INIT(&s->sendq);
	TAILQ_INIT(&s->chans);
	for (i = 0; i < TP_MAX_STREAMS; i++) {
		s->st[i].s = s;
		s->st[i].idx = i;
		s->st[i].fd = -1;
		s->st[i].wake[0] = s->st[i].wake[1] = -1;
		if (pipe2(s->st[i].wake, O_NONBLOCK | O_CLOEXEC) != 0) {
			while (--i >= 0) {
				close(s->st[i].wake[0]);
				close(s->st[i].wake[1]);
			}
			free(s);
			return NULL;
		}
	}
	s->down_since_ms = fy_mono_ms();
	s->adapt_at_ms = fy_mono_ms();
	return s;
}

static void
session_free(struct tp_session *s)
{
	struct tp_channel *c;
	struct chunk *k;
	int i;

	while ((c = TAILQ_FIRST(&s->chans)) != NULL) {
		TAILQ_REMOVE(&s->chans, c, e);
		while ((k = TAILQ_FIRST(&c->unacked)) != NULL) {
			TAILQ_REMOVE(&c->unacked, k, ue);
			chunk_free(k);
		}
		while ((k = TAILQ_FIRST(&c->rq)) != NULL) {
			TAILQ_REMOVE(&c->rq, k, ue);
			chunk_free(k);
		}
		free(c);
	}
	for (i = 0; i < TP_MAX_STREAMS; i++) {
		close(s->st[i].wake[0]);
		close(s->st[i].wake[1]);
		free(s->st[i].rbuf);
	}
	pthread_mutex_destroy(&s->mtx);
	pthread_cond_destroy(&s->cv);
	free(s);
}

/*
 * Wait until no stream below the target is still dialling, or until
 * OPEN_WAIT_MS after the first came up (the rest join when they can).
 * Lock held.
 */
static void
open_wait(struct tp_session *s)
{
	int64_t first_up = 0;
	int i, dialing;

	for (;;) {
		for (dialing = 0, i = 0; i < s->target; i++)
			dialing += s->st[i].state == ST_DIALING;
		if (dialing == 0)
			return;
		if (s->nup > 0) {
			if (first_up == 0)
				first_up = fy_mono_ms();
			else if (fy_mono_ms() - first_up >= OPEN_WAIT_MS)
				return;
		}
		timed_wait(s, 50);
	}
}

int
tp_session_open(const struct tp_config *cfg, tp_dial_fn dial, void *arg, struct tp_session **out,
    char *err, size_t errcap)
{
	struct tp_session *s;
	int r, i, n, hinted;

	*out = NULL;
	if ((s = session_new(cfg)) == NULL) {
		snprintf(err, errcap, "out of memory");
		return FY_ERR_NOMEM;
	}
	s->initiator = 1;
	s->next_chan = 1;	/* initiator: odd ids */
	s->dial = dial;
	s->dial_arg = arg;
	s->target = s->cfg.min_streams;
	s->refs = 1;
	snprintf(s->peer, sizeof(s->peer), "%s", cfg->peer ? cfg->peer : "the peer");
	if ((r = fy_random(s->sid, sizeof(s->sid))) != 0) {
		session_free(s);
		return r;
	}
	/*
	 * All streams are dialled at once, and the session is ready when they
	 * are up: the first min_streams, and what the RTT and the buffer
	 * limits call for: as soon as the caller's hint gives the RTT
	 * (open_hint), else once the first are up and have measured it
	 * (initial_streams, a second wave).  Streams added one by one
	 * while the others run at full rate each overran the bottleneck in
	 * their start-up.
	 */
	pthread_mutex_lock(&s->mtx);
	for (i = 0; i < s->target; i++)
		stream_spawn(s, &s->st[i]);
	hinted = s->cfg.rtt_hint != NULL && s->target < s->cfg.max_streams && open_hint(s);
	open_wait(s);
	/*
	 * Without a hint, from the round trip the first streams measured.  A
	 * hinted count stands: a second wave for a round trip a little over
	 * the hint's would cost a whole dial; adapt() adds streams later when
	 * they raise goodput.
	 */
	if (!hinted && s->nup > 0 && (n = initial_streams(s)) > s->target) {
		for (i = s->target; i < n; i++)
			stream_spawn(s, &s->st[i]);
		s->target = n;
		open_wait(s);
	}
	s->base_streams = s->target;
	s->stats.streams_target = s->target;
	s->adapt_at_ms = fy_mono_ms();
	s->adapt_frozen_until = fy_mono_ms() + RAMP_MS;
	s->ramping = 1;
	/*
	 * Failed only when no stream came up at all; one that came up and went
	 * down since is the manager's to redial, as in any session.
	 */
	if (s->stats.streams_max_seen == 0) {
		snprintf(err, errcap, "%s", s->open_error[0] ? s->open_error : "cannot open a stream");
		r = s->open_rc ? s->open_rc : FY_ERR_CONNECT;
		/* A dial still under way stops as soon as it is up. */
		s->closing = s->failed = 1;
		pthread_mutex_unlock(&s->mtx);
		for (i = 0; i < TP_MAX_STREAMS; i++)
			if (s->st[i].has_thread)
				pthread_join(s->st[i].th, NULL);
		session_free(s);
		return r;
	}
	pthread_mutex_unlock(&s->mtx);
	if (pthread_create(&s->manager, NULL, manager_thread, s) != 0) {
		snprintf(err, errcap, "cannot start the stream manager");
		s->closing = 1;
		tp_session_close(s, 0);
		return FY_ERR_SYSTEM;
	}
	s->has_manager = 1;
	*out = s;
	return 0;
}

void *
tp_session_arg(struct tp_session *s)
{
	return s->dial_arg;
}

void
tp_session_set_rate(struct tp_session *s, uint64_t rate)
{
	pthread_mutex_lock(&s->mtx);
	s->cfg.rate_limit = rate;
	wake_all(s);
	pthread_mutex_unlock(&s->mtx);
}

void
tp_session_limit_window(struct tp_session *s, uint64_t bytes)
{
	pthread_mutex_lock(&s->mtx);
	if (bytes < 2 * (uint64_t)s->cfg.chunk_size)
		bytes = 2 * (uint64_t)s->cfg.chunk_size;
	if (bytes < s->peer_window)
		s->peer_window = bytes;
	wake_all(s);
	pthread_mutex_unlock(&s->mtx);
}

int
tp_session_idle_ok(struct tp_session *s)
{
	int ok;

	pthread_mutex_lock(&s->mtx);
	ok = !s->closing && !s->failed && !s->bye && s->nup > 0 && s->nchans == 0 && TAILQ_EMPTY(&s->sendq);
	pthread_mutex_unlock(&s->mtx);
	return ok;
}

void
tp_session_close(struct tp_session *s, int timeout_ms)
{
	struct tp_channel *c;
	int64_t until = fy_mono_ms() + timeout_ms;
	int i, pending;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mtx);
	/* Let what was written reach the peer. */
	for (;;) {
		pending = 0;
		TAILQ_FOREACH(c, &s->chans, e)
			if (!TAILQ_EMPTY(&c->unacked))
				pending = 1;
		if (!pending || s->failed)
			break;
		if (fy_mono_ms() >= until) {
			/* Out of time: what is still queued is abandoned, not sent. */
			s->failed = 1;
			break;
		}
		timed_wait(s, 50);
	}
	s->closing = 1;
	wake_all(s);
	pthread_mutex_unlock(&s->mtx);
	if (s->has_manager)
		pthread_join(s->manager, NULL);
	/* Say goodbye on each stream, then stop them. */
	for (i = 0; i < TP_MAX_STREAMS; i++) {
		struct stream *st = &s->st[i];
		if (st->has_thread) {
			pthread_join(st->th, NULL);
			st->has_thread = 0;
		}
		if (st->ssl != NULL) {
			SSL_free(st->ssl);
			close(st->fd);
		}
	}
	session_free(s);
}

/* ------------------------------------------------------------ acceptor */

int
tp_server_new(const struct tp_config *cfg, tp_verify_fn verify, tp_channel_fn on_channel, void *arg,
    struct tp_server **out)
{
	struct tp_server *sv;

	*out = NULL;
	if ((sv = calloc(1, sizeof(*sv))) == NULL)
		return FY_ERR_NOMEM;
	pthread_mutex_init(&sv->mtx, NULL);
	sv->cfg = *cfg;
	sv->verify = verify;
	sv->on_channel = on_channel;
	sv->arg = arg;
	TAILQ_INIT(&sv->sessions);
	*out = sv;
	return 0;
}

void
tp_server_free(struct tp_server *sv)
{
	if (sv == NULL)
		return;
	/* Sessions still referenced by threads are left to them. */
	pthread_mutex_destroy(&sv->mtx);
	free(sv);
}

/* Drop a reference on an acceptor session; frees it at zero.  Server lock not held. */
static void
session_unref(struct tp_server *sv, struct tp_session *s)
{
	int last;

	pthread_mutex_lock(&sv->mtx);
	pthread_mutex_lock(&s->mtx);
	last = --s->refs == 0;
	if (last)
		TAILQ_REMOVE(&sv->sessions, s, e);
	pthread_mutex_unlock(&s->mtx);
	pthread_mutex_unlock(&sv->mtx);
	if (last)
		session_free(s);
}

/*
 * Read the HELLO within deadline_ms in all: a client that trickles bytes
 * does not hold a connection slot before it has even authenticated.
 */
static int
hello_read(int fd, SSL *ssl, struct tp_hdr *h, uint8_t *buf, size_t cap, int deadline_ms)
{
	uint8_t hdr[TP_HDR_LEN];
	int64_t until = fy_mono_ms() + deadline_ms;
	size_t off = 0, want = TP_HDR_LEN;
	struct pollfd pfd;
	int n, r, fl = fcntl(fd, F_GETFL);

	(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	for (;;) {
		n = SSL_read(ssl, off < TP_HDR_LEN ? hdr + off : buf + (off - TP_HDR_LEN),
		    (int)(want - off));
		if (n > 0) {
			off += (size_t)n;
			if (off == TP_HDR_LEN) {
				if ((r = tp_hdr_decode(hdr, h)) != 0)
					goto out;
				if (h->len > cap) {
					r = FY_ERR_LIMIT;
					goto out;
				}
				want = TP_HDR_LEN + h->len;
			}
			if (off == want && off >= TP_HDR_LEN) {
				r = 0;
				goto out;
			}
			continue;
		}
		r = SSL_get_error(ssl, n);
		if (r != SSL_ERROR_WANT_READ && r != SSL_ERROR_WANT_WRITE) {
			r = FY_ERR_IO;
			goto out;
		}
		pfd.fd = fd;
		pfd.events = r == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
		if (fy_mono_ms() >= until || poll(&pfd, 1, (int)(until - fy_mono_ms())) <= 0) {
			r = FY_ERR_TIMEOUT;
			goto out;
		}
	}
out:
	(void)fcntl(fd, F_SETFL, fl);
	return r;
}

void
tp_server_drop_peer(struct tp_server *sv, const char *peer)
{
	struct tp_session *s;
	int i;

	pthread_mutex_lock(&sv->mtx);
	TAILQ_FOREACH(s, &sv->sessions, e) {
		if (peer != NULL && strcmp(s->peer, peer) != 0)
			continue;
		pthread_mutex_lock(&s->mtx);
		s->failed = 1;
		if (peer != NULL)
			snprintf(s->stats.last_error, sizeof(s->stats.last_error), "peer %.60s was unpaired", peer);
		else
			snprintf(s->stats.last_error, sizeof(s->stats.last_error), "the gateway is stopping");
		for (i = 0; i < TP_MAX_STREAMS; i++)
			if (s->st[i].state == ST_UP && s->st[i].fd >= 0)
				(void)shutdown(s->st[i].fd, SHUT_RDWR);
		wake_all(s);
		pthread_mutex_unlock(&s->mtx);
		if (peer != NULL)
			log_info("transport sessions of %s closed: unpaired", peer);
		else
			log_debug("transport session of %s closed: stopping", s->peer);
	}
	pthread_mutex_unlock(&sv->mtx);
}

void
tp_server_stream(struct tp_server *sv, int fd, SSL *ssl, const char *addr)
{
	struct tp_session *s;
	struct tp_config cfg;
	struct tp_hdr h;
	uint8_t buf[20 + TP_CRED_MAX], sid[16];
	char cred[TP_CRED_MAX + 1], peer[64], why[128];
	uint16_t idx;
	int r;

	peer[0] = '\0';
	if ((r = hello_read(fd, ssl, &h, buf, sizeof(buf), HELLO_DEADLINE_MS)) != 0 || h.type != TP_HELLO ||
	    (r = tp_hello_decode(buf, h.len, sid, &idx, cred, sizeof(cred))) != 0) {
		log_warnx("data stream from %s: bad HELLO", addr);
		goto out;
	}
	if ((r = sv->verify(sv->arg, ssl, cred, peer, sizeof(peer))) != 0) {
		fy_wipe(cred, sizeof(cred));
		snprintf(why, sizeof(why), "%s", fy_strerror(r));
		(void)blocking_frame_write(ssl, TP_RESET, 0, (const uint8_t *)why, strlen(why));
		goto out;
	}
	fy_wipe(cred, sizeof(cred));
	pthread_mutex_lock(&sv->mtx);
	TAILQ_FOREACH(s, &sv->sessions, e)
		if (memcmp(s->sid, sid, 16) == 0)
			break;
	if (s != NULL && strcmp(s->peer, peer) != 0) {
		/* A session id belongs to the peer that made it. */
		pthread_mutex_unlock(&sv->mtx);
		(void)blocking_frame_write(ssl, TP_RESET, 0, (const uint8_t *)"session of another peer", 23);
		goto out;
	}
	if (s == NULL) {
		cfg = sv->cfg;
		cfg.peer = NULL;
		if ((s = session_new(&cfg)) == NULL) {
			pthread_mutex_unlock(&sv->mtx);
			goto out;
		}
		memcpy(s->sid, sid, 16);
		s->server = sv;
		s->next_chan = 2;	/* acceptor: even ids */
		snprintf(s->peer, sizeof(s->peer), "%s", peer);
		TAILQ_INSERT_TAIL(&sv->sessions, s, e);
	}
	pthread_mutex_lock(&s->mtx);
	if (s->st[idx].state != ST_DOWN || s->failed || s->bye) {
		pthread_mutex_unlock(&s->mtx);
		pthread_mutex_unlock(&sv->mtx);
		(void)blocking_frame_write(ssl, TP_RESET, 0, (const uint8_t *)"stream busy", 11);
		goto out;
	}
	s->refs++;
	s->target = s->nup + 1;
	if (h.seq >= TP_CHUNK_MIN && h.seq < s->peer_window)
		s->peer_window = h.seq;
	stream_attach(s, idx, fd, ssl);
	pthread_mutex_unlock(&s->mtx);
	pthread_mutex_unlock(&sv->mtx);
	/* WELCOME before the loop (the socket is non-blocking now: retry briefly). */
	{
		uint8_t hdr[TP_HDR_LEN];
		struct tp_hdr w;
		int64_t t0 = fy_mono_ms();
		size_t off = 0;
		memset(&w, 0, sizeof(w));
		w.type = TP_WELCOME;
		w.seq = s->cfg.window;
		tp_hdr_encode(&w, hdr);
		while (off < TP_HDR_LEN && fy_mono_ms() - t0 < 5000) {
			int n = SSL_write(ssl, hdr + off, (int)(TP_HDR_LEN - off));
			if (n > 0)
				off += (size_t)n;
			else
				usleep(1000);
		}
	}
	stream_run(&s->st[idx]);
	session_unref(sv, s);
	return;
out:
	SSL_free(ssl);
	close(fd);
}

/* ------------------------------------------------------------ channels */

static int
enqueue(struct tp_channel *c, const uint8_t *p, size_t n, uint8_t flags)
{
	struct tp_session *s = c->s;
	struct chunk *k;
	int r;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return FY_ERR_NOMEM;
	k->h.flags = flags;
	k->h.channel = c->id;
	k->sent_on = -1;
	k->ch = c;
	/* Checksum and compression outside the lock: the producer's CPU, not the streams'. */
	if ((r = tp_data_encode(&k->h, p, n, (flags & TP_F_OPEN) ? TP_COMPRESS_NONE : s->cfg.compress,
	    &k->data)) != 0) {
		free(k);
		return r;
	}
	pthread_mutex_lock(&s->mtx);
	k->h.seq = c->next_seq++;
	if (k->h.flags & TP_F_ZERO)
		s->stats.chunks_zero++;
	if (k->h.flags & (TP_F_LZ4 | TP_F_ZSTD))
		s->stats.chunks_compressed++;
	if (!(flags & TP_F_OPEN)) {
		c->sent_bytes += n;
		s->stats.bytes_sent += n;
	}
	TAILQ_INSERT_TAIL(&c->unacked, k, ue);
	TAILQ_INSERT_TAIL(&s->sendq, k, qe);
	k->queued = 1;
	wake_all(s);
	pthread_mutex_unlock(&s->mtx);
	return 0;
}

int
tp_channel_open(struct tp_session *s, const char *name, struct tp_channel **out)
{
	struct tp_channel *c;
	size_t nl = strlen(name);
	int r;

	*out = NULL;
	if (nl == 0 || nl > TP_NAME_MAX)
		return FY_ERR_INVAL;
	pthread_mutex_lock(&s->mtx);
	if (session_dead(s)) {
		pthread_mutex_unlock(&s->mtx);
		return FY_ERR_CONNECT;
	}
	c = chan_new(s, s->next_chan, 1);
	s->next_chan += 2;
	if (c != NULL) {
		snprintf(c->name, sizeof(c->name), "%s", name);
		c->announced = 1;
	}
	pthread_mutex_unlock(&s->mtx);
	if (c == NULL)
		return FY_ERR_NOMEM;
	if ((r = enqueue(c, (const uint8_t *)name, nl, TP_F_OPEN)) != 0) {
		tp_channel_free(c);
		return r;
	}
	*out = c;
	return 0;
}

const char *
tp_channel_name(const struct tp_channel *c)
{
	return c->name;
}

void
tp_channel_set_rate(struct tp_channel *c, uint64_t rate)
{
	pthread_mutex_lock(&c->s->mtx);
	c->rate = rate;
	pthread_cond_broadcast(&c->s->cv);
	pthread_mutex_unlock(&c->s->mtx);
}

int
tp_channel_write(struct tp_channel *c, const void *buf, size_t n)
{
	struct tp_session *s = c->s;
	const uint8_t *p = buf;
	size_t k;
	int64_t w;
	int r;

	while (n > 0) {
		k = n < s->cfg.chunk_size ? n : s->cfg.chunk_size;
		pthread_mutex_lock(&s->mtx);
		for (;;) {
			if (c->reset) {
				pthread_mutex_unlock(&s->mtx);
				return FY_ERR_PEER;
			}
			if (session_dead(s) || s->bye || c->fin_sent) {
				pthread_mutex_unlock(&s->mtx);
				return FY_ERR_CONNECT;
			}
			/* Backpressure: the peer's buffer for this channel is the limit. */
			if (c->sent_bytes + k - c->peer_consumed > s->peer_window) {
				timed_wait(s, 100);
				continue;
			}
			if ((w = bucket_wait_us(&c->tokens, &c->tokens_at_us, c->rate, k)) > 0) {
				pthread_mutex_unlock(&s->mtx);
				usleep((useconds_t)(w > 100000 ? 100000 : w));
				pthread_mutex_lock(&s->mtx);
				continue;
			}
			c->tokens -= (double)(c->rate ? k : 0);
			break;
		}
		pthread_mutex_unlock(&s->mtx);
		if ((r = enqueue(c, p, k, 0)) != 0)
			return r;
		p += k;
		n -= k;
	}
	return 0;
}

int
tp_channel_shutdown(struct tp_channel *c)
{
	int r;

	if (c->fin_sent)
		return 0;
	if ((r = enqueue(c, NULL, 0, TP_F_FIN)) == 0)
		c->fin_sent = 1;
	return r;
}

long
tp_channel_read(struct tp_channel *c, void *buf, size_t n, int timeout_ms)
{
	struct tp_session *s = c->s;
	struct chunk *k;
	int64_t until = timeout_ms < 0 ? INT64_MAX : fy_mono_ms() + timeout_ms;
	size_t got = 0, take;

	pthread_mutex_lock(&s->mtx);
	for (;;) {
		/* In-order data sits at the head with seq below recv_next. */
		while (got < n && (k = TAILQ_FIRST(&c->rq)) != NULL && k->h.seq < c->recv_next) {
			if (k->fin) {
				c->eof = 1;
				TAILQ_REMOVE(&c->rq, k, ue);
				chunk_free(k);
				break;
			}
			take = k->h.raw_len - k->off;
			if (take > n - got)
				take = n - got;
			memcpy((uint8_t *)buf + got, k->data + k->off, take);
			k->off += take;
			got += take;
			if (k->off == k->h.raw_len) {
				TAILQ_REMOVE(&c->rq, k, ue);
				chunk_free(k);
			}
		}
		if (got > 0) {
			c->consumed += got;
			c->buffered -= got;
			mark_ack(s, c);
			wake_all(s);
			pthread_mutex_unlock(&s->mtx);
			return (long)got;
		}
		if (c->eof) {
			pthread_mutex_unlock(&s->mtx);
			return 0;
		}
		if (c->reset) {
			pthread_mutex_unlock(&s->mtx);
			return FY_ERR_PEER;
		}
		if (session_dead(s) || (s->bye && s->nup == 0)) {
			pthread_mutex_unlock(&s->mtx);
			return FY_ERR_CONNECT;
		}
		if (fy_mono_ms() >= until) {
			pthread_mutex_unlock(&s->mtx);
			return FY_ERR_TIMEOUT;
		}
		timed_wait(s, 100);
	}
}

int
tp_channel_drain(struct tp_channel *c, int timeout_ms)
{
	struct tp_session *s = c->s;
	int64_t until = fy_mono_ms() + timeout_ms;
	int r = 0;

	pthread_mutex_lock(&s->mtx);
	while (c->peer_consumed < c->sent_bytes || !TAILQ_EMPTY(&c->unacked)) {
		if (c->reset) {
			r = FY_ERR_PEER;
			break;
		}
		if (session_dead(s)) {
			r = FY_ERR_CONNECT;
			break;
		}
		if (fy_mono_ms() >= until) {
			r = FY_ERR_TIMEOUT;
			break;
		}
		timed_wait(s, 50);
	}
	pthread_mutex_unlock(&s->mtx);
	return r;
}

void
tp_channel_free(struct tp_channel *c)
{
	struct tp_session *s;
	struct chunk *k;

	if (c == NULL)
		return;
	s = c->s;
	pthread_mutex_lock(&s->mtx);
	c->freed = 1;
	s->gone[s->gone_at++ % GONE_MAX] = c->id;
	s->nchans--;
	/* Our last acknowledgement still goes out, or the peer's drain would wait. */
	if (c->ack_dirty && s->nfinal < RESET_MAX) {
		s->final_acks[s->nfinal].channel = c->id;
		s->final_acks[s->nfinal].next_seq = c->recv_next;
		s->final_acks[s->nfinal].consumed = c->consumed;
		s->nfinal++;
		s->ack_pending = 1;
		s->ack_due_ms = fy_mono_ms();
		wake_all(s);
	}
	/* Not shut down both ways: tell the peer, so its side does not wait. */
	if ((!c->fin_sent || !c->eof) && !c->reset && s->nresets < RESET_MAX) {
		s->resets[s->nresets++] = c->id;
		wake_all(s);
	}
	TAILQ_REMOVE(&s->chans, c, e);
	drop_unacked(s, c, UINT64_MAX);
	while ((k = TAILQ_FIRST(&c->rq)) != NULL) {
		TAILQ_REMOVE(&c->rq, k, ue);
		chunk_free(k);
	}
	if (s->server == NULL)
		s->refs--;
	pthread_mutex_unlock(&s->mtx);
	free(c);
	if (s->server != NULL)
		session_unref(s->server, s);
}

void
tp_session_stats(struct tp_session *s, struct tp_stats *out)
{
	pthread_mutex_lock(&s->mtx);
	read_tcp_info(s);
	s->stats.streams_up = s->nup;
	s->stats.streams_target = s->target;
	s->stats.window = s->peer_window;
	*out = s->stats;
	pthread_mutex_unlock(&s->mtx);
}

/* ------------------------------------------------------------ tunnels */

struct pump {
	struct tp_channel *c;
	int fd, r;
};

static void *
pump_in(void *arg)
{
	struct pump *p = arg;
	uint8_t *buf;
	long n;

	/* channel -> fd */
	if ((buf = malloc(256 * 1024)) == NULL) {
		p->r = FY_ERR_NOMEM;
		return NULL;
	}
	for (;;) {
		n = tp_channel_read(p->c, buf, 256 * 1024, -1);
		if (n == 0) {
			(void)shutdown(p->fd, SHUT_WR);
			break;
		}
		if (n < 0) {
			p->r = (int)n;
			(void)shutdown(p->fd, SHUT_WR);
			break;
		}
		for (long off = 0; off < n;) {
			ssize_t w = write(p->fd, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				p->r = FY_ERR_IO;
				free(buf);
				return NULL;
			}
			off += w;
		}
	}
	free(buf);
	return NULL;
}

int
tp_tunnel(struct tp_channel *c, int fd)
{
	struct pump in = { c, fd, 0 };
	pthread_t t;
	uint8_t *buf;
	size_t cs = c->s->cfg.chunk_size;
	ssize_t n;
	int r = 0;

	if ((buf = malloc(cs)) == NULL)
		return FY_ERR_NOMEM;
	if (pthread_create(&t, NULL, pump_in, &in) != 0) {
		free(buf);
		return FY_ERR_SYSTEM;
	}
	/* fd -> channel: send what a read returns, never wait to fill a chunk. */
	for (;;) {
		n = read(fd, buf, cs);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = FY_ERR_IO;
			break;
		}
		if (n == 0) {
			r = tp_channel_shutdown(c);
			break;
		}
		if ((r = tp_channel_write(c, buf, (size_t)n)) != 0)
			break;
	}
	free(buf);
	if (r != 0) {
		/*
		 * Our side failed: stop the other direction too, here (the
		 * reader wakes with FY_ERR_PEER) and at the peer (RESET).
		 */
		(void)shutdown(fd, SHUT_RDWR);
		pthread_mutex_lock(&c->s->mtx);
		c->reset = 1;
		if (c->s->nresets < RESET_MAX)
			c->s->resets[c->s->nresets++] = c->id;
		wake_all(c->s);
		pthread_mutex_unlock(&c->s->mtx);
	}
	pthread_join(t, NULL);
	/* What we wrote, and our end-of-stream, reach the peer before we return. */
	if (r == 0 && in.r == 0)
		r = tp_channel_drain(c, c->s->cfg.dead_timeout_ms);
	return r != 0 ? r : in.r;
}

const char *
tp_session_peer(const struct tp_session *s)
{
	return s->peer;
}
