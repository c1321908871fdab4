"""The scaleplan Pulumi program: one phase of the scaling plan as AWS, Cloudflare and Kubernetes resources.

Importing it changes nothing about how Python loads modules: ``pulumi up`` (``infra/__main__.py``)
and the policy packs the CLI starts load the provider SDKs exactly as Pulumi does. Only the
offline plan (``infra/plan/__main__.py``) and the tests (``tests/conftest.py``) install the
lazy SDK loader of :mod:`infra.plan.lazy_sdk`, from their own entry points.
"""
