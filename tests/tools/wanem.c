/*
 * wanem - a user-space WAN link emulator for Ferry's tests and benchmarks.
 *
 * The kernel here has no netem, so the link is emulated in user space: one
 * TUN device per site, each created inside that site's network namespace
 * (--netns-a/--netns-b: the process enters the namespace with setns() only
 * to open the device, then returns; the TUN fd stays bound to the device),
 * and one thread per direction.  Each packet read from one device goes
 * through, in this order:
 *   1. random loss (--loss PERCENT);
 *   2. a drop-tail bottleneck of --rate Mbit/s: the packet is refused when
 *      the bytes still waiting for serialisation plus its own exceed --queue
 *      (default one BDP, rate * 2 * delay / 8, at least 32 full packets),
 *      else link_free = max(now, link_free) + len * 8 / rate;
 *   3. a fixed one-way --delay plus uniform jitter in [0, --jitter], never
 *      reordering: a packet leaves no earlier than the one before it;
 * then waits in a preallocated ring and is written to the other device when
 * due, up to --slack (50 us) early so that one ppoll wake-up releases a few
 * packets (a timer per 12 us packet at 1 Gbit/s costs more CPU than the
 * forwarding).  Loss, rate, delay and jitter apply to both directions.
 * --corrupt N flips one payload byte in every Nth TCP segment (IPv4, or
 * IPv6 without extension headers) that carries data and recomputes the TCP
 * checksum, so the damage reaches the receiving application.
 *
 * A write to a TUN device runs the receiving stack in the writing thread
 * (and for an ACK, the sender's next transmissions), so writes are done in
 * batches between polls of the input: the input device must be drained
 * promptly or the kernel drops there (its tx_dropped).
 *
 * Counters (--stats FILE: one JSON line on SIGUSR1 and at exit, per
 * direction "ab"/"ba"): pkts/bytes forwarded, loss_drops, queue_drops,
 * corrupted; emu_drops, the emulator's own failures (ring full, oversized
 * read, TUN write error), whose top-level sum must be 0 for a valid run (and
 * the devices' tx_dropped, which wan.sh checks); down_drops, written while
 * the far device was not up; ring_max, backlog_max (bytes queued at the
 * bottleneck); idle_ms, bottleneck idle time; late_pkts, packets written
 * more than 1 ms after their due time (the forwarding thread was short of
 * CPU), late_max_us, the latest; busy_max_us, the longest the input went
 * unpolled.  --seconds bounds the lifetime (default 600; SIGALRM 10 s later
 * if an orderly stop hangs); SIGTERM/SIGINT/SIGHUP stop it early.  Exit
 * status 1 when a thread stopped on an error.  --probe only creates the
 * two devices and exits 0 (a prerequisite check).  Linux only; needs
 * CAP_NET_ADMIN; tries SCHED_FIFO for the forwarding threads.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>

#define NSEC		1000000000ULL
#define POLL_MAX_NS	(50ULL * 1000000)	/* re-check the stop flag this often */
#define READ_BATCH	32			/* reads between two release passes */
#define WRITE_BATCH	16			/* writes between two polls of input */
#define SLACK_NS	(50ULL * 1000)		/* default --slack */
#define LATE_NS		(1000ULL * 1000)	/* later than this counts in late_pkts */
#define SLOTS_MIN	4096
#define SLOTS_MAX	(1U << 20)

struct pkt {
	uint64_t	 release;	/* CLOCK_MONOTONIC ns */
	uint32_t	 len;
	unsigned char	*data;
};

struct dir {
	const char	*name;		/* "ab" or "ba" */
	int		 in_fd, out_fd;
	struct pkt	*ring;
	unsigned char	*mem;
	size_t		 head, count;
	double		 link_free;	/* ns when the bottleneck is next idle */
	uint64_t	 last_release;
	uint64_t	 rng;
	uint64_t	 tcp_data_seen;
	pthread_t	 thread;
	int		 started;
	/* Written by the direction's thread only, read by main for stats. */
	_Atomic uint64_t pkts, bytes, loss_drops, queue_drops, corrupted;
	_Atomic uint64_t emu_drops, down_drops, ring_max, backlog_max, idle_ns;
	_Atomic uint64_t late_max_ns, late_pkts, busy_max_ns;
};

