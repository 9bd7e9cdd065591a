/*
 * ferryd - the Ferry site gateway.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include "config.h"
#include "gateway.h"
#include "domain.h"

#define DEFAULT_CONF FY_SYSCONFDIR "/ferry/ferryd.conf"
#define HOUSEKEEPING_MS 30000

static int sigpipe_fds[2] = { -1, -1 };
static struct site site;
static pthread_mutex_t conns_mtx = PTHREAD_MUTEX_INITIALIZER;

static void
usage(void)
{
	fprintf(stderr, "usage: ferryd [-dnTh] [-f file]\n");
	exit(1);
}

/*
 * Detach, but let the parent wait until the child is serving (or has
 * failed), so `ferryd` exits non-zero with the reason on stderr when it
 * cannot start.  Returns the pipe end the child reports on, or -1 under -d.
 */
static int
detach(void)
{
	char buf[512];
	ssize_t n;
	int p[2], fd;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0) {
		perror("ferryd: pipe");
		exit(1);
	}
	if ((pid = fork()) < 0) {
		perror("ferryd: fork");
		exit(1);
	}
	if (pid > 0) {
		close(p[1]);
		n = read(p[0], buf, sizeof(buf) - 1);
		if (n > 0 && buf[0] == '+')
			_exit(0);
		buf[n > 0 ? n : 0] = '\0';
		fprintf(stderr, "ferryd: %s\n", n > 1 ? buf + 1 : "exited during start-up");
		_exit(1);
	}
	close(p[0]);
	if (setsid() < 0 || chdir("/") != 0)
		exit(1);
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return p[1];
}

static void
started(int fd, const char *failure)
{
	char buf[512];
	int n;

	if (fd < 0)
		return;
	n = snprintf(buf, sizeof(buf), "%c%s", failure ? '-' : '+', failure ? failure : "");
	(void)!write(fd, buf, (size_t)n);
	close(fd);
}

static void
on_signal(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;

	(void)!write(sigpipe_fds[1], &c, 1);
	errno = saved;
}

static int
tcp_listen(const char *hostport, int *out)
{
	struct addrinfo hints, *res = NULL;
	char host[256], port[16];
	int fd = -1, one = 1, e;

	*out = -1;
	if (fy_split_hostport(hostport, host, sizeof(host), port, sizeof(port)) != 0)
		return FY_ERR_CONFIG;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0) {
		log_warnx("listen %s: %s", hostport, gai_strerror(e));
		return FY_ERR_CONFIG;
	}
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0) {
		log_warn("listen %s", hostport);
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return FY_ERR_SYSTEM;
	}
	freeaddrinfo(res);
	*out = fd;
	return 0;
}

static int
write_pidfile(const char *path)
{
	char buf[32], dir[PATH_MAX], *slash;
	struct fy_buf *b = NULL;
	long long pid;
	int n;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (fy_mkdir_p(dir, 0755) != 0)
			return FY_ERR_IO;
	}
	if (fy_read_file(path, 64, &b) == 0) {
		char tmp[64];
		snprintf(tmp, sizeof(tmp), "%.*s", (int)fy_buf_len(b), (const char *)fy_buf_ptr(b));
		tmp[strcspn(tmp, "\n")] = '\0';
		fy_buf_free(b);
		if (fy_parse_int(tmp, 1, INT_MAX, &pid) == 0 && kill((pid_t)pid, 0) == 0 &&
		    (pid_t)pid != getpid()) {
			log_warnx("ferryd is already running as pid %lld (%s)", pid, path);
			return FY_ERR_EXISTS;
		}
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	return fy_write_file_atomic(path, buf, (size_t)n, 0644);
}

struct conn_arg {
	int fd;
	int admin;
	char addr[80];
};

static void *
conn_thread(void *arg)
{
	struct conn_arg *a = arg;

	if (a->admin)
		admin_serve_conn(&site, a->fd);
	else
		fed_serve_conn(&site, a->fd, a->addr);
	free(a);
	pthread_mutex_lock(&conns_mtx);
	site.nconns--;
	pthread_mutex_unlock(&conns_mtx);
	return NULL;
}

