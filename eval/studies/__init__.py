"""One-off studies and calibrations: each module says what it decided and where its result lives."""
