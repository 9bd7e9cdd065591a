/*
 * guestcheck - check a memory dump of the migration test guest (guest.S).
 *
 *   guestcheck [--start SIZE] [--end SIZE] [--offset SIZE] [--hash-only] DUMP
 *   guestcheck --image IMG [--offset SIZE] [--hash-only] DUMP
 *
 * DUMP is guest physical memory as QEMU's `pmemsave VAL SIZE FILE' writes
 * it; --offset is the guest physical address of its first byte (VAL; default
 * 0, a dump of RAM from address 0).  The dump must cover the range
 * [--start, --end) (defaults 1 MiB, 100 MiB, as mkguest; SIZE as in
 * mkguest: decimal MiB or a number with a k/m/g suffix), or --image takes
 * the range from a guest image's parameter block.
 *
 * Output, on stdout:
 *   sha256 HEX  0xSTART-0xEND        SHA-256 of the range's bytes
 *   OK N pages: 0xAA below 0xEDGE, 0xBB from there     (or "all 0xAA")
 * or, for the first inconsistency, "BAD page 0xADDR: why" and exit 1.
 * The guest's sweep leaves the pages' first bytes reading v+1 below its
 * position and v from there on, mod 256 (v+1 = 0x00 after v = 0xff): so
 * walking the range each first byte equals the previous one or is exactly
 * one less, and the one-less step happens at most once.  The guest writes
 * nothing else, so every other byte of each page must be zero.
 * --hash-only prints only the sha256 line.
 *
 * Exit 0 consistent, 1 inconsistent, 2 usage error or unreadable dump.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/evp.h>

#define PAGE		UINT64_C(4096)
#define KIB		UINT64_C(1024)
#define MIB		(1024 * KIB)
#define GIB		(1024 * MIB)
#define CHUNK		(1 * MIB)	/* read size, a multiple of PAGE */
#define IMG_SIZE	512
#define PARAMS_OFF	0x1c0		/* keep in step with guest.S */
#define PARAMS_MAGIC	"FYGUEST1"

static void
usage(void)
{
	fprintf(stderr, "usage: guestcheck [--start SIZE] [--end SIZE] [--offset SIZE] [--hash-only] DUMP\n"
	    "       guestcheck --image IMG [--offset SIZE] [--hash-only] DUMP\n"
	    "  --start, --end  the guest's range (default 1 MiB, 100 MiB)\n"
	    "  --image IMG     take the range from a guest image made by mkguest\n"
	    "  --offset SIZE   guest address of the dump's first byte (default 0)\n"
	    "  --hash-only     print the range's SHA-256 and do not check it\n"
	    "SIZE: decimal MiB, or a number with a k, m or g suffix (KiB, MiB, GiB).\n");
	exit(2);
}

static void
bad(const char *opt, const char *val, const char *why)
{
	fprintf(stderr, "guestcheck: %s %s: %s\n", opt, val, why);
	exit(2);
}

/* As mkguest's: decimal SIZE in MiB, or with a k/m/g suffix; 0 .. 1 TiB. */
static uint64_t
size_arg(const char *opt, const char *s)
{
	unsigned long long v;
	uint64_t unit = MIB;
	char *end;

	if (*s < '0' || *s > '9')
		bad(opt, s, "not a number (MiB, or a number with a k, m or g suffix)");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end == 'k' || *end == 'K')
		unit = KIB, end++;
	else if (*end == 'm' || *end == 'M')
		unit = MIB, end++;
	else if (*end == 'g' || *end == 'G')
		unit = GIB, end++;
	if (errno != 0 || end == s || *end != '\0')
		bad(opt, s, "not a number (MiB, or a number with a k, m or g suffix)");
	if (v > (1ULL << 40) / unit)
		bad(opt, s, "too large");
	if (v * unit % PAGE != 0)
		bad(opt, s, "not a multiple of 4 KiB");
	return v * unit;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* Read the range from a guest image's parameter block; exits on error. */
static void
image_range(const char *path, uint64_t *start, uint64_t *end)
{
	unsigned char img[IMG_SIZE];
	FILE *f;
	size_t n;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "guestcheck: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	n = fread(img, 1, sizeof(img), f);
	fclose(f);
	if (n != IMG_SIZE || memcmp(img + PARAMS_OFF, PARAMS_MAGIC, 8) != 0) {
		fprintf(stderr, "guestcheck: %s: not a guest image\n", path);
		exit(2);
	}
	*start = get32(img + PARAMS_OFF + 8);
	*end = get32(img + PARAMS_OFF + 12);
}

/*
 * The check's state across pages.  Returns the complaint about the page at
 * addr (first byte v, rest p[1..PAGE-1]) into why, or 0 when it is fine.
 */
struct walk {
	int	 have_prev;
	uint8_t	 prev;
	uint8_t	 first;		/* first byte of the first page */
	uint64_t edge;		/* address of the one-less step, 0 = none */
};

