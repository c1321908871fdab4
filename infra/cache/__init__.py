"""The in-memory data tier: an ElastiCache replication group (Valkey or Redis OSS).

Import the component from :mod:`infra.cache.component`.
"""
