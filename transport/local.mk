# transport/: arrives with its issue (pre-flight rules; multi-stream transport).
EXTRA_DIST += transport/README.md
