"""S3 buckets: public access blocked, encrypted, TLS only, no ACLs, incomplete uploads aborted, never force-destroyed.

Each bucket's secure settings live in companion resources (pulumi-aws 7 splits them out of
``Bucket``): resource rules check each companion's content, stack rules check that every bucket
has each companion at all (removing one is as insecure as flipping it).
"""

from __future__ import annotations

from pulumi_policy import (
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._common import StackCheck, attached, is_true, items, listing, mapping, number, of_type, resource_policy
from ._documents import denies_insecure_transport, public_allows

BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LIFECYCLE = (
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
)
ACLS = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
BLOCKS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
SSE_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")


def _all_blocks(args: ResourceValidationArgs, report: ReportViolation) -> None:
    off = [flag for flag in BLOCKS if not is_true(args.props.get(flag))]
    if off:
        report(
            f"Public access block '{args.name}' leaves {listing(off)} off; set all four of {listing(BLOCKS)} to True.",
            None,
        )


def _encryption(args: ResourceValidationArgs, report: ReportViolation) -> None:
    algorithms = [
        mapping(rule.get("applyServerSideEncryptionByDefault")).get("sseAlgorithm")
        for rule in items(args.props.get("rules"))
    ]
    if not any(a in SSE_ALGORITHMS for a in algorithms):
        report(
            f"Bucket encryption '{args.name}' sets no default encryption (sseAlgorithm: "
            f"{listing(algorithms) or 'none'}); set apply_server_side_encryption_by_default.sse_algorithm "
            f"to one of {listing(SSE_ALGORITHMS)}.",
            None,
        )


def _owner_enforced(args: ResourceValidationArgs, report: ReportViolation) -> None:
    ownership = mapping(args.props.get("rule")).get("objectOwnership")
    if ownership != "BucketOwnerEnforced":
        report(
            f"Bucket ownership controls '{args.name}' set objectOwnership={ownership!r}, which keeps ACLs working; "
            "set rule.object_ownership='BucketOwnerEnforced'.",
            None,
        )


def _no_acls(args: ResourceValidationArgs, report: ReportViolation) -> None:
    acl = args.props.get("acl")
    grants = items(args.props.get("grants")) or items(mapping(args.props.get("accessControlPolicy")).get("grants"))
    if (acl and acl != "private") or grants:
        shown = f"acl={acl!r}" if acl and acl != "private" else f"{len(grants)} ACL grants"
        report(
            f"{args.resource_type} '{args.name}' grants access through ACLs ({shown}); leave ACLs unset "
            "(BucketOwnerEnforced disables them) and grant access in the bucket policy.",
            None,
        )


def _force_destroy(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if is_true(args.props.get("forceDestroy")):
        report(
            f"Bucket '{args.name}' sets forceDestroy=true, so deleting it deletes every object; "
            "set force_destroy=False.",
            None,
        )


def _tls_only(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in BUCKETS and not args.props.get("policy"):
        return
    if not denies_insecure_transport(args.props.get("policy"), "s3"):
        report(
            f"Bucket policy '{args.name}' does not deny requests without TLS; add a Deny of s3:* to Principal '*' "
            "on the bucket and its objects when aws:SecureTransport is false.",
            None,
        )


def _not_public(args: ResourceValidationArgs, report: ReportViolation) -> None:
    public = public_allows(args.props.get("policy"))
    if public:
        report(
            f"Bucket policy '{args.name}' allows everyone (Principal '*') in statements {listing(public)} "
            "without a condition; name the principals that need access.",
            None,
        )


def _companion(types: tuple[str, ...], what: str, fix: str, prop: str = "bucket") -> StackCheck:
    """A stack check that every bucket has a ``types`` resource attached through ``prop``."""

    def check(args: StackValidationArgs, report: ReportViolation) -> None:
        companions = of_type(args.resources, *types)
        for bucket in of_type(args.resources, *BUCKETS):
            if not attached(bucket, companions, prop, "id", "bucket") and not _inline(bucket, types):
                report(f"Bucket '{bucket.name}' has no {what}; {fix}.", bucket.urn)

    return check


def _inline(bucket: PolicyResource, types: tuple[str, ...]) -> bool:
    """A bucket policy may also be set inline on the bucket (deprecated, still valid)."""
    return types == (POLICY,) and bool(bucket.props.get("policy"))


def _abort_uploads(args: StackValidationArgs, report: ReportViolation) -> None:
    maximum = args.get_config()["maximumDays"]
    lifecycles = of_type(args.resources, *LIFECYCLE)
    for bucket in of_type(args.resources, *BUCKETS):
        days = [
            mapping(rule.get("abortIncompleteMultipartUpload")).get("daysAfterInitiation")
            for lifecycle in attached(bucket, lifecycles, "bucket", "id", "bucket")
            for rule in items(lifecycle.props.get("rules"))
            if rule.get("status") == "Enabled"
        ]
        if not any(d is not None and 0 < d <= maximum for d in days):
            report(
                f"Bucket '{bucket.name}' keeps incomplete multipart uploads (abort after: "
                f"{listing(number(d) for d in days if d is not None) or 'never'}); add an enabled lifecycle rule "
                f"with abort_incomplete_multipart_upload.days_after_initiation of at most {number(maximum)}.",
                bucket.urn,
            )


def _stack(name: str, description: str, check: StackCheck) -> StackValidationPolicy:
    return StackValidationPolicy(name=name, description=description, validate=check)


POLICIES: list[Policy] = [
    resource_policy(
        "aws-s3-bucketpublicaccessblock-enable-all-blocks",
        "S3 public access blocks must turn on all four blocks.",
        [PUBLIC_ACCESS_BLOCK],
        _all_blocks,
    ),
    resource_policy(
        "aws-s3-bucketserversideencryptionconfiguration-require-encryption",
        "S3 bucket encryption configurations must set a default encryption algorithm.",
        ENCRYPTION,
        _encryption,
    ),
    resource_policy(
        "aws-s3-bucketownershipcontrols-require-bucket-owner-enforced",
        "S3 buckets must disable ACLs (object ownership BucketOwnerEnforced).",
        [OWNERSHIP],
        _owner_enforced,
    ),
    resource_policy(
        "aws-s3-bucket-disallow-acls",
        "S3 buckets must not grant access through ACLs.",
        [*BUCKETS, *ACLS],
        _no_acls,
    ),
    resource_policy(
        "aws-s3-bucket-disallow-force-destroy",
        "S3 buckets must not be deletable with their objects.",
        BUCKETS,
        _force_destroy,
    ),
    resource_policy(
        "aws-s3-bucketpolicy-require-tls-only",
        "S3 bucket policies must deny requests made without TLS.",
        [POLICY, *BUCKETS],
        _tls_only,
    ),
    resource_policy(
        "aws-s3-bucketpolicy-disallow-public-principal",
        "S3 bucket policies must not allow everyone without a condition.",
        [POLICY, *BUCKETS],
        _not_public,
    ),
    _stack(
        "aws-s3-bucket-require-public-access-block",
        "Every S3 bucket must have a public access block.",
        _companion((PUBLIC_ACCESS_BLOCK,), "public access block", "add an aws.s3.BucketPublicAccessBlock for it"),
    ),
    _stack(
        "aws-s3-bucket-require-encryption-configuration",
        "Every S3 bucket must declare its default encryption.",
        _companion(ENCRYPTION, "encryption configuration", "add an aws.s3.BucketServerSideEncryptionConfiguration"),
    ),
    _stack(
        "aws-s3-bucket-require-ownership-controls",
        "Every S3 bucket must declare BucketOwnerEnforced ownership controls.",
        _companion((OWNERSHIP,), "ownership controls", "add an aws.s3.BucketOwnershipControls (BucketOwnerEnforced)"),
    ),
    _stack(
        "aws-s3-bucket-require-tls-only-policy",
        "Every S3 bucket must have a bucket policy (which must deny requests without TLS).",
        _companion((POLICY,), "bucket policy", "add an aws.s3.BucketPolicy that denies aws:SecureTransport=false"),
    ),
    StackValidationPolicy(
        name="aws-s3-bucket-require-abort-incomplete-uploads",
        description="Every S3 bucket must abort incomplete multipart uploads through a lifecycle rule.",
        validate=_abort_uploads,
        config_schema=PolicyConfigSchema(
            properties={"maximumDays": {"type": "integer", "minimum": 1, "maximum": 365, "default": 7}}
        ),
    ),
]
