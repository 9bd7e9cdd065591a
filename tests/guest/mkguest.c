/*
 * mkguest - make a migration test guest image from the assembled boot
 * sector (tests/guest/guest.bin, see guest.S) by patching its parameter
 * block.
 *
 *   mkguest -o OUT [--start SIZE] [--end SIZE] [--mem SIZE] [--spin N]
 *           [--hb-pages N] TEMPLATE
 *
 * SIZE is a decimal number of MiB, or of KiB/MiB/GiB with a k/m/g suffix.
 * The guest increments the first byte of every 4 KiB page in [start, end),
 * spinning --spin times between pages, and prints "HB xxxxxxxx" on COM1
 * every --hb-pages pages.  Rules: start >= 1 MiB (below is the BIOS's),
 * start < end, both multiples of 4 KiB, and end at most 17 MiB below the top
 * of RAM (--mem, the guest's -m; SeaBIOS keeps data in the top 16.2 MiB)
 * and at most 2 GiB - 17 MiB (RAM above 2 GiB may lie beyond the PCI hole on
 * q35).  Defaults: --start 1 --end 100 --mem 128 --spin 10000
 * --hb-pages 256: under TCG on this project's machines that dirties about
 * 50-100 MB/s and beats every 10-20 ms.
 *
 * Exit 0 on success, 1 when the template cannot be read or is not a guest
 * template or OUT cannot be written, 2 on a usage error (the message names
 * the option).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMG_SIZE	512
#define PARAMS_OFF	0x1c0		/* keep in step with guest.S */
#define PARAMS_MAGIC	"FYGUEST1"
#define PAGE		UINT64_C(4096)
#define KIB		UINT64_C(1024)
#define MIB		(1024 * KIB)
#define GIB		(1024 * MIB)
#define BIOS_TOP_RESERVE (17 * MIB)	/* SeaBIOS data: top-16.125 MiB .. top */
#define LOW_LIMIT	(2 * GIB)	/* RAM below the PCI hole on pc and q35 */

#define DEF_START	(1 * MIB)
#define DEF_END		(100 * MIB)
#define DEF_MEM		(128 * MIB)
#define DEF_SPIN	10000
#define DEF_HB_PAGES	256
#define MAX_SPIN	1000000000UL
#define MAX_HB_PAGES	1000000UL

static void
usage(void)
{
	fprintf(stderr, "usage: mkguest -o OUT [--start SIZE] [--end SIZE] [--mem SIZE]\n"
	    "               [--spin N] [--hb-pages N] TEMPLATE\n"
	    "  --start SIZE    first page of the dirtied range (default 1 MiB)\n"
	    "  --end SIZE      end of the range, exclusive (default 100 MiB)\n"
	    "  --mem SIZE      the guest's RAM (-m), to check --end (default 128 MiB)\n"
	    "  --spin N        busy loop iterations between pages (default %d)\n"
	    "  --hb-pages N    pages between heartbeats (default %d)\n"
	    "SIZE: decimal MiB, or a number with a k, m or g suffix (KiB, MiB, GiB).\n",
	    DEF_SPIN, DEF_HB_PAGES);
	exit(2);
}

static void
bad(const char *opt, const char *val, const char *why)
{
	fprintf(stderr, "mkguest: %s %s: %s\n", opt, val, why);
	exit(2);
}

/* Decimal SIZE in MiB, or with a k/m/g suffix; 0 .. 1 TiB. */
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
	return v * unit;
}

static uint32_t
count_arg(const char *opt, const char *s, unsigned long lo, unsigned long hi)
{
	unsigned long v;
	char *end;
	char why[80];

	snprintf(why, sizeof(why), "not a whole number in [%lu, %lu]", lo, hi);
	if (*s < '0' || *s > '9')
		bad(opt, s, why);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		bad(opt, s, why);
	return (uint32_t)v;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", 1, NULL, 'o' }, { "start", 1, NULL, 's' },
		{ "end", 1, NULL, 'e' }, { "mem", 1, NULL, 'm' },
		{ "spin", 1, NULL, 'n' }, { "hb-pages", 1, NULL, 'b' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	const char *out = NULL, *start_s = "1", *end_s = "100", *mem_s = "128";
	uint64_t start = DEF_START, end = DEF_END, mem = DEF_MEM, top;
	uint32_t spin = DEF_SPIN, hb = DEF_HB_PAGES;
	unsigned char img[IMG_SIZE + 1];
	char why[160];
	size_t n;
	FILE *f;
	int c;

	while ((c = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 's': start = size_arg("--start", optarg); start_s = optarg; break;
		case 'e': end = size_arg("--end", optarg); end_s = optarg; break;
		case 'm': mem = size_arg("--mem", optarg); mem_s = optarg; break;
		case 'n': spin = count_arg("--spin", optarg, 0, MAX_SPIN); break;
		case 'b': hb = count_arg("--hb-pages", optarg, 1, MAX_HB_PAGES); break;
		default: usage();
		}
	}
	if (out == NULL || optind != argc - 1)
		usage();

	if (start % PAGE != 0)
		bad("--start", start_s, "not a multiple of 4 KiB");
	if (end % PAGE != 0)
		bad("--end", end_s, "not a multiple of 4 KiB");
	if (mem % MIB != 0 || mem < 32 * MIB)
		bad("--mem", mem_s, "must be whole MiB, at least 32 MiB");
	if (start < 1 * MIB)
		bad("--start", start_s, "below 1 MiB (the BIOS's memory)");
	if (start >= end) {
		snprintf(why, sizeof(why), "must be above --start (%s)", start_s);
		bad("--end", end_s, why);
	}
	top = (mem < LOW_LIMIT ? mem : LOW_LIMIT) - BIOS_TOP_RESERVE;
	if (end > top) {
		snprintf(why, sizeof(why), "beyond guest memory: at most %" PRIu64
		    " MiB with --mem %s (SeaBIOS keeps the top 17 MiB; 2 GiB at most)",
		    top / MIB, mem_s);
		bad("--end", end_s, why);
	}

	if ((f = fopen(argv[optind], "rb")) == NULL) {
		fprintf(stderr, "mkguest: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	n = fread(img, 1, sizeof(img), f);
	fclose(f);
	if (n != IMG_SIZE || img[510] != 0x55 || img[511] != 0xaa ||
	    memcmp(img + PARAMS_OFF, PARAMS_MAGIC, 8) != 0) {
		fprintf(stderr, "mkguest: %s: not a guest template (512 bytes, 0x55aa, "
		    "\"%s\" at 0x%x)\n", argv[optind], PARAMS_MAGIC, PARAMS_OFF);
		return 1;
	}
	put32(img + PARAMS_OFF + 8, (uint32_t)start);
	put32(img + PARAMS_OFF + 12, (uint32_t)end);
	put32(img + PARAMS_OFF + 16, spin);
	put32(img + PARAMS_OFF + 20, hb);
	put32(img + PARAMS_OFF + 24, 0);

	/* Written in place, not through a rename: OUT may be a device or pipe. */
	if ((f = fopen(out, "wb")) == NULL) {
		fprintf(stderr, "mkguest: %s: %s\n", out, strerror(errno));
		return 1;
	}
	n = fwrite(img, 1, IMG_SIZE, f);
	if (fclose(f) != 0 || n != IMG_SIZE) {
		fprintf(stderr, "mkguest: %s: %s\n", out, strerror(errno));
		return 1;
	}
	return 0;
}
