# Test tools: the user-space WAN emulator, its shell helpers and its check.
check_PROGRAMS += tests/tools/wanem
tests_tools_wanem_SOURCES = tests/tools/wanem.c
tests_tools_wanem_CFLAGS = $(AM_CFLAGS)
tests_tools_wanem_LDADD = -lpthread
TESTS += tests/integration/wanem-check.sh
EXTRA_DIST += tests/integration/wanem-check.sh tests/integration/wan.sh bench/wan-profiles.md

# vimprobe: the vim25 client library (gateway/vim.h) against a vCenter or
# the simulator (tests/integration/vsphere-client.sh).
check_PROGRAMS += tests/tools/vimprobe
tests_tools_vimprobe_SOURCES = tests/tools/vimprobe.c
tests_tools_vimprobe_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS)
tests_tools_vimprobe_LDADD = $(VIM_LIBS) $(FERRY_LIBS)
