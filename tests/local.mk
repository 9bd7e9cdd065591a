# Tests: unit (C, TAP), fuzz corpus replay (C, TAP), integration (shell, TAP).
EXTRA_DIST += tests/integration/lib.sh tests/integration/vmlib.sh
include tests/unit/local.mk
include tests/fuzz/local.mk
include tests/integration/local.mk
include tests/guest/local.mk
include tests/vcsim/local.mk
EXTRA_DIST += tests/demo.sh

check_PROGRAMS += tests/tools/fedprobe
tests_tools_fedprobe_SOURCES = tests/tools/fedprobe.c
tests_tools_fedprobe_CFLAGS = $(AM_CFLAGS) $(GSOAP_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS) \
	-I$(top_builddir)/gateway
tests_tools_fedprobe_LDADD = $(FERRY_LIBS)

# The transport end to end over loopback with real TLS (TAP).
check_PROGRAMS += tests/tools/tploop-t
TESTS += tests/tools/tploop-t
tests_tools_tploop_t_SOURCES = tests/tools/tploop-t.c
tests_tools_tploop_t_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(XXHASH_CFLAGS)
tests_tools_tploop_t_LDADD = tests/libtap.a transport/libtransport.a trust/libtrust.a common/libcommon.a \
	$(OPENSSL_LIBS) $(SQLITE_LIBS) $(XXHASH_LIBS) $(ZSTD_LIBS) $(LZ4_LIBS) -lpthread
include tests/tools/local.mk
