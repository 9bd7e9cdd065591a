EXTRA_DIST += bench/README.md bench/handshake.sh bench/transport.sh
EXTRA_DIST += bench/migrate.sh bench/migrate-results.md
