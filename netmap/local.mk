# netmap/: network and datastore maps and the pre-flight rules (pure: facts
# in, findings out; no I/O).  jansson reads the facts and writes the report.
noinst_LIBRARIES += netmap/libnetmap.a
netmap_libnetmap_a_SOURCES = netmap/netmap.h netmap/netmap-int.h netmap/arena.c netmap/fmt.c \
	netmap/map.c netmap/mac.c netmap/matrix.c netmap/catalogue.c netmap/facts.c netmap/link.c \
	netmap/report.c netmap/check.c
netmap_libnetmap_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
EXTRA_DIST += netmap/README.md
