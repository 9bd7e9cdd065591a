# fuzz harnesses: filled by tests/fuzz
