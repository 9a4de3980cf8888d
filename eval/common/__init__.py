"""Helpers shared by the suites, the report and the studies: metrics, question sets, STARD gold, timing."""
