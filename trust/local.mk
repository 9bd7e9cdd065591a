noinst_LIBRARIES += trust/libtrust.a
trust_libtrust_a_SOURCES = trust/trust.h trust/trust-int.h trust/identity.c trust/tls.c \
	trust/invite.c trust/proof.c trust/token.c trust/store.c trust/audit.c
trust_libtrust_a_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(SQLITE_CFLAGS)
