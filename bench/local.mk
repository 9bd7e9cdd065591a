EXTRA_DIST += bench/README.md bench/handshake.sh bench/transport.sh
