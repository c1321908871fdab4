"""Cost: the sourced price catalog, the monthly estimate of a phase, and its plan section."""
