# Unit tests: tests/unit/<module>/<name>-t.c, one main() each, TAP on stdout.
# Each links tests/libtap.a (TAP producer) and tests/unit/libunit.a (temp
# dirs and files) before the libraries under test.

noinst_LIBRARIES += tests/libtap.a tests/unit/libunit.a
tests_libtap_a_SOURCES = tests/tap.c tests/tap.h
tests_libtap_a_CFLAGS = $(AM_CFLAGS)
tests_unit_libunit_a_SOURCES = tests/unit/helpers.c tests/unit/helpers.h
tests_unit_libunit_a_CFLAGS = $(AM_CFLAGS)

UNIT_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(SQLITE_CFLAGS)
UNIT_LDADD = tests/unit/libunit.a tests/libtap.a trust/libtrust.a common/libcommon.a \
	$(OPENSSL_LIBS) $(SQLITE_LIBS)

UNIT_TESTS = \
	tests/unit/common/buf-t \
	tests/unit/common/enc-t \
	tests/unit/common/err-t \
	tests/unit/common/config-t \
	tests/unit/common/util-t \
	tests/unit/trust/token-t \
	tests/unit/trust/invite-t \
	tests/unit/trust/proof-t \
	tests/unit/trust/pin-t \
	tests/unit/trust/store-t \
	tests/unit/trust/audit-t
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

tests_unit_common_buf_t_SOURCES = tests/unit/common/buf-t.c
tests_unit_common_buf_t_CFLAGS = $(UNIT_CFLAGS)
tests_unit_common_buf_t_LDADD = $(UNIT_LDADD)

tests_unit_common_enc_t_SOURCES = tests/unit/common/enc-t.c
tests_unit_common_enc_t_CFLAGS = $(UNIT_CFLAGS)
tests_unit_common_enc_t_LDADD = $(UNIT_LDADD)

tests_unit_common_err_t_SOURCES = tests/unit/common/err-t.c
tests_unit_common_err_t_CFLAGS = $(UNIT_CFLAGS)
tests_unit_common_err_t_LDADD = $(UNIT_LDADD)

tests_unit_common_config_t_SOURCES = tests/unit/common/config-t.c
tests_unit_common_config_t_CFLAGS = $(UNIT_CFLAGS)
tests_unit_common_config_t_LDADD = $(UNIT_LDADD)

tests_unit_common_util_t_SOURCES = tests/unit/common/util-t.c
tests_unit_common_util_t_CFLAGS = $(UNIT_CFLAGS)
tests_unit_common_util_t_LDADD = $(UNIT_LDADD)

tests_unit_trust_token_t_SOURCES = tests/unit/trust/token-t.c
tests_unit_trust_token_t_CFLAGS = $(UNIT_CFLAGS)
tests_unit_trust_token_t_LDADD = $(UNIT_LDADD)

tests_unit_trust_invite_t_SOURCES = tests/unit/trust/invite-t.c
tests_unit_trust_invite_t_CFLAGS = $(UNIT_CFLAGS)
tests_unit_trust_invite_t_LDADD = $(UNIT_LDADD)

tests_unit_trust_proof_t_SOURCES = tests/unit/trust/proof-t.c
tests_unit_trust_proof_t_CFLAGS = $(UNIT_CFLAGS)
tests_unit_trust_proof_t_LDADD = $(UNIT_LDADD)

tests_unit_trust_pin_t_SOURCES = tests/unit/trust/pin-t.c
tests_unit_trust_pin_t_CFLAGS = $(UNIT_CFLAGS)
tests_unit_trust_pin_t_LDADD = $(UNIT_LDADD)

tests_unit_trust_store_t_SOURCES = tests/unit/trust/store-t.c
tests_unit_trust_store_t_CFLAGS = $(UNIT_CFLAGS)
tests_unit_trust_store_t_LDADD = $(UNIT_LDADD) -lpthread

tests_unit_trust_audit_t_SOURCES = tests/unit/trust/audit-t.c
tests_unit_trust_audit_t_CFLAGS = $(UNIT_CFLAGS)
tests_unit_trust_audit_t_LDADD = $(UNIT_LDADD)

