# man pages, mdoc(7); `make check` lints them with mandoc (skipped without it).
dist_man_MANS += man/ferryd.8 man/ferryctl.8 man/ferryd.conf.5
dist_man_MANS += man/ferry-vm.5
# The pre-flight findings catalogue (netmap/): codes, version matrix, facts.
dist_man_MANS += man/ferry-findings.7
TESTS += tests/integration/mandoc-lint.sh
EXTRA_DIST += tests/integration/mandoc-lint.sh
