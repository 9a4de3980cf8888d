"""What ``policyrag eval SUITE`` runs: one module per benchmark suite, each writing one JSON under eval/reports/."""