static void
accept_one(int lfd, int admin)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct conn_arg *a;
	pthread_attr_t attr;
	pthread_t t;
	char host[64] = "local";
	int fd, busy;

	if ((fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC)) < 0) {
		if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
	if (!admin) {
		char port[8];
		if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host) - 8, port, sizeof(port),
		    NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
			size_t hl = strlen(host);
			snprintf(host + hl, sizeof(host) - hl, ":%s", port);
		}
	}
	pthread_mutex_lock(&conns_mtx);
	busy = site.nconns >= site.conf.max_connections + (admin ? 8 : 0);
	if (!busy)
		site.nconns++;
	pthread_mutex_unlock(&conns_mtx);
	if (busy) {
		log_warnx("%s: refused, %lld connections already", host, site.conf.max_connections);
		close(fd);
		return;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		goto fail;
	a->fd = fd;
	a->admin = admin;
	snprintf(a->addr, sizeof(a->addr), "%s", host);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, conn_thread, a) != 0) {
		pthread_attr_destroy(&attr);
		free(a);
		goto fail;
	}
	pthread_attr_destroy(&attr);
	return;
fail:
	close(fd);
	pthread_mutex_lock(&conns_mtx);
	site.nconns--;
	pthread_mutex_unlock(&conns_mtx);
}

/*
 * A string setting changed by a reload: the new value is swapped in and
 * the old one kept until exit, since readers may still hold it (a
 * session's configuration, the acceptor's, point at the running value).
 * A few bytes per change.
 */
static char **retired;
static size_t nretired;

static void
swap_str(char **running, char **fresh)
{
	char **r;

	if (strcmp(*running, *fresh) == 0)
		return;
	if ((r = reallocarray(retired, nretired + 1, sizeof(*r))) == NULL) {
		log_warnx("reload: out of memory; the old value is kept");
		return;
	}
	retired = r;
	retired[nretired++] = *running;
	*running = *fresh;
	*fresh = NULL;
}

