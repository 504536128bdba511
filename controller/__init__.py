"""The in-cluster vetting controller: ModelVetting requests -> Jobs -> signed verdicts."""