static struct {
	double		 rate_bps;	/* 0: unlimited */
	uint64_t	 delay_ns, jitter_ns;
	uint64_t	 slack_ns;	/* release this early to batch wake-ups */
	double		 loss;		/* probability 0..1 */
	uint64_t	 loss_cut;	/* rng value below which a packet is lost */
	uint64_t	 queue;		/* bytes */
	uint64_t	 corrupt;	/* every Nth TCP data segment, 0: off */
	long		 seconds;
	size_t		 slots, slot_size;
	unsigned	 mtu;
	uint64_t	 seed;
	int		 rt, probe;
	const char	*stats, *pidfile;
	const char	*netns[2], *tun[2];
} opt = {
	.slack_ns = SLACK_NS, .seconds = 600, .mtu = 1500, .rt = 1,
	.tun = { "fya0", "fyb0" },
};

static atomic_int stop;
static atomic_int rt_ok;
static uint64_t t_start;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

static uint64_t
rnd(uint64_t *s)	/* xorshift64* */
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static void
bump_max(_Atomic uint64_t *m, uint64_t v)
{
	if (v > atomic_load_explicit(m, memory_order_relaxed))
		atomic_store_explicit(m, v, memory_order_relaxed);
}

static void
inc(_Atomic uint64_t *c, uint64_t v)
{
	atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

static void
die(const char *what)
{
	fprintf(stderr, "wanem: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double
num(const char *s, const char *name, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi)) {
		fprintf(stderr, "wanem: --%s: %s is not a number in [%g, %g]\n",
		    name, s, lo, hi);
		exit(2);
	}
	return v;
}

/* Internet checksum accumulation over big-endian 16-bit words. */
static uint64_t
csum_add(uint64_t s, const unsigned char *p, size_t n)
{
	for (; n > 1; p += 2, n -= 2)
		s += (uint64_t)p[0] << 8 | p[1];
	if (n)
		s += (uint64_t)p[0] << 8;
	return s;
}

static uint16_t
csum_fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/*
 * If p holds an unfragmented IPv4 or IPv6 (no extension header) TCP segment
 * with payload, set *tcp and *tcplen to the TCP header and segment length and
 * return the payload offset within the segment; else return 0.
 */
static size_t
tcp_data(unsigned char *p, size_t n, unsigned char **tcp, size_t *tcplen,
    uint64_t *pseudo)
{
	size_t ihl, tot, doff;

	if (n >= 20 && p[0] >> 4 == 4) {
		ihl = (size_t)(p[0] & 0xf) * 4;
		tot = (size_t)p[2] << 8 | p[3];
		if (p[9] != 6 || ihl < 20 || tot > n || tot < ihl + 20 ||
		    ((p[6] & 0x3f) | p[7]) != 0)	/* MF or fragment offset */
			return 0;
		*tcplen = tot - ihl;
		*pseudo = csum_add(0, p + 12, 8) + 6 + *tcplen;
		*tcp = p + ihl;
	} else if (n >= 60 && p[0] >> 4 == 6) {
		tot = (size_t)p[4] << 8 | p[5];
		if (p[6] != 6 || tot + 40 > n || tot < 20)
			return 0;
		*tcplen = tot;
		*pseudo = csum_add(0, p + 8, 32) + 6 + *tcplen;
		*tcp = p + 40;
	} else
		return 0;
	doff = (size_t)((*tcp)[12] >> 4) * 4;
	if (doff < 20 || doff >= *tcplen)
		return 0;
	return doff;
}

/* Flip one payload byte of every opt.corrupt'th TCP data segment. */
static void
maybe_corrupt(struct dir *d, unsigned char *p, size_t n)
{
	unsigned char *tcp;
	size_t tcplen, doff;
	uint64_t pseudo, r;
	uint16_t c;

	if ((doff = tcp_data(p, n, &tcp, &tcplen, &pseudo)) == 0)
		return;
	if (++d->tcp_data_seen % opt.corrupt != 0)
		return;
	r = rnd(&d->rng);
	tcp[doff + (r >> 8) % (tcplen - doff)] ^= (unsigned char)(r % 255 + 1);
	tcp[16] = tcp[17] = 0;
	c = csum_fold(csum_add(pseudo, tcp, tcplen));
	tcp[16] = (unsigned char)(c >> 8);
	tcp[17] = (unsigned char)c;
	inc(&d->corrupted, 1);
}

/*
 * Decide the fate of the packet just read into the ring's tail slot: lost,
 * refused by the queue, or kept with a release time.  Returns 1 to keep.
 */
static int
admit(struct dir *d, struct pkt *k, uint64_t now)
{
	uint64_t release, backlog = 0;

	if (opt.loss_cut != 0 && (opt.loss >= 1.0 || rnd(&d->rng) < opt.loss_cut)) {
		inc(&d->loss_drops, 1);
		return 0;
	}
	if (opt.rate_bps > 0) {
		if (d->link_free > (double)now)
			backlog = (uint64_t)((d->link_free - (double)now) *
			    opt.rate_bps / 8e9);
		else {
			if (d->link_free > 0)
				inc(&d->idle_ns, now - (uint64_t)d->link_free);
			d->link_free = (double)now;
		}
		if (backlog + k->len > opt.queue) {
			inc(&d->queue_drops, 1);
			return 0;
		}
		bump_max(&d->backlog_max, backlog + k->len);
		d->link_free += (double)k->len * 8e9 / opt.rate_bps;
		release = (uint64_t)d->link_free;
	} else
		release = now;
	release += opt.delay_ns;
	if (opt.jitter_ns != 0)
		release += rnd(&d->rng) % (opt.jitter_ns + 1);
	if (release < d->last_release)	/* jitter never reorders */
		release = d->last_release;
	d->last_release = k->release = release;
	if (opt.corrupt != 0)
		maybe_corrupt(d, k->data, k->len);
	return 1;
}

/*
 * Write up to WRITE_BATCH due packets; 1 if more are due.  A write runs the
 * receiving stack (and, for an ACK, the sender's next transmissions) in
 * this thread, so a burst of due packets is split up to keep the input
 * device drained meanwhile.
 */
static int
release_due(struct dir *d, uint64_t now)
{
	struct pkt *k;
	int n = 0;

	while (d->count > 0 && (k = &d->ring[d->head])->release <= now + opt.slack_ns) {
		if (n++ == WRITE_BATCH)
			return 1;
		if (now > k->release) {
			bump_max(&d->late_max_ns, now - k->release);
			if (now - k->release > LATE_NS)
				inc(&d->late_pkts, 1);
		}
		if (write(d->out_fd, k->data, k->len) == (ssize_t)k->len) {
			inc(&d->pkts, 1);
			inc(&d->bytes, k->len);
		} else if (errno == EIO) {
			/* The far device is not up (yet): a link event, not ours. */
			inc(&d->down_drops, 1);
		} else {
			if (atomic_load_explicit(&d->emu_drops, memory_order_relaxed) == 0)
				fprintf(stderr, "wanem: %s: write: %s\n", d->name, strerror(errno));
			inc(&d->emu_drops, 1);
		}
		d->head = (d->head + 1) % opt.slots;
		d->count--;
	}
	return 0;
}

/* Read up to READ_BATCH packets; 0 when the device would block. */
static int
receive(struct dir *d)
{
	unsigned char scratch[65536];
	struct pkt *k;
	ssize_t n;
	int i;

	for (i = 0; i < READ_BATCH; i++) {
		if (d->count == opt.slots) {	/* ring full: our own drop */
			if ((n = read(d->in_fd, scratch, sizeof(scratch))) < 0)
				break;
			inc(&d->emu_drops, 1);
			continue;
		}
		k = &d->ring[(d->head + d->count) % opt.slots];
		if ((n = read(d->in_fd, k->data, opt.slot_size)) < 0)
			break;
		if (n == 0 || (size_t)n > opt.mtu) {
			inc(&d->emu_drops, 1);
			continue;
		}
		k->len = (uint32_t)n;
		if (admit(d, k, now_ns())) {
			d->count++;
			bump_max(&d->ring_max, d->count);
		}
	}
	if (i < READ_BATCH && errno != EAGAIN && errno != EINTR)
		return -1;
	return 0;
}

static void *
run(void *arg)
{
	struct dir *d = arg;
	struct pollfd pfd = { .fd = d->in_fd, .events = POLLIN };
	struct sched_param sp = { .sched_priority = 10 };
	struct timespec ts;
	uint64_t now, wait, woke = 0;

	if (opt.rt && pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0)
		atomic_store(&rt_ok, 1);
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		now = now_ns();
		wait = POLL_MAX_NS;
		if (release_due(d, now))
			wait = 0;
		else if (d->count > 0) {
			now = now_ns();
			wait = d->ring[d->head].release > now + opt.slack_ns ?
			    d->ring[d->head].release - now : 0;
			if (wait > POLL_MAX_NS)
				wait = POLL_MAX_NS;
		}
		ts.tv_sec = (time_t)(wait / NSEC);
		ts.tv_nsec = (long)(wait % NSEC);
		if (woke != 0)	/* how long the input went unwatched */
			bump_max(&d->busy_max_ns, now_ns() - woke);
		if (ppoll(&pfd, 1, &ts, NULL) < 0 && errno != EINTR) {
			fprintf(stderr, "wanem: %s: ppoll: %s\n", d->name, strerror(errno));
			break;
		}
		woke = now_ns();
		if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) {
			fprintf(stderr, "wanem: %s: TUN device gone\n", d->name);
			break;
		}
		if ((pfd.revents & POLLIN) && receive(d) != 0) {
			fprintf(stderr, "wanem: %s: read: %s\n", d->name, strerror(errno));
			break;
		}
	}
	atomic_store(&stop, 1);
	return NULL;
}

