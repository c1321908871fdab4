"""The offline plan: the real program under mocks, reported by section (``python -m infra.plan``)."""
