"""Reviews of a change: plan diffs between phases or revisions, guardrails, diagrams and charts."""