/* Create TUN device NAME inside network namespace NS (NULL: this one). */
static int
tun_open(const char *ns, const char *name)
{
	struct ifreq ifr;
	char path[4096];
	int self = -1, nsfd, fd;

	if (ns != NULL) {
		snprintf(path, sizeof(path), "%s%s", strchr(ns, '/') ? "" : "/run/netns/", ns);
		if ((self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0 ||
		    (nsfd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			die(path);
		if (setns(nsfd, CLONE_NEWNET) != 0)
			die("setns");
		close(nsfd);
	}
	if ((fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK)) < 0)
		die("/dev/net/tun");
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (strlen(name) >= IFNAMSIZ) {
		fprintf(stderr, "wanem: device name %s too long\n", name);
		exit(2);
	}
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) != 0)
		die(name);
	if (self >= 0) {
		if (setns(self, CLONE_NEWNET) != 0)
			die("setns back");
		close(self);
	}
	return fd;
}

static void
dir_init(struct dir *d, const char *name, int in_fd, int out_fd, uint64_t seed)
{
	size_t i;

	d->name = name;
	d->in_fd = in_fd;
	d->out_fd = out_fd;
	d->rng = seed | 1;
	if ((d->ring = calloc(opt.slots, sizeof(*d->ring))) == NULL ||
	    (d->mem = malloc(opt.slots * opt.slot_size)) == NULL)
		die("ring");
	/* Fault the ring in now and keep it resident (best effort): a page
	 * reclaimed while idle would fault in the forwarding path. */
	memset(d->mem, 0, opt.slots * opt.slot_size);
	(void)mlock(d->mem, opt.slots * opt.slot_size);
	(void)mlock(d->ring, opt.slots * sizeof(*d->ring));
	for (i = 0; i < opt.slots; i++)
		d->ring[i].data = d->mem + i * opt.slot_size;
}

