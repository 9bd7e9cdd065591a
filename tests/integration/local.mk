# Integration tests: shell scripts driving real ferryd processes (TAP).
INTEGRATION_TESTS = tests/integration/pair.sh tests/integration/pair-bad.sh tests/integration/token-bad.sh \
	tests/integration/limits.sh tests/integration/rotate.sh tests/integration/config.sh \
	tests/integration/admin.sh tests/integration/transport.sh tests/integration/transport-wan.sh tests/integration/guest.sh
INTEGRATION_TESTS += tests/integration/vm.sh
INTEGRATION_TESTS += tests/integration/migrate.sh tests/integration/migrate-wan.sh tests/integration/preflight.sh
INTEGRATION_TESTS += tests/integration/vcsim.sh
INTEGRATION_TESTS += tests/integration/vsphere-client.sh
INTEGRATION_TESTS += tests/integration/preflight-vsphere.sh tests/integration/preflight-dns.sh
INTEGRATION_TESTS += tests/integration/preflight-mixed.sh
INTEGRATION_TESTS += tests/integration/preflight-wan.sh
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS)
