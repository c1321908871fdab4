"""PgBouncer on EKS: pool-size arithmetic, ``pgbouncer.ini`` rendering and the component."""
