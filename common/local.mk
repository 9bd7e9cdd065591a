noinst_LIBRARIES += common/libcommon.a
common_libcommon_a_SOURCES = common/common.h common/err.c common/log.c \
	common/buf.c common/enc.c common/util.c common/config.c common/db.c
common_libcommon_a_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(SQLITE_CFLAGS)
