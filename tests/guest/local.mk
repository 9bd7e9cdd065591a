# The migration test guest (see tests/guest/guest.S): the boot sector
# template tests/guest/guest.bin, mkguest to patch its parameters and
# guestcheck to verify memory dumps of it.  Built by `make check', never
# installed.  The boot sector is assembled with $(CC) alone, without
# $(AM_CFLAGS)/$(CFLAGS): no sanitizer or optimisation flag belongs in it.
# check_DATA is first set here; move the `=' to Makefile.am when a second
# folder needs it.
check_PROGRAMS += tests/guest/mkguest tests/guest/guestcheck
tests_guest_mkguest_SOURCES = tests/guest/mkguest.c
tests_guest_mkguest_CFLAGS = $(AM_CFLAGS)
tests_guest_guestcheck_SOURCES = tests/guest/guestcheck.c
tests_guest_guestcheck_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_guest_guestcheck_LDADD = $(OPENSSL_LIBS)

check_DATA = tests/guest/guest.bin
EXTRA_DIST += tests/guest/guest.S
CLEANFILES += tests/guest/guest.bin tests/guest/guest.bin.o tests/guest/guest.bin.elf tests/guest/guest.bin.tmp

GUEST_OBJCOPY = objcopy
GUEST_LINK = -nostdlib -static -Wl,-Ttext=0x7c00 -Wl,-e,_start -Wl,--build-id=none

tests/guest/guest.bin: $(top_srcdir)/tests/guest/guest.S
	$(AM_V_GEN)$(MKDIR_P) tests/guest && \
	$(CC) -c -o $@.o $(top_srcdir)/tests/guest/guest.S && \
	$(CC) $(GUEST_LINK) -o $@.elf $@.o && \
	$(GUEST_OBJCOPY) -O binary -j .text $@.elf $@.tmp && \
	test "`wc -c <$@.tmp`" -eq 512 && mv -f $@.tmp $@
