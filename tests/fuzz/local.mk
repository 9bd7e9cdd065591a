# Fuzz harnesses for the parsers of untrusted input (STYLE.md 15, 21).
#
# Each tests/fuzz/<name>-fuzz.c defines LLVMFuzzerTestOneInput().  In every
# build, `make check` links it with tests/fuzz/replay.c as
# tests/fuzz/<name>-replay and feeds it each file of the committed corpus
# tests/fuzz/corpus/<name>/ (one TAP test per file; with --enable-asan and
# --enable-ubsan the replay runs under the sanitizers).
#
# To fuzz for real (clang with libFuzzer), in a separate build directory:
#
#   mkdir /tmp/fuzz && cd /tmp/fuzz
#   CC=clang SRC/configure --enable-fuzzing && make
#   cp -r SRC/tests/fuzz/corpus/invite /tmp/fuzz/invite-corpus
#   tests/fuzz/invite-fuzz -max_total_time=60 /tmp/fuzz/invite-corpus
#   (likewise token-fuzz and config-fuzz; SRC is the source tree)
#
# (CC=clang ./configure --enable-fuzzing && make && tests/fuzz/invite-fuzz
# tests/fuzz/corpus/invite works in the source tree too.)  libFuzzer adds
# the inputs it finds interesting to the corpus directory it is given: give
# it a scratch copy, and commit only small inputs that add coverage or that
# crashed (crash-*, after the bug is fixed), named for what they are.  The
# fuzzers compile common/ and trust/ themselves so that the code under test
# carries libFuzzer's coverage instrumentation.
#
# tests/fuzz/gen-corpus (make tests/fuzz/gen-corpus) regenerates the seed
# corpora with the real encoders: tests/fuzz/gen-corpus DIR.

FUZZ_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(SQLITE_CFLAGS)
FUZZ_LDADD = tests/libtap.a trust/libtrust.a common/libcommon.a $(OPENSSL_LIBS) $(SQLITE_LIBS)

FUZZ_REPLAYS = tests/fuzz/invite-replay tests/fuzz/token-replay tests/fuzz/config-replay
check_PROGRAMS += $(FUZZ_REPLAYS)
TESTS += $(FUZZ_REPLAYS)

tests_fuzz_invite_replay_SOURCES = tests/fuzz/replay.c tests/fuzz/invite-fuzz.c tests/fuzz/fuzz.h
tests_fuzz_invite_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME='"invite"'
tests_fuzz_invite_replay_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_invite_replay_LDADD = $(FUZZ_LDADD)

tests_fuzz_token_replay_SOURCES = tests/fuzz/replay.c tests/fuzz/token-fuzz.c tests/fuzz/fuzz.h
tests_fuzz_token_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME='"token"'
tests_fuzz_token_replay_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_token_replay_LDADD = $(FUZZ_LDADD)

tests_fuzz_config_replay_SOURCES = tests/fuzz/replay.c tests/fuzz/config-fuzz.c tests/fuzz/fuzz.h
tests_fuzz_config_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME='"config"'
tests_fuzz_config_replay_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_config_replay_LDADD = $(FUZZ_LDADD)

# Corpus generator: built only on request.
EXTRA_PROGRAMS = tests/fuzz/gen-corpus
tests_fuzz_gen_corpus_SOURCES = tests/fuzz/gen-corpus.c
tests_fuzz_gen_corpus_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_gen_corpus_LDADD = trust/libtrust.a common/libcommon.a $(OPENSSL_LIBS) $(SQLITE_LIBS)
CLEANFILES += tests/fuzz/gen-corpus$(EXEEXT)

EXTRA_DIST += tests/fuzz/corpus

if FUZZING
# The library sources again, built with the fuzzer's instrumentation.
FUZZ_LIB_SOURCES = common/common.h common/err.c common/log.c common/buf.c common/enc.c \
	common/util.c common/config.c common/db.c \
	trust/trust.h trust/trust-int.h trust/identity.c trust/tls.c trust/invite.c \
	trust/proof.c trust/token.c trust/store.c trust/audit.c
FUZZ_SAN = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZERS = tests/fuzz/invite-fuzz tests/fuzz/token-fuzz tests/fuzz/config-fuzz
noinst_PROGRAMS = $(FUZZERS)

