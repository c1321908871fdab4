"""The scaleplan Pulumi program: one phase of the scaling plan as AWS, Cloudflare and Kubernetes resources."""

from infra.lazy_sdk import install

# Before any provider SDK is imported, so that every entry point (``pulumi up``, the offline
# plan, the tests, the policy packs) loads only the SDK modules it uses; see infra/lazy_sdk.py.
install()
