"""The Cloudflare edge: R2 buckets, the media CDN domain, zone TLS settings, cache and rate-limiting rules.

Import the component from :mod:`infra.edge.component`; pure rule builders live in :mod:`infra.edge.rules`.
"""
