/*
 * tploop-t - the transport library end to end over loopback TCP with real
 * TLS 1.3 (two fresh site identities), as a TAP test:
 *   - transfers verified byte for byte (random, compressible, zero data),
 *   - a slow consumer: the writer is held back and memory stays bounded,
 *   - a chunk whose checksum does not match, injected on a stream by a
 *     raw client: never delivered, the stream is dropped,
 *   - a tunnel between two sockets.
 * The credential check is a fixed test string (named as such); everything
 * else is the production code path.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include <xxhash.h>
#include "common.h"
#include "trust/trust.h"
#include "transport/transport.h"
#include "tests/tap.h"

#define TEST_CRED "tploop-test-credential"	/* stands in for a gateway token */

static SSL_CTX *srv_ctx, *cli_ctx;
static int lfd, port;
static struct tp_server *server;

/* What the acceptor's channel handler saw. */
static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct {
	int done;
	uint64_t bytes;
	long last;
	struct tp_stats st;
	int slow_us;
} seen;

static int
verify(void *arg, SSL *ssl, const char *cred, char *peer, size_t cap)
{
	(void)arg;
	(void)ssl;
	if (strcmp(cred, TEST_CRED) != 0)
		return FY_ERR_AUTH;
	snprintf(peer, cap, "loop");
	return 0;
}

/* Acceptor: hash everything; answer digest + count; or tunnel to an echo. */
static void
on_channel(void *arg, struct tp_session *s, struct tp_channel *c)
{
	uint8_t *buf = malloc(1 << 20), out[24];
	XXH3_state_t *h = XXH3_createState();
	XXH128_hash_t d;
	uint64_t total = 0;
	long n;
	int i;

	(void)arg;
	XXH3_128bits_reset(h);
	if (strcmp(tp_channel_name(c), "echo") == 0) {
		while ((n = tp_channel_read(c, buf, 1 << 20, 10000)) > 0)
			if (tp_channel_write(c, buf, (size_t)n) != 0)
				break;
		if (tp_channel_shutdown(c) != 0 || tp_channel_drain(c, 10000) != 0)
			diag("echo: the peer left first");
		goto out;
	}
	while ((n = tp_channel_read(c, buf, seen.slow_us ? 65536 : 1 << 20,
	    strcmp(tp_channel_name(c), "victim") == 0 ? 3000 : 20000)) > 0) {
		XXH3_128bits_update(h, buf, (size_t)n);
		total += (uint64_t)n;
		if (seen.slow_us)
			usleep((useconds_t)seen.slow_us);
	}
	d = XXH3_128bits_digest(h);
	for (i = 0; i < 8; i++) {
		out[i] = (uint8_t)(d.high64 >> (56 - 8 * i));
		out[8 + i] = (uint8_t)(d.low64 >> (56 - 8 * i));
		out[16 + i] = (uint8_t)(total >> (56 - 8 * i));
	}
	if (n == 0 && tp_channel_write(c, out, sizeof(out)) == 0 && tp_channel_shutdown(c) == 0 &&
	    tp_channel_drain(c, 10000) != 0)
		diag("digest not taken by the peer");
out:
	pthread_mutex_lock(&mtx);
	seen.done = 1;
	seen.bytes = total;
	seen.last = n;
	tp_session_stats(s, &seen.st);
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mtx);
	XXH3_freeState(h);
	free(buf);
	tp_channel_free(c);
}

struct job {
	int fd;
	SSL *ssl;
};

static void *
run_stream(void *a)
{
	struct job *j = a;

	tp_server_stream(server, j->fd, j->ssl, "loop");
	free(j);
	return NULL;
}