static void
reload(const char *file)
{
	struct fy_conf nc;
	char err[512];

	if (fy_conf_load(file, &nc, err, sizeof(err)) != 0) {
		log_err("reload refused, keeping the running configuration: %s", err);
		return;
	}
	if (strcmp(nc.site_name, site.conf.site_name) != 0 || strcmp(nc.listen, site.conf.listen) != 0 ||
	    strcmp(nc.state_dir, site.conf.state_dir) != 0 ||
	    strcmp(nc.admin_socket, site.conf.admin_socket) != 0 ||
	    strcmp(nc.admin_group, site.conf.admin_group) != 0 ||
	    strcmp(nc.advertise, site.conf.advertise) != 0 || strcmp(nc.pidfile, site.conf.pidfile) != 0)
		log_warnx("reload: site_name, listen, advertise, state_dir, admin_socket, admin_group "
		    "and pidfile changes take effect at the next start");
	/* The domain driver was built from these at start. */
	if (strcmp(nc.domain, site.conf.domain) != 0 || strcmp(nc.qemu_binary, site.conf.qemu_binary) != 0 ||
	    strcmp(nc.qemu_img, site.conf.qemu_img) != 0 ||
	    strcmp(nc.qemu_datastores, site.conf.qemu_datastores) != 0 ||
	    strcmp(nc.qemu_networks, site.conf.qemu_networks) != 0 ||
	    strcmp(nc.vc_url, site.conf.vc_url) != 0 || strcmp(nc.vc_thumbprint, site.conf.vc_thumbprint) != 0 ||
	    strcmp(nc.vc_credentials, site.conf.vc_credentials) != 0)
		log_warnx("reload: domain, qemu_* and vcenter_url, _thumbprint and _credentials changes take "
		    "effect at the next start");
	/* Scalars are read without locks; each is a single aligned word. */
	site.conf.log_level = nc.log_level;
	fy_log_set_level(nc.log_level);
	site.conf.token_lifetime = nc.token_lifetime;
	site.conf.clock_skew = nc.clock_skew;
	site.conf.invite_ttl = nc.invite_ttl;
	site.conf.pair_max_attempts = nc.pair_max_attempts;
	site.conf.rotate_overlap = nc.rotate_overlap;
	site.conf.max_message = nc.max_message;
	site.conf.max_depth = nc.max_depth;
	site.conf.io_timeout = nc.io_timeout;
	site.conf.connect_timeout = nc.connect_timeout;
	site.conf.max_connections = nc.max_connections;
	site.conf.tp_streams_min = nc.tp_streams_min;
	site.conf.tp_streams_max = nc.tp_streams_max;
	site.conf.tp_chunk_size = nc.tp_chunk_size;
	site.conf.tp_window = nc.tp_window;
	site.conf.tp_rate_limit = nc.tp_rate_limit;
	site.conf.tp_stream_timeout = nc.tp_stream_timeout;
	site.conf.tp_dead_timeout = nc.tp_dead_timeout;
	site.conf.tp_link_rate = nc.tp_link_rate;
	site.conf.tp_keep_idle = nc.tp_keep_idle;	/* 0: the next sweep closes the kept sessions */
	swap_str(&site.conf.tp_compress, &nc.tp_compress);
	swap_str(&site.conf.tp_congestion, &nc.tp_congestion);
	/* Read by each job as it starts its passes. */
	site.conf.mig_downtime_ms = nc.mig_downtime_ms;
	site.conf.mig_deadline = nc.mig_deadline;
	site.conf.mig_stall_passes = nc.mig_stall_passes;
	site.conf.mig_throttle_max = nc.mig_throttle_max;
	site.conf.mig_multifd = nc.mig_multifd;
	swap_str(&site.conf.mig_escalate, &nc.mig_escalate);
	site.conf.vc_timeout = nc.vc_timeout;	/* per vCenter call */
	fy_conf_free(&nc);
	log_info("configuration reloaded from %s", file);
}

