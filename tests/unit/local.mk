# unit tests: filled by tests/unit