static void *
acceptor(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		SSL *ssl;
		if (fd < 0)
			return NULL;
		if ((ssl = SSL_new(srv_ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1) {
			SSL_free(ssl);
			close(fd);
			continue;
		}
		/* One thread per stream, as ferryd does. */
		struct job *j = malloc(sizeof(*j));
		pthread_t t;
		j->fd = fd;
		j->ssl = ssl;
		pthread_create(&t, NULL, run_stream, j);
		pthread_detach(t);
	}
}

static int
tcp_to_listener(void)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static SSL *
tls_to_listener(int fd)
{
	SSL *ssl = SSL_new(cli_ctx);

	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || trust_tls_set_alpn(ssl, TRUST_ALPN_DATA) != 0 ||
	    SSL_connect(ssl) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

static volatile int dial_delay_ms;	/* hint_test: a dial that takes as long as a WAN's */

static int
dial(void *arg, int idx, int *fdp, SSL **sslp, char *cred, size_t cap, char *err, size_t errcap)
{
	(void)arg;
	(void)idx;
	if (dial_delay_ms > 0)
		(void)poll(NULL, 0, dial_delay_ms);
	if ((*fdp = tcp_to_listener()) < 0 || (*sslp = tls_to_listener(*fdp)) == NULL) {
		snprintf(err, errcap, "loopback dial failed");
		if (*fdp >= 0)
			close(*fdp);
		return FY_ERR_CONNECT;
	}
	snprintf(cred, cap, "%s", TEST_CRED);
	return 0;
}

static void
wait_seen(int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	pthread_mutex_lock(&mtx);
	while (!seen.done)
		if (pthread_cond_timedwait(&cv, &mtx, &ts) != 0)
			break;
	pthread_mutex_unlock(&mtx);
}

/* A caller's round-trip hint: 100 ms once asked twice (the first streams are dialling by then). */
static int hint_calls;
static int64_t
hint_100ms(void *arg)
{
	(void)arg;
	return ++hint_calls >= 2 ? 100000 : 0;
}

/*
 * The initial stream count comes from the round trip.  On loopback the
 * first streams measure next to nothing, so only min_streams open; with a
 * hint of 100 ms the rest are dialled at once and are up when open returns.
 */
static void
hint_test(void)
{
	struct tp_config cfg;
	struct tp_session *s = NULL;
	struct tp_stats st;
	char err[200];

	tp_config_defaults(&cfg);
	cfg.min_streams = 2;
	cfg.max_streams = 6;
	if (tp_session_open(&cfg, dial, NULL, &s, err, sizeof(err)) != 0) {
		ok(0, "no hint: session opens (%s)", err);
		return;
	}
	tp_session_stats(s, &st);
	ok(st.streams_target == 2 && st.streams_up == 2, "no hint, loopback: min_streams (2) open (%d up of %d)",
	    st.streams_up, st.streams_target);
	tp_session_close(s, 2000);
	cfg.rtt_hint = hint_100ms;
	dial_delay_ms = 100;	/* the first streams are still dialling when the hint comes */
	if (tp_session_open(&cfg, dial, NULL, &s, err, sizeof(err)) != 0) {
		dial_delay_ms = 0;
		ok(0, "hint: session opens (%s)", err);
		return;
	}
	dial_delay_ms = 0;
	tp_session_stats(s, &st);
	ok(hint_calls >= 2, "the hint was asked while the first streams dialled (%d times)", hint_calls);
	ok(st.streams_target > 2 && st.streams_up == st.streams_target,
	    "a 100 ms hint: %d streams, all up when open returns (%d up)", st.streams_target, st.streams_up);
	tp_session_close(s, 2000);
}

/* Send n bytes made by fill(); check the acceptor's digest and count. */
static void
transfer(const char *what, struct tp_config *cfg, size_t n, void (*fill)(uint8_t *, size_t, size_t))
{
	struct tp_session *s = NULL;
	struct tp_channel *c = NULL;
	struct tp_stats st;
	uint8_t *buf = malloc(1 << 20), ans[24];
	XXH3_state_t *h = XXH3_createState();
	XXH128_hash_t d;
	char err[200];
	size_t off, k;
	long got = 0, r;
	uint64_t hi = 0, lo = 0, cnt = 0;
	int i;

	{
		int slow = seen.slow_us;
		memset(&seen, 0, sizeof(seen));
		seen.slow_us = slow;
	}
	XXH3_128bits_reset(h);
	if (tp_session_open(cfg, dial, NULL, &s, err, sizeof(err)) != 0 || tp_channel_open(s, "data", &c) != 0) {
		ok(0, "%s: session and channel open (%s)", what, err);
		goto out;
	}
	for (off = 0; off < n; off += k) {
		k = n - off < (1 << 20) ? n - off : 1 << 20;
		fill(buf, k, off);
		XXH3_128bits_update(h, buf, k);
		if (tp_channel_write(c, buf, k) != 0)
			break;
	}
	ok(off == n, "%s: %zu bytes written", what, n);
	ok(tp_channel_shutdown(c) == 0 && tp_channel_drain(c, 30000) == 0, "%s: the peer consumed everything", what);
	while (got < 24 && (r = tp_channel_read(c, ans + got, (size_t)(24 - got), 10000)) > 0)
		got += r;
	d = XXH3_128bits_digest(h);
	for (i = 0; i < 8; i++) {
		hi = hi << 8 | ans[i];
		lo = lo << 8 | ans[8 + i];
		cnt = cnt << 8 | ans[16 + i];
	}
	ok(got == 24 && hi == d.high64 && lo == d.low64 && cnt == n,
	    "%s: the receiver's XXH3-128 and byte count match the sender's", what);
	tp_session_stats(s, &st);
	diag("%s: %llu bytes acked, %llu on the wire, %llu zero chunks, %llu compressed", what,
	    (unsigned long long)st.bytes_acked, (unsigned long long)st.wire_bytes_sent,
	    (unsigned long long)st.chunks_zero, (unsigned long long)st.chunks_compressed);
	if (fill != NULL && cfg->compress != TP_COMPRESS_NONE && strstr(what, "text") != NULL)
		ok(st.chunks_compressed > 0 && st.wire_bytes_sent < n / 2, "%s: compression kept (wire %llu < %zu/2)",
		    what, (unsigned long long)st.wire_bytes_sent, n);
	if (strstr(what, "zero") != NULL)
		ok(st.chunks_zero > 0 && st.wire_bytes_sent < n / 100, "%s: zero chunks elided (wire %llu bytes)",
		    what, (unsigned long long)st.wire_bytes_sent);
	if (strstr(what, "random") != NULL && cfg->compress != TP_COMPRESS_NONE)
		ok(st.chunks_compressed == 0, "%s: incompressible chunks sent raw", what);
out:
	wait_seen(5000);
	tp_channel_free(c);
	tp_session_close(s, 5000);
	XXH3_freeState(h);
	free(buf);
}

static void
fill_random(uint8_t *p, size_t n, size_t off)
{
	size_t i;
	uint64_t x = off * 0x9E3779B97F4A7C15ull + 1;

	for (i = 0; i + 8 <= n; i += 8) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		memcpy(p + i, &x, 8);
	}
	for (; i < n; i++)
		p[i] = (uint8_t)i;
}

static void
fill_text(uint8_t *p, size_t n, size_t off)
{
	static const char t[] = "Ferry moves running virtual machines between sites. ";
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)t[(off + i) % (sizeof(t) - 1)];
}

