noinst_LIBRARIES += transport/libtransport.a
transport_libtransport_a_SOURCES = transport/transport.h transport/transport-int.h \
	transport/frame.c transport/session.c
transport_libtransport_a_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(XXHASH_CFLAGS) $(ZSTD_CFLAGS) $(LZ4_CFLAGS)
EXTRA_DIST += transport/README.md