static int
check_page(struct walk *w, uint64_t addr, const unsigned char *p, char *why, size_t len)
{
	static const unsigned char zero[PAGE];
	size_t i;

	if (memcmp(p + 1, zero, PAGE - 1) != 0) {
		for (i = 1; p[i] == 0; i++)
			;
		snprintf(why, len, "byte 0x%03zx is 0x%02x, the guest never writes there",
		    i, p[i]);
		return 1;
	}
	if (!w->have_prev) {
		w->have_prev = 1;
		w->first = w->prev = p[0];
		return 0;
	}
	if (p[0] == w->prev)
		return 0;
	if ((uint8_t)(w->prev - 1) != p[0]) {
		snprintf(why, len, "first byte 0x%02x after 0x%02x on the page before "
		    "(must be equal or one less)", p[0], w->prev);
		return 1;
	}
	if (w->edge != 0) {
		snprintf(why, len, "first byte 0x%02x after 0x%02x: a second sweep edge "
		    "(the first at 0x%08" PRIx64 ")", p[0], w->prev, w->edge);
		return 1;
	}
	w->edge = addr;
	w->prev = p[0];
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "start", 1, NULL, 's' }, { "end", 1, NULL, 'e' },
		{ "offset", 1, NULL, 'O' }, { "image", 1, NULL, 'i' },
		{ "hash-only", 0, NULL, 'H' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	uint64_t start = 1 * MIB, end = 100 * MIB, off = 0, addr, bad_addr = 0;
	int found = 0;
	const char *image = NULL, *dump;
	int c, hash_only = 0, explicit_range = 0;
	unsigned char md[EVP_MAX_MD_SIZE], *buf = NULL;
	unsigned int mdlen = 0, i;
	char why[160], bad_why[160];
	struct walk w;
	struct stat st;
	EVP_MD_CTX *ctx = NULL;
	FILE *f = NULL;
	size_t want, j;
	int rc = 2;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 's': start = size_arg("--start", optarg); explicit_range = 1; break;
		case 'e': end = size_arg("--end", optarg); explicit_range = 1; break;
		case 'O': off = size_arg("--offset", optarg); break;
		case 'i': image = optarg; break;
		case 'H': hash_only = 1; break;
		default: usage();
		}
	}
	if (optind != argc - 1)
		usage();
	dump = argv[optind];
	if (image != NULL) {
		if (explicit_range) {
			fprintf(stderr, "guestcheck: --image and --start/--end exclude each other\n");
			return 2;
		}
		image_range(image, &start, &end);
	}
	if (start >= end || start % PAGE != 0 || end % PAGE != 0) {
		fprintf(stderr, "guestcheck: bad range 0x%" PRIx64 "-0x%" PRIx64
		    " (start < end, both multiples of 4 KiB)\n", start, end);
		return 2;
	}
	if (start < off) {
		fprintf(stderr, "guestcheck: the range starts at 0x%" PRIx64
		    ", below the dump's --offset 0x%" PRIx64 "\n", start, off);
		return 2;
	}

	if ((f = fopen(dump, "rb")) == NULL || fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "guestcheck: %s: %s\n", dump, strerror(errno));
		goto out;
	}
	if ((uint64_t)st.st_size < end - off) {
		fprintf(stderr, "guestcheck: %s: %jd bytes from 0x%" PRIx64
		    " end before the range's end 0x%" PRIx64 "\n", dump,
		    (intmax_t)st.st_size, off, end);
		goto out;
	}
	if (fseeko(f, (off_t)(start - off), SEEK_SET) != 0) {
		fprintf(stderr, "guestcheck: %s: %s\n", dump, strerror(errno));
		goto out;
	}
	if ((buf = malloc(CHUNK)) == NULL || (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		fprintf(stderr, "guestcheck: out of memory\n");
		goto out;
	}

	memset(&w, 0, sizeof(w));
	for (addr = start; addr < end; addr += want) {
		want = end - addr < CHUNK ? (size_t)(end - addr) : CHUNK;
		if (fread(buf, 1, want, f) != want) {
			fprintf(stderr, "guestcheck: %s: short read at 0x%" PRIx64 "\n",
			    dump, addr);
			goto out;
		}
		if (EVP_DigestUpdate(ctx, buf, want) != 1) {
			fprintf(stderr, "guestcheck: SHA-256 failed\n");
			goto out;
		}
		for (j = 0; !hash_only && !found && j < want; j += PAGE) {
			if (check_page(&w, addr + j, buf + j, why, sizeof(why)) != 0) {
				found = 1;
				bad_addr = addr + j;
				memcpy(bad_why, why, sizeof(bad_why));
			}
		}
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
		fprintf(stderr, "guestcheck: SHA-256 failed\n");
		goto out;
	}

	printf("sha256 ");
	for (i = 0; i < mdlen; i++)
		printf("%02x", md[i]);
	printf("  0x%08" PRIx64 "-0x%08" PRIx64 "\n", start, end);
	if (hash_only) {
		rc = 0;
	} else if (found) {
		printf("BAD page 0x%08" PRIx64 ": %s\n", bad_addr, bad_why);
		rc = 1;
	} else if (w.edge != 0) {
		printf("OK %" PRIu64 " pages: 0x%02x below 0x%08" PRIx64 ", 0x%02x from there\n",
		    (end - start) / PAGE, w.first, w.edge, w.prev);
		rc = 0;
	} else {
		printf("OK %" PRIu64 " pages: all 0x%02x\n", (end - start) / PAGE, w.first);
		rc = 0;
	}
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	if (f != NULL)
		fclose(f);
	if (fflush(stdout) != 0 && rc == 0)
		rc = 2;
	return rc;
}
