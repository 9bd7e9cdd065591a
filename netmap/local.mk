# netmap/: arrives with its issue (pre-flight rules; multi-stream transport).
EXTRA_DIST += netmap/README.md