static void
fill_zero(uint8_t *p, size_t n, size_t off)
{
	(void)off;
	memset(p, 0, n);
}

static long
rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return kb;
}

/* A raw client: valid HELLO, an OPEN, then a DATA chunk whose checksum lies. */
static void
inject_corrupt(void)
{
	struct tp_hdr h;
	uint8_t hdr[TP_HDR_LEN], hello[20 + sizeof(TEST_CRED)], payload[4096], *enc = NULL;
	size_t cl = strlen(TEST_CRED);
	int fd, closed = 0;
	SSL *ssl;

	memset(&seen, 0, sizeof(seen));
	if ((fd = tcp_to_listener()) < 0 || (ssl = tls_to_listener(fd)) == NULL) {
		ok(0, "raw client connects");
		return;
	}
	memset(hello, 0x42, 16);		/* session id */
	hello[16] = 0; hello[17] = 0;		/* stream 0 */
	hello[18] = (uint8_t)(cl >> 8); hello[19] = (uint8_t)cl;
	memcpy(hello + 20, TEST_CRED, cl);
	memset(&h, 0, sizeof(h));
	h.type = TP_HELLO;
	h.len = h.raw_len = (uint32_t)(20 + cl);
	tp_hdr_encode(&h, hdr);
	SSL_write(ssl, hdr, TP_HDR_LEN);
	SSL_write(ssl, hello, (int)(20 + cl));
	ok(SSL_read(ssl, hdr, TP_HDR_LEN) == TP_HDR_LEN && tp_hdr_decode(hdr, &h) == 0 && h.type == TP_WELCOME,
	    "raw client is welcomed");
	/* OPEN channel 1 "victim" (initiator ids are odd). */
	memset(&h, 0, sizeof(h));
	h.channel = 1;
	h.seq = 0;
	h.flags = TP_F_OPEN;
	if (tp_data_encode(&h, (const uint8_t *)"victim", 6, TP_COMPRESS_NONE, &enc) != 0)
		return;
	tp_hdr_encode(&h, hdr);
	SSL_write(ssl, hdr, TP_HDR_LEN);
	SSL_write(ssl, enc, (int)h.len);
	free(enc);
	/* DATA seq 1 with a checksum that is off by one bit. */
	fill_text(payload, sizeof(payload), 0);
	memset(&h, 0, sizeof(h));
	h.channel = 1;
	h.seq = 1;
	if (tp_data_encode(&h, payload, sizeof(payload), TP_COMPRESS_NONE, &enc) != 0)
		return;
	h.sum ^= 1;
	tp_hdr_encode(&h, hdr);
	SSL_write(ssl, hdr, TP_HDR_LEN);
	SSL_write(ssl, enc, (int)h.len);
	free(enc);
	/* The acceptor must drop the stream: our next read sees the end. */
	{
		uint8_t b[256];
		int64_t t0 = fy_mono_ms();
		while (fy_mono_ms() - t0 < 5000) {
			int r = SSL_read(ssl, b, sizeof(b));
			if (r <= 0) {
				closed = 1;
				break;
			}
		}
	}
	ok(closed, "the stream carrying the corrupt chunk is closed by the receiver");
	wait_seen(10000);
	ok(seen.done && seen.bytes == 0, "the corrupt chunk's bytes were never delivered (%llu bytes)",
	    (unsigned long long)seen.bytes);
	ok(seen.st.chunks_corrupt == 1, "the receiver counted one corrupt chunk");
	ok(strstr(seen.st.last_error, "checksum") != NULL, "and says why: %s", seen.st.last_error);
	SSL_free(ssl);
	close(fd);
}