int
main(int argc, char *argv[])
{
	const char *file = DEFAULT_CONF;
	struct fy_conf conf;
	struct pollfd pfd[3];
	struct sigaction sa;
	char err[512], absfile[PATH_MAX];
	int ch, debug = 0, check = 0, dump = 0, lfd = -1, afd = -1, running = 1, i, r, ready = -1;
	int64_t last_hk = 0;

	while ((ch = getopt(argc, argv, "df:nTh")) != -1) {
		switch (ch) {
		case 'd': debug = 1; break;
		case 'f': file = optarg; break;
		case 'n': check = 1; break;
		case 'T': dump = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	/*
	 * The transport allocates and frees its 1-4 MiB chunk buffers hundreds
	 * of times a second.  From the heap, and kept there, they cost nothing;
	 * by mmap and munmap (or a heap trimmed after each) every one costs
	 * page faults, zeroed pages and TLB shootdowns: a fifth of the
	 * gateway's CPU during a migration, measured.  What stays is bounded
	 * by the transport's windows.
	 */
	(void)mallopt(M_MMAP_THRESHOLD, 8 << 20);
	(void)mallopt(M_TRIM_THRESHOLD, 64 << 20);
	fy_log_init("ferryd", 1, FY_LOG_INFO);
	if (fy_conf_load(file, &conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (check || dump) {
		if (dump)
			fy_cfg_dump(fy_conf_table, fy_conf_table_len, &conf, stdout);
		fy_conf_free(&conf);
		return 0;
	}
	/* SIGHUP re-reads the file after we chdir("/"): keep its absolute path. */
	if (realpath(file, absfile) != NULL)
		file = absfile;
	if (!debug)
		ready = detach();
	fy_log_init("ferryd", debug, conf.log_level);
	if (pipe2(sigpipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
		log_warn("pipe");
		started(ready, "cannot create a pipe");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((r = site_init(&site, &conf)) != 0) {
		snprintf(err, sizeof(err), "cannot start: %s (state_dir %s)", fy_strerror(r), site.conf.state_dir);
		log_err("%s", err);
		started(ready, err);
		return 1;
	}
	if ((r = data_init(&site)) != 0) {
		started(ready, "cannot start the transport");
		return 1;
	}
	if ((r = write_pidfile(site.conf.pidfile)) != 0) {
		snprintf(err, sizeof(err), r == FY_ERR_EXISTS ? "already running (pidfile %s)" :
		    "cannot write pidfile %s", site.conf.pidfile);
		log_err("%s", err);
		started(ready, err);
		return 1;
	}
	if ((r = tcp_listen(site.conf.listen, &lfd)) != 0 || (r = admin_listen(&site, &afd)) != 0) {
		snprintf(err, sizeof(err), "cannot listen on %s or %s: %s", site.conf.listen,
		    site.conf.admin_socket, fy_strerror(r));
		log_err("%s", err);
		started(ready, err);
		(void)unlink(site.conf.pidfile);
		return 1;
	}
	{
		struct fy_error e = { 0, "" };
		/* VMs left running by a previous ferryd are re-attached, then jobs recovered. */
		if (domain_init(&site, &site.dom, &e) != 0 || jobs_init(&site, &e) != 0) {
			snprintf(err, sizeof(err), "cannot start the %s domain: %s", site.conf.domain, e.msg);
			log_err("%s", err);
			started(ready, err);
			(void)unlink(site.conf.pidfile);
			return 1;
		}
	}
	{
		struct fy_db *db = NULL;
		if (site_open_db(&site, &db) == 0)
			(void)trust_audit(db, "ferryd", NULL, "start", "ok", "listening on %s", site.conf.listen);
		fy_db_close(db);
	}
	log_info("ferryd %s listening on %s, admin socket %s", PACKAGE_VERSION, site.conf.listen,
	    site.conf.admin_socket);
	started(ready, NULL);
	while (running) {
		pfd[0].fd = sigpipe_fds[0];
		pfd[1].fd = lfd;
		pfd[2].fd = afd;
		for (i = 0; i < 3; i++) {
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		if (poll(pfd, 3, 1000) < 0 && errno != EINTR) {
			log_warn("poll");
			break;
		}
		if (pfd[0].revents & POLLIN) {
			unsigned char c;
			while (read(sigpipe_fds[0], &c, 1) == 1) {
				if (c == SIGHUP)
					reload(file);
				else
					running = 0;
			}
		}
		if (!running)
			break;
		if (pfd[1].revents & POLLIN)
			accept_one(lfd, 0);
		if (pfd[2].revents & POLLIN)
			accept_one(afd, 1);
		if (fy_mono_ms() - last_hk > HOUSEKEEPING_MS) {
			last_hk = fy_mono_ms();
			site_housekeeping(&site);
		}
	}
	log_info("shutting down");
	close(lfd);
	close(afd);
	(void)unlink(site.conf.admin_socket);
	/*
	 * The peers' transport sessions here end now: one a peer keeps open,
	 * idle, for its next job (transport_keep_idle) would hold its streams'
	 * connections past the wait below.
	 */
	data_end_sessions(&site);
	/* Let connections in flight finish, briefly; each has its own timeouts. */
	for (i = 0; i < 50; i++) {
		int n;
		pthread_mutex_lock(&conns_mtx);
		n = site.nconns;
		pthread_mutex_unlock(&conns_mtx);
		if (n == 0)
			break;
		usleep(100 * 1000);
	}
	{
		struct fy_db *db = NULL;
		if (site_open_db(&site, &db) == 0)
			(void)trust_audit(db, "ferryd", NULL, "stop", "ok", "clean shutdown");
		fy_db_close(db);
	}
	jobs_fini(&site);
	data_pool_drop(&site, NULL);
	domain_fini(site.dom);
	site.dom = NULL;
	(void)unlink(site.conf.pidfile);
	if (i == 50)
		_exit(0);	/* threads still hold the site; do not free under them */
	site_fini(&site);
	while (nretired > 0)
		free(retired[--nretired]);
	free(retired);
	return 0;
}