static void
dir_json(FILE *f, struct dir *d)
{
#define G(x) (unsigned long long)atomic_load(&d->x)
	fprintf(f, "\"%s\":{\"pkts\":%llu,\"bytes\":%llu,\"loss_drops\":%llu,"
	    "\"queue_drops\":%llu,\"corrupted\":%llu,\"emu_drops\":%llu,"
	    "\"down_drops\":%llu,\"ring_max\":%llu,\"backlog_max\":%llu,"
	    "\"idle_ms\":%.3f,\"late_pkts\":%llu,\"late_max_us\":%.1f,"
	    "\"busy_max_us\":%.1f}", d->name, G(pkts), G(bytes), G(loss_drops),
	    G(queue_drops), G(corrupted), G(emu_drops), G(down_drops), G(ring_max),
	    G(backlog_max), (double)G(idle_ns) / 1e6, G(late_pkts),
	    (double)G(late_max_ns) / 1e3, (double)G(busy_max_ns) / 1e3);
#undef G
}

/* Write the stats line to a temporary file and rename it into place. */
static void
write_stats(struct dir *dirs)
{
	char tmp[4096];
	FILE *f;

	if (opt.stats == NULL)
		return;
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", opt.stats, (long)getpid());
	if ((f = fopen(tmp, "w")) == NULL) {
		fprintf(stderr, "wanem: %s: %s\n", tmp, strerror(errno));
		return;
	}
	fprintf(f, "{\"emu_drops\":%llu,\"uptime_s\":%.3f,\"rate_mbit\":%g,"
	    "\"delay_ms\":%g,\"jitter_ms\":%g,\"loss_pct\":%g,\"queue_bytes\":%llu,"
	    "\"corrupt_every\":%llu,\"slots\":%zu,\"rt\":%s,",
	    (unsigned long long)(atomic_load(&dirs[0].emu_drops) +
	    atomic_load(&dirs[1].emu_drops)), (double)(now_ns() - t_start) / 1e9,
	    opt.rate_bps / 1e6, (double)opt.delay_ns / 1e6, (double)opt.jitter_ns / 1e6,
	    opt.loss * 100, (unsigned long long)opt.queue,
	    (unsigned long long)opt.corrupt, opt.slots, atomic_load(&rt_ok) ? "true" : "false");
	dir_json(f, &dirs[0]);
	fputc(',', f);
	dir_json(f, &dirs[1]);
	fputs("}\n", f);
	if (fclose(f) != 0 || rename(tmp, opt.stats) != 0)
		fprintf(stderr, "wanem: %s: %s\n", opt.stats, strerror(errno));
}