tests_fuzz_invite_fuzz_SOURCES = tests/fuzz/invite-fuzz.c tests/fuzz/fuzz.h $(FUZZ_LIB_SOURCES)
tests_fuzz_invite_fuzz_CFLAGS = $(FUZZ_CFLAGS) $(FUZZ_SAN)
tests_fuzz_invite_fuzz_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_SAN)
tests_fuzz_invite_fuzz_LDADD = $(OPENSSL_LIBS) $(SQLITE_LIBS)

tests_fuzz_token_fuzz_SOURCES = tests/fuzz/token-fuzz.c tests/fuzz/fuzz.h $(FUZZ_LIB_SOURCES)
tests_fuzz_token_fuzz_CFLAGS = $(FUZZ_CFLAGS) $(FUZZ_SAN)
tests_fuzz_token_fuzz_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_SAN)
tests_fuzz_token_fuzz_LDADD = $(OPENSSL_LIBS) $(SQLITE_LIBS)

tests_fuzz_config_fuzz_SOURCES = tests/fuzz/config-fuzz.c tests/fuzz/fuzz.h $(FUZZ_LIB_SOURCES)
tests_fuzz_config_fuzz_CFLAGS = $(FUZZ_CFLAGS) $(FUZZ_SAN)
tests_fuzz_config_fuzz_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_SAN)
tests_fuzz_config_fuzz_LDADD = $(OPENSSL_LIBS) $(SQLITE_LIBS)
endif

# Transport frames (transport/frame.c, the bytes a peer sends on a data
# stream): tests/fuzz/frame-fuzz, corpus tests/fuzz/corpus/frame/.  Only
# frame.c is needed, so the fuzzer compiles just that with instrumentation.
FRAME_FUZZ_CFLAGS = $(FUZZ_CFLAGS) $(XXHASH_CFLAGS) $(ZSTD_CFLAGS) $(LZ4_CFLAGS)
FRAME_FUZZ_LIBS = $(XXHASH_LIBS) $(ZSTD_LIBS) $(LZ4_LIBS)

FUZZ_REPLAYS += tests/fuzz/frame-replay
tests_fuzz_frame_replay_SOURCES = tests/fuzz/replay.c tests/fuzz/frame-fuzz.c tests/fuzz/fuzz.h
tests_fuzz_frame_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME='"frame"'
tests_fuzz_frame_replay_CFLAGS = $(FRAME_FUZZ_CFLAGS)
tests_fuzz_frame_replay_LDADD = tests/libtap.a transport/libtransport.a common/libcommon.a \
	$(FRAME_FUZZ_LIBS) $(OPENSSL_LIBS) -lpthread

# gen-corpus writes the frame corpus with the real encoders too.
tests_fuzz_gen_corpus_LDADD += transport/libtransport.a $(FRAME_FUZZ_LIBS)

if FUZZING
FUZZERS += tests/fuzz/frame-fuzz
tests_fuzz_frame_fuzz_SOURCES = tests/fuzz/frame-fuzz.c tests/fuzz/fuzz.h \
	transport/transport.h transport/frame.c
tests_fuzz_frame_fuzz_CFLAGS = $(FRAME_FUZZ_CFLAGS) $(FUZZ_SAN)
tests_fuzz_frame_fuzz_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_SAN)
tests_fuzz_frame_fuzz_LDADD = $(FRAME_FUZZ_LIBS)
endif

# The VM spec a peer sends in a migration's Prepare (vm_spec_from_json in
# gateway/dom_qemu.c): tests/fuzz/vmspec-fuzz, corpus tests/fuzz/corpus/vmspec/
# (hand-written JSON: valid specs and near-misses of each rule, named for
# what they are).  The replay links libgateway.a as vmspec-t does
# (tests/unit/local.mk: no gSOAP); the fuzzer compiles
# dom_qemu.c and the little it calls (conf.c: fy_fail, site.c: the site
# database, qmp.c) with the instrumented common/ and trust/.
VMSPEC_FUZZ_CFLAGS = $(FUZZ_CFLAGS) $(JANSSON_CFLAGS)

FUZZ_REPLAYS += tests/fuzz/vmspec-replay
tests_fuzz_vmspec_replay_SOURCES = tests/fuzz/replay.c tests/fuzz/vmspec-fuzz.c tests/fuzz/fuzz.h
tests_fuzz_vmspec_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME='"vmspec"'
tests_fuzz_vmspec_replay_CFLAGS = $(VMSPEC_FUZZ_CFLAGS)
tests_fuzz_vmspec_replay_LDADD = tests/libtap.a $(GATEWAY_UNIT_LDADD)