# transport/: the pure framing code (frame.c) links libtransport.a and the
# compressors and hash behind it.
UNIT_TESTS += tests/unit/transport/frame-t
TRANSPORT_UNIT_CFLAGS = $(UNIT_CFLAGS) $(XXHASH_CFLAGS) $(ZSTD_CFLAGS) $(LZ4_CFLAGS)
TRANSPORT_UNIT_LDADD = tests/unit/libunit.a tests/libtap.a transport/libtransport.a common/libcommon.a \
	$(XXHASH_LIBS) $(ZSTD_LIBS) $(LZ4_LIBS) $(OPENSSL_LIBS) -lpthread

tests_unit_transport_frame_t_SOURCES = tests/unit/transport/frame-t.c
tests_unit_transport_frame_t_CFLAGS = $(TRANSPORT_UNIT_CFLAGS)
tests_unit_transport_frame_t_LDADD = $(TRANSPORT_UNIT_LDADD)

# gateway/: the VM spec parser (dom_qemu.c), and define through a qemu
# domain on a private state directory.  Links libgateway.a without gSOAP:
# what the domain code pulls in does not use it, and libgsoap.so wants the
# generated code's symbols when it is linked (always so under ASan).
UNIT_TESTS += tests/unit/gateway/vmspec-t
GATEWAY_UNIT_CFLAGS = $(UNIT_CFLAGS) $(JANSSON_CFLAGS)
GATEWAY_UNIT_LDADD = tests/unit/libunit.a tests/libtap.a gateway/libgateway.a transport/libtransport.a \
	trust/libtrust.a common/libcommon.a $(OPENSSL_LIBS) $(SQLITE_LIBS) $(JANSSON_LIBS) \
	$(XXHASH_LIBS) $(ZSTD_LIBS) $(LZ4_LIBS) -lpthread

tests_unit_gateway_vmspec_t_SOURCES = tests/unit/gateway/vmspec-t.c
tests_unit_gateway_vmspec_t_CFLAGS = $(GATEWAY_UNIT_CFLAGS)
tests_unit_gateway_vmspec_t_LDADD = $(GATEWAY_UNIT_LDADD)

# netmap/: maps, the facts reader and the pre-flight rules (pure; jansson
# only).  fixture.c holds the facts the rule and report tests start from.
NETMAP_UNIT_TESTS = tests/unit/netmap/map-t tests/unit/netmap/facts-t \
	tests/unit/netmap/rules-t tests/unit/netmap/report-t
UNIT_TESTS += $(NETMAP_UNIT_TESTS)
NETMAP_UNIT_CFLAGS = $(UNIT_CFLAGS) $(JANSSON_CFLAGS)
NETMAP_UNIT_LDADD = tests/unit/libunit.a tests/libtap.a netmap/libnetmap.a common/libcommon.a \
	$(JANSSON_LIBS) $(OPENSSL_LIBS) $(SQLITE_LIBS)
NETMAP_FIXTURE = tests/unit/netmap/fixture.c tests/unit/netmap/fixture.h

tests_unit_netmap_map_t_SOURCES = tests/unit/netmap/map-t.c
tests_unit_netmap_map_t_CFLAGS = $(NETMAP_UNIT_CFLAGS)
tests_unit_netmap_map_t_LDADD = $(NETMAP_UNIT_LDADD)

tests_unit_netmap_facts_t_SOURCES = tests/unit/netmap/facts-t.c $(NETMAP_FIXTURE)
tests_unit_netmap_facts_t_CFLAGS = $(NETMAP_UNIT_CFLAGS)
tests_unit_netmap_facts_t_LDADD = $(NETMAP_UNIT_LDADD)

tests_unit_netmap_rules_t_SOURCES = tests/unit/netmap/rules-t.c $(NETMAP_FIXTURE)
tests_unit_netmap_rules_t_CFLAGS = $(NETMAP_UNIT_CFLAGS)
tests_unit_netmap_rules_t_LDADD = $(NETMAP_UNIT_LDADD)

tests_unit_netmap_report_t_SOURCES = tests/unit/netmap/report-t.c $(NETMAP_FIXTURE)
tests_unit_netmap_report_t_CFLAGS = $(NETMAP_UNIT_CFLAGS)
tests_unit_netmap_report_t_LDADD = $(NETMAP_UNIT_LDADD)
