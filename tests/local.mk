# Tests: unit (C, TAP), fuzz corpus replay (C, TAP), integration (shell, TAP).
EXTRA_DIST += tests/integration/lib.sh
include tests/unit/local.mk
include tests/fuzz/local.mk
include tests/integration/local.mk
EXTRA_DIST += tests/demo.sh
