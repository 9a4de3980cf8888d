"""The benchmark report: eval/reports/*.json → benchmark.md, PNG plots and the README's benchmark section."""
