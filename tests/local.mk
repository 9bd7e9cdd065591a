# Tests: unit (C, TAP), fuzz corpus replay (C, TAP), integration (shell, TAP).
EXTRA_DIST += tests/integration/lib.sh
include tests/unit/local.mk
include tests/fuzz/local.mk
include tests/integration/local.mk
EXTRA_DIST += tests/demo.sh

check_PROGRAMS += tests/tools/fedprobe
tests_tools_fedprobe_SOURCES = tests/tools/fedprobe.c
tests_tools_fedprobe_CFLAGS = $(AM_CFLAGS) $(GSOAP_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS) \
	-I$(top_builddir)/gateway
tests_tools_fedprobe_LDADD = $(FERRY_LIBS)