static void
usage(void)
{
	fprintf(stderr, "usage: wanem [--rate MBIT] [--delay MS] [--jitter MS] [--loss PERCENT]\n"
	    "  [--queue BYTES] [--corrupt N] [--seconds N] [--stats FILE] [--pidfile FILE]\n"
	    "  [--netns-a NS] [--netns-b NS] [--tun-a NAME] [--tun-b NAME]\n"
	    "  [--slots N] [--mtu BYTES] [--seed N] [--slack USEC] [--no-rt] [--probe]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "rate", 1, NULL, 'r' }, { "delay", 1, NULL, 'd' },
		{ "jitter", 1, NULL, 'j' }, { "loss", 1, NULL, 'l' },
		{ "queue", 1, NULL, 'q' }, { "corrupt", 1, NULL, 'c' },
		{ "seconds", 1, NULL, 's' }, { "stats", 1, NULL, 'S' },
		{ "pidfile", 1, NULL, 'p' }, { "netns-a", 1, NULL, 'A' },
		{ "netns-b", 1, NULL, 'B' }, { "tun-a", 1, NULL, 'a' },
		{ "tun-b", 1, NULL, 'b' }, { "slots", 1, NULL, 'n' },
		{ "mtu", 1, NULL, 'm' }, { "seed", 1, NULL, 'x' },
		{ "slack", 1, NULL, 'k' }, { "no-rt", 0, NULL, 'R' },
		{ "probe", 0, NULL, 'P' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct dir dirs[2];
	struct timespec ts;
	sigset_t set;
	uint64_t deadline, bdp, inflight, now;
	int c, fd[2], sig, i;
	FILE *f;

	memset(dirs, 0, sizeof(dirs));
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'r': opt.rate_bps = num(optarg, "rate", 0, 100000) * 1e6; break;
		case 'd': opt.delay_ns = (uint64_t)(num(optarg, "delay", 0, 10000) * 1e6); break;
		case 'j': opt.jitter_ns = (uint64_t)(num(optarg, "jitter", 0, 10000) * 1e6); break;
		case 'l': opt.loss = num(optarg, "loss", 0, 100) / 100; break;
		case 'q': opt.queue = (uint64_t)num(optarg, "queue", 1500, 1e10); break;
		case 'c': opt.corrupt = (uint64_t)num(optarg, "corrupt", 0, 1e12); break;
		case 's': opt.seconds = (long)num(optarg, "seconds", 1, 86400); break;
		case 'S': opt.stats = optarg; break;
		case 'p': opt.pidfile = optarg; break;
		case 'A': opt.netns[0] = optarg; break;
		case 'B': opt.netns[1] = optarg; break;
		case 'a': opt.tun[0] = optarg; break;
		case 'b': opt.tun[1] = optarg; break;
		case 'n': opt.slots = (size_t)num(optarg, "slots", 16, SLOTS_MAX); break;
		case 'm': opt.mtu = (unsigned)num(optarg, "mtu", 576, 65535); break;
		case 'x': opt.seed = (uint64_t)num(optarg, "seed", 1, 1e18); break;
		case 'k': opt.slack_ns = (uint64_t)(num(optarg, "slack", 0, 10000) * 1e3); break;
		case 'R': opt.rt = 0; break;
		case 'P': opt.probe = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	/* 2^64 * p, computed so that p == 1 does not overflow. */
	opt.loss_cut = opt.loss <= 0 ? 0 : opt.loss >= 1 ? UINT64_MAX :
	    (uint64_t)(opt.loss * 18446744073709549568.0);
	bdp = (uint64_t)(opt.rate_bps * 2 * (double)opt.delay_ns / 8e9);
	if (opt.queue == 0)
		opt.queue = bdp > 32 * (uint64_t)opt.mtu ? bdp : 32 * (uint64_t)opt.mtu;
	if (opt.slots == 0) {
		/* Room for 4x the packets of the largest flight plus the queue, at
		 * full size; small packets (ACKs) are what the factor is for.  An
		 * unlimited link is sized as if it were 2 Gbit/s. */
		inflight = (uint64_t)((opt.rate_bps > 0 ? opt.rate_bps : 2e9) / 8e9 *
		    (double)(opt.delay_ns + opt.jitter_ns)) + (opt.rate_bps > 0 ? opt.queue : 0);
		opt.slots = 4 * (inflight / opt.mtu) + 1024;
		opt.slots = opt.slots < SLOTS_MIN ? SLOTS_MIN :
		    opt.slots > SLOTS_MAX ? SLOTS_MAX : opt.slots;
	}
	opt.slot_size = (opt.mtu + 64) & ~(size_t)63;
	if (opt.seed == 0 && getrandom(&opt.seed, sizeof(opt.seed), 0) != sizeof(opt.seed))
		opt.seed = now_ns();

	/* Signals go to main only; SIGALRM keeps its default action as a
	 * backstop should an orderly stop ever hang. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		die("sigmask");
	t_start = now_ns();
	deadline = t_start + (uint64_t)opt.seconds * NSEC;
	alarm((unsigned)opt.seconds + 10);

	fd[0] = tun_open(opt.netns[0], opt.tun[0]);
	fd[1] = tun_open(opt.netns[1], opt.tun[1]);
	if (opt.probe)		/* --probe: can we create the devices? */
		return 0;
	dir_init(&dirs[0], "ab", fd[0], fd[1], opt.seed);
	dir_init(&dirs[1], "ba", fd[1], fd[0], opt.seed * 0x9e3779b97f4a7c15ULL);
	for (i = 0; i < 2; i++) {
		if ((errno = pthread_create(&dirs[i].thread, NULL, run, &dirs[i])) != 0)
			die("pthread_create");
		dirs[i].started = 1;
	}
	if (opt.pidfile != NULL) {
		if ((f = fopen(opt.pidfile, "w")) == NULL)
			die(opt.pidfile);
		fprintf(f, "%ld\n", (long)getpid());
		if (fclose(f) != 0)
			die(opt.pidfile);
	}

	while (!atomic_load(&stop) && (now = now_ns()) < deadline) {
		/* Wake at least every 100 ms to notice a thread that gave up. */
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(deadline - now < NSEC / 10 ? deadline - now : NSEC / 10);
		sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGUSR1)
			write_stats(dirs);
		else if (sig > 0)
			break;
	}
	c = atomic_exchange(&stop, 1);	/* 1: a thread stopped on an error */
	for (i = 0; i < 2; i++) {
		if (dirs[i].started)
			pthread_join(dirs[i].thread, NULL);
	}
	write_stats(dirs);
	if (opt.pidfile != NULL)
		unlink(opt.pidfile);
	for (i = 0; i < 2; i++) {
		close(fd[i]);
		free(dirs[i].ring);
		free(dirs[i].mem);
	}
	return c ? 1 : 0;
}