struct targ {
	struct tp_channel *c;
	int fd, r;
};

static void *
run_tunnel(void *a)
{
	struct targ *x = a;

	x->r = tp_tunnel(x->c, x->fd);
	return NULL;
}

static volatile int mon_stop;
static long mon_peak;

static void *
monitor(void *x)
{
	(void)x;
	while (!mon_stop) {
		long r = rss_kb();
		if (r > mon_peak)
			mon_peak = r;
		usleep(20000);
	}
	return NULL;
}

static void
tunnel_test(struct tp_config *cfg)
{
	struct tp_session *s = NULL;
	struct tp_channel *c = NULL;
	char err[200], buf[65536];
	int sp[2], r = -1;
	size_t sent = 0, got = 0;
	long n;
	pthread_t t;
	struct targ ta;

	memset(&seen, 0, sizeof(seen));
	if (tp_session_open(cfg, dial, NULL, &s, err, sizeof(err)) != 0 || tp_channel_open(s, "echo", &c) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sp) != 0) {
		ok(0, "tunnel setup (%s)", err);
		return;
	}
	ta.c = c;
	ta.fd = sp[1];
	ta.r = -1;
	pthread_create(&t, NULL, run_tunnel, &ta);
	/* Through the socket, into the channel, echoed by the peer, and back. */
	memset(buf, 'T', sizeof(buf));
	while (sent < 4 << 20) {
		if (write(sp[0], buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			break;
		sent += sizeof(buf);
		while ((n = recv(sp[0], buf, sizeof(buf), MSG_DONTWAIT)) > 0)
			got += (size_t)n;
	}
	shutdown(sp[0], SHUT_WR);
	while ((n = read(sp[0], buf, sizeof(buf))) > 0)
		got += (size_t)n;
	pthread_join(t, NULL);
	r = ta.r;
	is_int(r, 0, "tunnel ends cleanly at end-of-stream both ways");
	ok(got == sent && sent == 4 << 20, "4 MiB went through the tunnel and back (%zu of %zu)", got, sent);
	close(sp[0]);
	close(sp[1]);
	wait_seen(5000);
	tp_channel_free(c);
	tp_session_close(s, 5000);
}

int
main(void)
{
	struct trust_identity *a = NULL, *b = NULL;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	struct tp_config cfg;
	char dir[] = "/tmp/tploop.XXXXXX", da[64], db[64];
	pthread_t at;

	fy_log_init("tploop", 1, FY_LOG_ERR);
	signal(SIGPIPE, SIG_IGN);	/* as ferryd: a closed socket is an error, not a signal */
	if (mkdtemp(dir) == NULL)
		bail("mkdtemp");
	snprintf(da, sizeof(da), "%s/a", dir);
	snprintf(db, sizeof(db), "%s/b", dir);
	if (fy_mkdir_p(da, 0700) != 0 || fy_mkdir_p(db, 0700) != 0 ||
	    trust_identity_load(da, "a", &a) != 0 || trust_identity_load(db, "b", &b) != 0 ||
	    trust_tls_ctx(a, 1, &srv_ctx) != 0 || trust_tls_ctx(b, 0, &cli_ctx) != 0 ||
	    (tp_config_defaults(&cfg), tp_server_new(&cfg, verify, on_channel, NULL, &server)) != 0)
		bail("setup");
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(lfd, 64) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &sl) != 0)
		bail("listen");
	port = ntohs(sin.sin_port);
	pthread_create(&at, NULL, acceptor, NULL);
	pthread_detach(at);

	tp_config_defaults(&cfg);
	cfg.min_streams = cfg.max_streams = 3;
	transfer("random 64 MiB, 3 streams", &cfg, 64 << 20, fill_random);
	cfg.compress = TP_COMPRESS_LZ4;
	transfer("text 32 MiB, lz4", &cfg, 32 << 20, fill_text);
	transfer("random 16 MiB, lz4", &cfg, 16 << 20, fill_random);
	cfg.compress = TP_COMPRESS_ZSTD;
	transfer("text 32 MiB, zstd", &cfg, 32 << 20, fill_text);
	cfg.compress = TP_COMPRESS_NONE;
	transfer("zero 64 MiB", &cfg, 64 << 20, fill_zero);
	cfg.min_streams = 1;
	cfg.max_streams = 1;
	transfer("random 7 MiB + 3 bytes, 1 stream", &cfg, (7 << 20) + 3, fill_random);

	/* Slow consumer: 64 KiB per 5 ms (~13 MB/s), window 8 MiB, 96 MiB sent. */
	{
		long before = rss_kb(), peak;
		int64_t t0 = fy_mono_ms();
		pthread_t mt;
		cfg.min_streams = cfg.max_streams = 2;
		cfg.window = 8 << 20;
		mon_peak = before;
		pthread_create(&mt, NULL, monitor, NULL);
		seen.slow_us = 5000;
		transfer("slow consumer, 24 MiB through an 8 MiB window", &cfg, 24 << 20, fill_random);
		mon_stop = 1;
		pthread_join(mt, NULL);
		peak = mon_peak;
		diag("RSS before %ld KiB, peak %ld KiB, %lld ms", before, peak, (long long)(fy_mono_ms() - t0));
		ok(fy_mono_ms() - t0 >= 1000, "the writer was held back by the consumer (%lld ms for 24 MiB)",
		    (long long)(fy_mono_ms() - t0));
		ok(peak - before < 3 * 8 * 1024 + 16 * 1024, "memory stayed bounded: +%ld KiB for a 8 MiB window",
		    peak - before);
		seen.slow_us = 0;
		cfg.window = 64 << 20;
	}

	inject_corrupt();
	cfg.min_streams = cfg.max_streams = 2;
	tunnel_test(&cfg);
	hint_test();

	trust_identity_free(a);
	trust_identity_free(b);
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			diag("could not remove %s", dir);
	}
	done_testing();
}