if FUZZING
FUZZERS += tests/fuzz/vmspec-fuzz
tests_fuzz_vmspec_fuzz_SOURCES = tests/fuzz/vmspec-fuzz.c tests/fuzz/fuzz.h $(FUZZ_LIB_SOURCES) \
	gateway/gateway.h gateway/domain.h gateway/qmp.h gateway/dom_qemu.c gateway/qmp.c \
	gateway/conf.c gateway/site.c
tests_fuzz_vmspec_fuzz_CFLAGS = $(VMSPEC_FUZZ_CFLAGS) $(FUZZ_SAN)
tests_fuzz_vmspec_fuzz_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_SAN)
tests_fuzz_vmspec_fuzz_LDADD = $(OPENSSL_LIBS) $(SQLITE_LIBS) $(JANSSON_LIBS) -lpthread
endif

# Pre-flight facts (netmap_facts_parse in netmap/facts.c, what a domain
# driver or the paired peer reports) and the rules that read them:
# tests/fuzz/facts-fuzz, corpus tests/fuzz/corpus/facts/ (hand-written
# JSON: the vSphere and qemu shapes of ferry-findings(7) and near-misses of
# each bound, named for what they are).  The fuzzer compiles netmap/ and
# common/ with instrumentation.
FACTS_FUZZ_CFLAGS = $(FUZZ_CFLAGS) $(JANSSON_CFLAGS)

FUZZ_REPLAYS += tests/fuzz/facts-replay
tests_fuzz_facts_replay_SOURCES = tests/fuzz/replay.c tests/fuzz/facts-fuzz.c tests/fuzz/fuzz.h
tests_fuzz_facts_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME='"facts"'
tests_fuzz_facts_replay_CFLAGS = $(FACTS_FUZZ_CFLAGS)
tests_fuzz_facts_replay_LDADD = tests/libtap.a netmap/libnetmap.a common/libcommon.a $(JANSSON_LIBS) \
	$(OPENSSL_LIBS) $(SQLITE_LIBS)

if FUZZING
FUZZERS += tests/fuzz/facts-fuzz
tests_fuzz_facts_fuzz_SOURCES = tests/fuzz/facts-fuzz.c tests/fuzz/fuzz.h \
	common/common.h common/err.c common/log.c common/buf.c common/enc.c common/util.c \
	common/config.c common/db.c $(netmap_libnetmap_a_SOURCES)
tests_fuzz_facts_fuzz_CFLAGS = $(FACTS_FUZZ_CFLAGS) $(FUZZ_SAN)
tests_fuzz_facts_fuzz_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_SAN)
tests_fuzz_facts_fuzz_LDADD = $(JANSSON_LIBS) $(OPENSSL_LIBS) $(SQLITE_LIBS)
endif

# The vim25 property reader (vim_parse_reply in gateway/vim.c: a vCenter's
# RetrievePropertiesEx reply to objects, properties and typed values):
# tests/fuzz/vimprop-fuzz, corpus tests/fuzz/corpus/vimprop/.
VIMPROP_FUZZ_CFLAGS = $(FUZZ_CFLAGS) $(GSOAP_CFLAGS) $(JANSSON_CFLAGS) -I$(top_builddir)/gateway
FUZZ_REPLAYS += tests/fuzz/vimprop-replay
tests_fuzz_vimprop_replay_SOURCES = tests/fuzz/replay.c tests/fuzz/vimprop-fuzz.c tests/fuzz/fuzz.h
tests_fuzz_vimprop_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME='"vimprop"'
tests_fuzz_vimprop_replay_CFLAGS = $(VIMPROP_FUZZ_CFLAGS)
tests_fuzz_vimprop_replay_LDADD = tests/libtap.a $(VIM_LIBS) $(FERRY_LIBS)
if FUZZING
FUZZERS += tests/fuzz/vimprop-fuzz
tests_fuzz_vimprop_fuzz_SOURCES = tests/fuzz/vimprop-fuzz.c tests/fuzz/fuzz.h gateway/vim.h gateway/vim.c
tests_fuzz_vimprop_fuzz_CFLAGS = $(VIMPROP_FUZZ_CFLAGS) $(FUZZ_SAN)
tests_fuzz_vimprop_fuzz_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_SAN)
tests_fuzz_vimprop_fuzz_LDADD = gateway/libvimsoap.a $(FERRY_LIBS)
endif
