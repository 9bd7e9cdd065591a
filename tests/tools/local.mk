# Test tools: the user-space WAN emulator, its shell helpers and its check.
check_PROGRAMS += tests/tools/wanem
tests_tools_wanem_SOURCES = tests/tools/wanem.c
tests_tools_wanem_CFLAGS = $(AM_CFLAGS)
tests_tools_wanem_LDADD = -lpthread
TESTS += tests/integration/wanem-check.sh
EXTRA_DIST += tests/integration/wanem-check.sh tests/integration/wan.sh bench/wan-profiles.md
