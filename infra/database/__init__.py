"""The relational data tier: RDS PostgreSQL, its parameters and its connection budget.

Import the component from :mod:`infra.database.component` and the pure sizing functions
from :mod:`infra.database.parameters`; this package imports neither, so the config models
can use the pure functions without pulling in Pulumi.
"""
