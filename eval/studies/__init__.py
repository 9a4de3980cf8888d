"""One-off studies and calibrations (lab code: nothing in the product or the suites imports them).

Each module's docstring says what it decided and where the result lives: ``fusion_study`` (the default
fusion), ``dense_threshold`` (exact vs HNSW search), ``answer_calibration`` (the retrieval gate's thresholds),
``answer_replay`` (tuning the checks after generation on saved drafts).
"""
