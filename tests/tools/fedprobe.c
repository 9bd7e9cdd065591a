/*
 * fedprobe - a test client for the federation API that can misbehave on
 * purpose: present a chosen (replayed, foreign, expired) token, tamper with
 * a pairing proof, send oversized or deeply nested SOAP, or trickle bytes.
 * It uses a site's real identity (its ferryd.conf and state directory) and
 * the same TLS policy as ferryd.  Used by tests/integration only.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/ssl.h>
#include "gateway/gateway.h"
#include "soapH.h"

static struct site site;

static void
usage(void)
{
	fprintf(stderr, "usage: fedprobe -f CONF -e ENDPOINT -p FINGERPRINT COMMAND\n"
	    "  token AUD            print a token from the peer's token service\n"
	    "  hello TOKEN|-        call Hello with that token (- for none)\n"
	    "  join INVITE [bad-proof|bad-secret]  pair, optionally flipping a bit\n"
	    "  raw-big BYTES        POST a body of BYTES bytes\n"
	    "  raw-deep LEVELS      POST XML nested LEVELS deep\n"
	    "  slow SECONDS         trickle one byte a second; report when closed\n");
	exit(2);
}

static int
connect_peer(const char *ep, const char *fp, struct fed_client **c)
{
	uint8_t pin[TRUST_HASH_LEN];
	const uint8_t *pins[1] = { pin };
	struct fy_error err;

	memset(&err, 0, sizeof(err));
	if (trust_fingerprint_parse(fp, pin) != 0) {
		fprintf(stderr, "fedprobe: bad fingerprint\n");
		return 2;
	}
	if (fed_connect(&site, ep, pins, 1, c, &err) != 0) {
		printf("refused: %s: %s\n", fy_errname(err.code), err.msg);
		return 1;
	}
	return 0;
}

static int
report(struct fed_client *c, const char *what)
{
	struct fy_error err;

	memset(&err, 0, sizeof(err));
	fed_client_error(c, what, &err);
	printf("refused: %s: %s\n", fy_errname(err.code), err.msg);
	return 1;
}

static int
raw_post(struct fed_client *c, const char *body, size_t n, int trickle)
{
	SSL *ssl = fed_client_ssl(c);
	char hdr[256], buf[4096];
	int64_t t0 = fy_mono_ms();
	size_t i;
	int hl, r, total = 0;

	hl = snprintf(hdr, sizeof(hdr), "POST /fed HTTP/1.1\r\nHost: peer\r\n"
	    "Content-Type: application/soap+xml; charset=utf-8\r\nContent-Length: %zu\r\n\r\n", n);
	if (SSL_write(ssl, hdr, hl) != hl) {
		printf("closed: after %lld ms, before the body\n", (long long)(fy_mono_ms() - t0));
		return 0;
	}
	if (trickle) {
		for (i = 0; i < n; i++) {
			if (SSL_write(ssl, body + i, 1) != 1)
				break;
			sleep(1);
		}
	} else {
		for (i = 0; i < n; i += (size_t)r) {
			if ((r = SSL_write(ssl, body + i, (int)(n - i > 65536 ? 65536 : n - i))) <= 0)
				break;
		}
	}
	while ((r = SSL_read(ssl, buf, sizeof(buf) - 1)) > 0) {
		buf[r] = '\0';
		if (total == 0) {
			char *e = strstr(buf, "\r\n");
			if (e)
				*e = '\0';
			printf("response: %s\n", buf);
		}
		total += r;
	}
	printf("closed: after %lld ms, %zu of %zu body bytes sent\n", (long long)(fy_mono_ms() - t0),
	    i, n);
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *conf = NULL, *ep = NULL, *fp = NULL;
	struct fy_conf cf;
	struct fed_client *c = NULL;
	struct fy_error err;
	char errbuf[512];
	int ch, rc = 2;

	while ((ch = getopt(argc, argv, "f:e:p:")) != -1) {
		switch (ch) {
		case 'f': conf = optarg; break;
		case 'e': ep = optarg; break;
		case 'p': fp = optarg; break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (conf == NULL || ep == NULL || fp == NULL || argc < 1)
		usage();
	fy_log_init("fedprobe", 1, FY_LOG_ERR);
	signal(SIGPIPE, SIG_IGN);	/* a refused upload shows as a short write */
	if (fy_conf_load(conf, &cf, errbuf, sizeof(errbuf)) != 0) {
		fprintf(stderr, "%s\n", errbuf);
		return 2;
	}
	if (site_init(&site, &cf) != 0)
		return 2;
	memset(&err, 0, sizeof(err));
	if ((rc = connect_peer(ep, fp, &c)) != 0)
		goto out;
	if (strcmp(argv[0], "token") == 0 && argc == 2) {
		struct fy__IssueTokenResponse tr;
		memset(&tr, 0, sizeof(tr));
		if (soap_call_fy__IssueToken(fed_client_soap(c), "http://peer/fed", NULL, argv[1], NULL, &tr)
		    != SOAP_OK) {
			rc = report(c, "the token request");
			goto out;
		}
		printf("%s\n", tr.token);
		rc = 0;
	} else if (strcmp(argv[0], "hello") == 0 && argc == 2) {
		struct SOAP_ENV__Header h;
		struct fy__HelloResponse hr;
		memset(&h, 0, sizeof(h));
		memset(&hr, 0, sizeof(hr));
		if (strcmp(argv[1], "-") != 0) {
			h.fy__Token = argv[1];
			fed_client_soap(c)->header = &h;
		}
		if (soap_call_fy__Hello(fed_client_soap(c), "http://peer/fed", NULL, "probe", fy_now_ms(), &hr)
		    != SOAP_OK) {
			rc = report(c, "hello");
			goto out;
		}
		printf("ok: site=%s protocol=%d\n", hr.site, hr.protocol);
		rc = 0;
	} else if (strcmp(argv[0], "join") == 0 && (argc == 2 || argc == 3)) {
		struct trust_invite iv;
		struct fy__JoinResponse jr;
		uint8_t exp[32], proof[32];
		char idhex[17], sec64[32], proof64[64];
		if (trust_invite_parse(argv[1], strlen(argv[1]), &iv) != 0) {
			fprintf(stderr, "fedprobe: bad invite\n");
			goto out;
		}
		if (trust_tls_exporter(fed_client_ssl(c), "EXPORTER-ferry-pair", exp) != 0 ||
		    trust_proof(iv.secret, "ferry-join", exp, iv.spki,
		    trust_identity_spki(fed_client_keys(c)->id), proof) != 0)
			goto out;
		if (argc == 3 && strcmp(argv[2], "bad-proof") == 0)
			proof[0] ^= 1;
		else if (argc == 3 && strcmp(argv[2], "bad-secret") == 0)
			iv.secret[0] ^= 1;
		else if (argc == 3)
			usage();
		fy_hex_enc(iv.id, sizeof(iv.id), idhex, sizeof(idhex));
		if (fy_b64url_enc(iv.secret, sizeof(iv.secret), sec64, sizeof(sec64)) != 0 ||
		    fy_b64url_enc(proof, sizeof(proof), proof64, sizeof(proof64)) != 0)
			goto out;
		memset(&jr, 0, sizeof(jr));
		if (soap_call_fy__Join(fed_client_soap(c), "http://peer/fed", NULL, idhex, sec64, proof64,
		    site.conf.site_name, (char *)fy_conf_endpoint(&site.conf), &jr) != SOAP_OK) {
			rc = report(c, "the join");
			goto out;
		}
		printf("ok: joined %s\n", jr.site);
		rc = 0;
	} else if ((strcmp(argv[0], "raw-big") == 0 || strcmp(argv[0], "raw-deep") == 0 ||
	    strcmp(argv[0], "slow") == 0) && argc == 2) {
		long long n;
		char *body;
		size_t len = 0, i;
		if (fy_parse_int(argv[1], 1, 256 << 20, &n) != 0)
			usage();
		if ((body = malloc((size_t)n * 16 + 1024)) == NULL)
			goto out;
		if (strcmp(argv[0], "raw-deep") == 0) {
			/* Nesting inside an operation's element. */
			len = (size_t)sprintf(body, "<?xml version=\"1.0\"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="
			    "\"http://www.w3.org/2003/05/soap-envelope\" xmlns:fy=\"urn:ferry:federation:1\">"
			    "<SOAP-ENV:Body><fy:Hello><fy:site>p</fy:site>");
			for (i = 0; i < (size_t)n; i++)
				len += (size_t)sprintf(body + len, "<fy:x>");
			for (i = 0; i < (size_t)n; i++)
				len += (size_t)sprintf(body + len, "</fy:x>");
			len += (size_t)sprintf(body + len, "<fy:clockMs>0</fy:clockMs></fy:Hello></SOAP-ENV:Body>"
			    "</SOAP-ENV:Envelope>");
		} else {
			len = (size_t)n;
			memset(body, 'x', len);
		}
		rc = raw_post(c, body, len, strcmp(argv[0], "slow") == 0);
		free(body);
	} else
		usage();
out:
	fed_client_free(c);
	return rc;
}
