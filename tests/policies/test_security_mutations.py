# ruff: noqa: E501  (a table: one flip per line reads better than wrapped tuples)
"""Flip one secure setting of a captured phase resource at a time and send the result through the
security pack as the CLI would (analyzer protocol): each flip must give exactly the named mandatory
finding, with its message.

The table is the measure of issue 11: every rule of the pack is flipped at least once here, and every
resource type a phase creates is either flipped here or listed, with the reason, under "Deliberately
not enforced" in docs/policy.md (``test_every_created_type_is_guarded_or_documented``).

Speed: one pack process, configured once per phase; every resource mutation is sent ahead (gRPC
futures) before the answers are read, and a stack mutation is one ``AnalyzeStack`` call.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from infra.config import AcceptedRisk, PhaseConfig
from infra.plan.capture import CapturedResource
from infra.policy.config import PolicyConfigError, parse_config
from infra.policy.launch import SECURITY_PACK
from infra.policy.packs import for_phase
from infra.policy.runner import PackPool, PolicyPackProcess, StackContext, resource, to_struct
from infra.policy.settings import ACCEPTED_RISK, WAIVERS, security_policy_config
from tests.conftest import PHASES, ROOT, built_phase, phase_config
from tests.policies.conftest import DELETE, mutate

REMOVE = object()
"""Value for a mutation that removes the whole resource from the stack."""

Edit = Callable[[Any], Any]


@dataclasses.dataclass(frozen=True)
class Flip:
    """Set ``path`` of the captured resource ``name`` (of ``type_``, in ``phase``) to ``value`` and
    expect exactly ``expected``: (policy, message) pairs."""

    phase: str
    type_: str
    name: str
    path: str
    value: object
    expected: tuple[tuple[str, str], ...]

    @property
    def id(self) -> str:
        return f"{self.phase}:{self.name}:{self.path or 'removed'}"


def edit_document(change: Callable[[dict[str, Any]], None]) -> Edit:
    """A value that rewrites a JSON policy document."""

    def apply(text: Any) -> str:
        document = json.loads(text)
        change(document)
        return json.dumps(document)

    return apply


def drop_statement(sid: str) -> Edit:
    return edit_document(lambda d: d.update(Statement=[s for s in d["Statement"] if s.get("Sid") != sid]))


def statement_set(sid: str | int, key: str, value: object) -> Edit:
    def change(document: dict[str, Any]) -> None:
        statements = document["Statement"]
        target = statements[sid] if isinstance(sid, int) else next(s for s in statements if s.get("Sid") == sid)
        if value is DELETE:
            del target[key]
        else:
            target[key] = value

    return edit_document(change)


def _get(node: Any, path: str) -> Any:
    for part in path.split("."):
        node = node[int(part)] if isinstance(node, list) else node.get(part)
    return node


def _mutated(resource: CapturedResource, path: str, value: object) -> CapturedResource:
    def change(props: Mapping[str, Any]) -> dict[str, Any]:
        new = value(_get(props, path)) if callable(value) else value
        return mutate(props, path, new)

    inputs, outputs = change(resource.inputs), change(resource.outputs)
    return dataclasses.replace(resource, inputs=inputs, outputs=outputs, inputs_struct=to_struct(inputs))


G, F = "growth", "foundation"
S3 = "aws:s3/bucket:Bucket"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
SECRET = "aws:secretsmanager/secret:Secret"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
SG = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SUBNET = "aws:ec2/subnet:Subnet"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
RDS = "aws:rds/instance:Instance"
RDS_PARAMETERS = "aws:rds/parameterGroup:ParameterGroup"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
EKS = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
OIDC = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
KEY = "aws:kms/key:Key"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
VAULT = "aws:backup/vault:Vault"
PLAN = "aws:backup/plan:Plan"
ALB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
ZONE_SETTING = "cloudflare:index/zoneSetting:ZoneSetting"
RULESET = "cloudflare:index/ruleset:Ruleset"
R2 = "cloudflare:index/r2Bucket:R2Bucket"
R2_CORS = "cloudflare:index/r2BucketCors:R2BucketCors"
R2_LIFECYCLE = "cloudflare:index/r2BucketLifecycle:R2BucketLifecycle"
R2_DEV = "cloudflare:index/r2ManagedDomain:R2ManagedDomain"
R2_DOMAIN = "cloudflare:index/r2CustomDomain:R2CustomDomain"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
NAMESPACE = "kubernetes:core/v1:Namespace"
SERVICE = "kubernetes:core/v1:Service"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
SECRET_STORE = "kubernetes:external-secrets.io/v1:SecretStore"
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
RELEASE = "kubernetes:helm.sh/v3:Release"
PASSWORD = "random:index/randomPassword:RandomPassword"
POD = "spec.template.spec"
CONTAINER = f"{POD}.containers.0"
CONTEXT = f"{CONTAINER}.securityContext"


def set_parameter(name: str, value: str) -> Edit:
    return lambda parameters: [{**p, "value": value} if p["name"] == name else p for p in parameters]


def set_label(key: str, value: str) -> Edit:
    return lambda labels: {**labels, key: value}


PROTECT = "@protect"
"""Path for a mutation that drops the resource option ``protect``."""

# fmt: off
_RAW: list[tuple[str, str, str, str, object, str, str]] = [
    # (phase, type, logical name, path, insecure value, policy, exact message)
    # -- S3: public access block, encryption, ACLs, TLS-only policy, uploads, deletion ---------------------
    (G, PAB, "alb-access-logs-public-access", "blockPublicAcls", False, "aws-s3-bucketpublicaccessblock-enable-all-blocks", "Public access block 'alb-access-logs-public-access' leaves blockPublicAcls off; set all four of blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets to True."),
    (G, PAB, "alb-access-logs-public-access", "blockPublicPolicy", False, "aws-s3-bucketpublicaccessblock-enable-all-blocks", "Public access block 'alb-access-logs-public-access' leaves blockPublicPolicy off; set all four of blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets to True."),
    (G, PAB, "alb-access-logs-public-access", "ignorePublicAcls", False, "aws-s3-bucketpublicaccessblock-enable-all-blocks", "Public access block 'alb-access-logs-public-access' leaves ignorePublicAcls off; set all four of blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets to True."),
    (G, PAB, "alb-access-logs-public-access", "restrictPublicBuckets", False, "aws-s3-bucketpublicaccessblock-enable-all-blocks", "Public access block 'alb-access-logs-public-access' leaves restrictPublicBuckets off; set all four of blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets to True."),
    (G, PAB, "alb-access-logs-public-access", "", REMOVE, "aws-s3-bucket-require-public-access-block", "Bucket 'alb-access-logs' has no public access block; add an aws.s3.BucketPublicAccessBlock for it."),
    (G, SSE, "alb-access-logs-encryption", "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm", DELETE, "aws-s3-bucketserversideencryptionconfiguration-require-encryption", "Bucket encryption 'alb-access-logs-encryption' sets no default encryption (sseAlgorithm: None); set apply_server_side_encryption_by_default.sse_algorithm to one of AES256, aws:kms, aws:kms:dsse."),
    (G, SSE, "alb-access-logs-encryption", "", REMOVE, "aws-s3-bucket-require-encryption-configuration", "Bucket 'alb-access-logs' has no encryption configuration; add an aws.s3.BucketServerSideEncryptionConfiguration."),
    (G, OWNERSHIP, "alb-access-logs-ownership", "rule.objectOwnership", "ObjectWriter", "aws-s3-bucketownershipcontrols-require-bucket-owner-enforced", "Bucket ownership controls 'alb-access-logs-ownership' set objectOwnership='ObjectWriter', which keeps ACLs working; set rule.object_ownership='BucketOwnerEnforced'."),
    (G, OWNERSHIP, "alb-access-logs-ownership", "", REMOVE, "aws-s3-bucket-require-ownership-controls", "Bucket 'alb-access-logs' has no ownership controls; add an aws.s3.BucketOwnershipControls (BucketOwnerEnforced)."),
    (G, S3, "alb-access-logs", "acl", "public-read", "aws-s3-bucket-disallow-acls", "aws:s3/bucket:Bucket 'alb-access-logs' grants access through ACLs (acl='public-read'); leave ACLs unset (BucketOwnerEnforced disables them) and grant access in the bucket policy."),
    (G, S3, "alb-access-logs", "forceDestroy", True, "aws-s3-bucket-disallow-force-destroy", "Bucket 'alb-access-logs' sets forceDestroy=true, so deleting it deletes every object; set force_destroy=False."),
    (G, S3, "alb-access-logs", PROTECT, False, "scaleplan-stateful-resource-require-protect", "aws:s3/bucket:Bucket 'alb-access-logs' holds state but is not protected; pass opts=pulumi.ResourceOptions(protect=True)."),
    (G, BUCKET_POLICY, "alb-access-logs-policy", "policy", drop_statement("DenyInsecureTransport"), "aws-s3-bucketpolicy-require-tls-only", "Bucket policy 'alb-access-logs-policy' does not deny requests without TLS; add a Deny of s3:* to Principal '*' on the bucket and its objects when aws:SecureTransport is false."),
    (G, BUCKET_POLICY, "alb-access-logs-policy", "policy", statement_set("ElbLogDelivery", "Principal", "*"), "aws-s3-bucketpolicy-disallow-public-principal", "Bucket policy 'alb-access-logs-policy' allows everyone (Principal '*') in statements 'ElbLogDelivery' without a condition; name the principals that need access."),
    (G, BUCKET_POLICY, "alb-access-logs-policy", "", REMOVE, "aws-s3-bucket-require-tls-only-policy", "Bucket 'alb-access-logs' has no bucket policy; add an aws.s3.BucketPolicy that denies aws:SecureTransport=false."),
    (G, LIFECYCLE, "alb-access-logs-lifecycle", "rules.0.abortIncompleteMultipartUpload", DELETE, "aws-s3-bucket-require-abort-incomplete-uploads", "Bucket 'alb-access-logs' keeps incomplete multipart uploads (abort after: never); add an enabled lifecycle rule with abort_incomplete_multipart_upload.days_after_initiation of at most 7."),
    (G, LIFECYCLE, "alb-access-logs-lifecycle", "rules.0.status", "Disabled", "aws-s3-bucket-require-abort-incomplete-uploads", "Bucket 'alb-access-logs' keeps incomplete multipart uploads (abort after: never); add an enabled lifecycle rule with abort_incomplete_multipart_upload.days_after_initiation of at most 7."),
    (G, LIFECYCLE, "alb-access-logs-lifecycle", "", REMOVE, "aws-s3-bucket-require-abort-incomplete-uploads", "Bucket 'alb-access-logs' keeps incomplete multipart uploads (abort after: never); add an enabled lifecycle rule with abort_incomplete_multipart_upload.days_after_initiation of at most 7."),
    # -- Secrets Manager ------------------------------------------------------------------------------------
    (G, SECRET, "cache-auth-token-secret", "recoveryWindowInDays", 0, "aws-secretsmanager-secret-require-recovery-window", "Secret 'cache-auth-token-secret' has recovery window 0 (deleted at once, unrecoverable); set recovery_window_in_days to at least 7 (or leave it unset for AWS's 30)."),
    (G, SECRET, "cache-auth-token-secret", "forceOverwriteReplicaSecret", True, "aws-secretsmanager-secret-disallow-force-overwrite-replica", "Secret 'cache-auth-token-secret' sets forceOverwriteReplicaSecret=true, which overwrites a secret of the same name in a replica region; set force_overwrite_replica_secret=False."),
    (G, SECRET, "cache-auth-token-secret", "replicas", [{"region": "us-west-2"}], "aws-secretsmanager-secret-require-replica-customer-managed-key", "Secret 'cache-auth-token-secret' replicates to us-west-2 with the AWS-managed key; set replicas[].kms_key_id to a customer-managed KMS key in that region."),
    (G, SECRET, "cache-auth-token-secret", "kmsKeyId", DELETE, "aws-secretsmanager-secret-require-customer-managed-key", "Secret 'cache-auth-token-secret' is encrypted with no key (the AWS-managed key); set kms_key_id to a customer-managed KMS key ARN."),
    (G, SECRET, "cache-auth-token-secret", PROTECT, False, "scaleplan-stateful-resource-require-protect", "aws:secretsmanager/secret:Secret 'cache-auth-token-secret' holds state but is not protected; pass opts=pulumi.ResourceOptions(protect=True)."),
    # -- EC2: launch templates, default group, subnets, flow logs, security groups ------------------------
    (F, LT, "app-blue", "metadataOptions.httpTokens", "optional", "aws-ec2-launchtemplate-require-imdsv2", "Launch template 'app-blue' allows IMDSv1 (httpTokens='optional'); set metadata_options.http_tokens='required'."),
    (F, LT, "app-blue", "metadataOptions.httpPutResponseHopLimit", 2, "aws-ec2-launchtemplate-limit-metadata-hop-limit", "Launch template 'app-blue' has metadata hop limit 2; set metadata_options.http_put_response_hop_limit to at most 1 so containers cannot reach the node's credentials."),
    (F, LT, "app-blue", "networkInterfaces.0.associatePublicIpAddress", "true", "aws-ec2-launchtemplate-disallow-public-ip", "Launch template 'app-blue' gives network interface 0 a public IP; set associate_public_ip_address='false' and reach instances through the load balancer. Or, where the phase cannot afford it, accept the risk in the open: scaleplan:accepted_risks.no_nat_gateway with the reason."),
    (F, LT, "app-blue", "blockDeviceMappings.0.ebs.encrypted", "false", "aws-ec2-launchtemplate-require-encrypted-volumes", "Launch template 'app-blue' does not encrypt volume /dev/xvda; set ebs.encrypted='true' (with ebs.kms_key_id for a customer-managed key)."),
    (F, LT, "app-blue", "blockDeviceMappings.0.ebs.kmsKeyId", DELETE, "aws-ec2-launchtemplate-require-customer-managed-key", "Launch template 'app-blue' encrypts volume /dev/xvda with the AWS-managed key; set ebs.kms_key_id to a customer-managed KMS key ARN."),
    (G, LT, "node-pools-base-lt", "blockDeviceMappings.0.ebs.kmsKeyId", DELETE, "aws-ec2-launchtemplate-require-customer-managed-key", "Launch template 'node-pools-base-lt' encrypts volume /dev/xvda with the AWS-managed key; set ebs.kms_key_id to a customer-managed KMS key ARN."),
    (F, "aws:autoscaling/group:Group", "app-blue", "launchTemplate", DELETE, "aws-autoscaling-group-require-launch-template", "Auto Scaling group 'app-blue' does not launch from a launch template (launch configurations cannot require IMDSv2 or a customer key); set launch_template to the program's template."),
    (G, "aws:ec2/vpc:Vpc", "network-vpc", "tags", DELETE, "aws-taggable-resource-require-tags", "aws:ec2/vpc:Vpc 'network-vpc' lacks the tags project, phase, environment, cost-center; set tags=standard_tags(...) explicitly (provider default tags do not show in inputs)."),
    (G, DEFAULT_SG, "network-default-sg", "ingress", [{"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True}], "aws-ec2-defaultsecuritygroup-disallow-rules", "Default security group 'network-default-sg' keeps 1 ingress and 0 egress rules; set ingress=[] and egress=[] so nothing can use the default group."),
    (G, DEFAULT_SG, "network-default-sg", "", REMOVE, "aws-ec2-vpc-require-closed-default-security-group", "VPC 'network-vpc' leaves its default security group with AWS's allow rules; manage it with an aws.ec2.DefaultSecurityGroup that has no rules."),
    (G, SUBNET, "network-public-us-east-1a", "mapPublicIpOnLaunch", True, "aws-ec2-subnet-disallow-public-ip-on-launch", "Subnet 'network-public-us-east-1a' gives every instance launched in it a public IP; set map_public_ip_on_launch=False. Or, where the phase cannot afford it, accept the risk in the open: scaleplan:accepted_risks.no_nat_gateway with the reason."),
    (G, FLOW_LOG, "network-flow-log", "trafficType", "REJECT", "aws-ec2-vpc-require-flow-logs", "VPC 'network-vpc' has no flow log of all traffic (flow logs: REJECT); add an aws.ec2.FlowLog with traffic_type='ALL'."),
    (G, FLOW_LOG, "network-flow-log", "", REMOVE, "aws-ec2-vpc-require-flow-logs", "VPC 'network-vpc' has no flow log of all traffic (flow logs: none); add an aws.ec2.FlowLog with traffic_type='ALL'."),
    (G, SG, "database-sg", "description", "", "aws-ec2-securitygroup-require-description", "Security group 'database-sg' has no description of its purpose; set description."),
    (G, EGRESS, "app-sg-app-https-out", "description", DELETE, "aws-ec2-securitygroup-require-rule-description", "Security group rule 'app-sg-app-https-out' has no description; set description."),
    (G, INGRESS, "database-from-app", "cidrIpv4", "0.0.0.0/0", "aws-ec2-securitygroup-disallow-world-ingress", "Security group rule 'database-from-app' allows ingress on ports 5432 from 0.0.0.0/0; only tcp 80, 443 on a group tagged scaleplan:role=load-balancer may be open to the internet."),
    (G, KEY, "keys-database", "tags", DELETE, "aws-taggable-resource-require-tags", "aws:kms/key:Key 'keys-database' lacks the tags project, phase, environment, cost-center; set tags=standard_tags(...) explicitly (provider default tags do not show in inputs)."),
    # -- RDS ------------------------------------------------------------------------------------------------
    (G, RDS, "database-primary", "publiclyAccessible", True, "aws-rds-instance-disallow-public-access", "RDS instance 'database-primary' has publiclyAccessible=true; set publicly_accessible=False so it is reachable only from inside the VPC."),
    (G, RDS, "database-primary", "storageEncrypted", False, "aws-rds-instance-disallow-unencrypted-storage", "RDS instance 'database-primary' does not set storageEncrypted=true; set storage_encrypted=True."),
    (G, RDS, "database-primary", "kmsKeyId", DELETE, "aws-rds-instance-require-customer-managed-key", "RDS instance 'database-primary' has no kmsKeyId, so its storage would use the AWS-managed key; set kms_key_id to a customer-managed KMS key ARN."),
    (G, RDS, "database-primary", "multiAz", False, "aws-rds-instance-require-multi-az", "RDS instance 'database-primary' is single-AZ (multiAz=False); set multi_az=True. Or, where the phase cannot afford it, accept the risk in the open: scaleplan:accepted_risks.single_az_database with the reason."),
    (G, RDS, "database-primary", "backupRetentionPeriod", 1, "aws-rds-instance-require-backup-retention", "RDS instance 'database-primary' keeps backups for 1 days; set backup_retention_period to at least 7 days."),
    (G, RDS, "database-primary", "deletionProtection", False, "aws-rds-instance-enable-deletion-protection", "RDS instance 'database-primary' does not set deletionProtection=true; set deletion_protection=True."),
    (G, RDS, "database-primary", "iamDatabaseAuthenticationEnabled", False, "aws-rds-instance-enable-iam-authentication", "RDS instance 'database-primary' does not enable IAM database authentication; set iam_database_authentication_enabled=True."),
    (G, RDS, "database-primary", "enabledCloudwatchLogsExports", ["upgrade"], "aws-rds-instance-require-log-exports", "RDS instance 'database-primary' does not export postgresql logs to CloudWatch; set enabled_cloudwatch_logs_exports to include postgresql, upgrade."),
    (G, RDS, "database-primary", "monitoringInterval", 0, "aws-rds-instance-enable-enhanced-monitoring", "RDS instance 'database-primary' has monitoringInterval=0; set monitoring_interval to one of 1, 5, 10, 15, 30, 60 seconds with a monitoring_role_arn."),
    (G, RDS, "database-primary", "performanceInsightsEnabled", False, "aws-rds-instance-enable-performance-insights", "RDS instance 'database-primary' does not enable Performance Insights; set performance_insights_enabled=True with performance_insights_kms_key_id."),
    (G, RDS, "database-primary", "skipFinalSnapshot", True, "aws-rds-instance-disallow-skip-final-snapshot", "RDS instance 'database-primary' sets skipFinalSnapshot=true, so deleting it loses the data; set skip_final_snapshot=False with a final_snapshot_identifier."),
    (G, RDS, "database-primary", "finalSnapshotIdentifier", DELETE, "aws-rds-instance-disallow-skip-final-snapshot", "RDS instance 'database-primary' has no finalSnapshotIdentifier, so its deletion cannot take the final snapshot; set final_snapshot_identifier."),
    (G, RDS, "database-primary", "manageMasterUserPassword", False, "aws-rds-instance-require-managed-master-password", "RDS instance 'database-primary' does not let RDS manage the master password (manageMasterUserPassword=False); set manage_master_user_password=True and no password, so it lives in Secrets Manager and rotates."),
    (G, RDS, "database-primary", "masterUserSecretKmsKeyId", DELETE, "aws-rds-instance-require-managed-master-password", "RDS instance 'database-primary' keeps its master password secret under the AWS-managed key; set master_user_secret_kms_key_id to a customer-managed KMS key ARN."),
    (G, RDS, "database-primary", "deleteAutomatedBackups", True, "aws-rds-instance-disallow-delete-automated-backups", "RDS instance 'database-primary' has deleteAutomatedBackups=true, so deleting the instance deletes its backups; set delete_automated_backups=False."),
    (G, RDS, "database-primary", "autoMinorVersionUpgrade", False, "aws-rds-instance-enable-auto-minor-version-upgrade", "RDS instance 'database-primary' turns off automatic minor version upgrades, so security patches wait; set auto_minor_version_upgrade=True."),
    (G, RDS, "database-primary", "caCertIdentifier", "rds-ca-2019", "aws-rds-instance-require-current-ca", "RDS instance 'database-primary' uses certificate authority 'rds-ca-2019'; set ca_cert_identifier to one of rds-ca-rsa2048-g1, rds-ca-rsa4096-g1, rds-ca-ecc384-g1."),
    (G, RDS, "database-primary", PROTECT, False, "scaleplan-stateful-resource-require-protect", "aws:rds/instance:Instance 'database-primary' holds state but is not protected; pass opts=pulumi.ResourceOptions(protect=True)."),
    (G, RDS_PARAMETERS, "database-parameters", "parameters", set_parameter("rds.force_ssl", "0"), "aws-rds-instance-require-tls", "RDS instance 'database-primary' uses parameter group 'database-parameters' with rds.force_ssl=0; set the parameter rds.force_ssl=1."),
    # -- ElastiCache ----------------------------------------------------------------------------------------
    (G, CACHE, "cache-replication-group", "atRestEncryptionEnabled", False, "aws-elasticache-replicationgroup-enable-at-rest-encryption", "ElastiCache replication group 'cache-replication-group' does not encrypt at rest; set at_rest_encryption_enabled=True."),
    (G, CACHE, "cache-replication-group", "kmsKeyId", DELETE, "aws-elasticache-replicationgroup-enable-at-rest-encryption", "ElastiCache replication group 'cache-replication-group' encrypts at rest with the AWS-managed key; set kms_key_id to a customer-managed KMS key ARN."),
    (G, CACHE, "cache-replication-group", "transitEncryptionEnabled", False, "aws-elasticache-replicationgroup-enable-in-transit-encryption", "ElastiCache replication group 'cache-replication-group' does not encrypt in transit; set transit_encryption_enabled=True."),
    (G, CACHE, "cache-replication-group", "transitEncryptionMode", "preferred", "aws-elasticache-replicationgroup-enable-in-transit-encryption", "ElastiCache replication group 'cache-replication-group' accepts plaintext connections (transitEncryptionMode=preferred); set transit_encryption_mode='required'."),
    (G, CACHE, "cache-replication-group", "authToken", DELETE, "aws-elasticache-replicationgroup-require-auth", "ElastiCache replication group 'cache-replication-group' accepts unauthenticated clients; set auth_token (from a secret) or user_group_ids."),
    (G, CACHE, "cache-replication-group", "automaticFailoverEnabled", False, "aws-elasticache-replicationgroup-enable-automatic-failover", "ElastiCache replication group 'cache-replication-group' has automaticFailoverEnabled=False and multiAzEnabled=True; set automatic_failover_enabled=True and multi_az_enabled=True with at least one replica. Or, where the phase cannot afford it, accept the risk in the open: scaleplan:accepted_risks.single_cache_node with the reason."),
    (G, CACHE, "cache-replication-group", "snapshotRetentionLimit", 0, "aws-elasticache-replicationgroup-require-snapshot-retention", "ElastiCache replication group 'cache-replication-group' keeps snapshots for 0 days; set snapshot_retention_limit to at least 7."),
    # -- EKS --------------------------------------------------------------------------------------------------
    # The phases' endpoint is public for the runner networks only (scaleplan:eks.public_access_cidrs).
    (G, EKS, "eks-cluster", "vpcConfig.publicAccessCidrs", ["0.0.0.0/0"], "aws-eks-cluster-disallow-public-endpoint", "EKS cluster 'eks-cluster' exposes its API endpoint to 0.0.0.0/0; set vpc_config.endpoint_public_access=False (with endpoint_private_access=True) or list the allowed networks in public_access_cidrs."),
    (G, EKS, "eks-cluster", "encryptionConfig", DELETE, "aws-eks-cluster-enable-secrets-encryption", "EKS cluster 'eks-cluster' does not encrypt Kubernetes secrets with a KMS key; set encryption_config with resources=['secrets'] and provider.key_arn."),
    (G, EKS, "eks-cluster", "enabledClusterLogTypes", ["api"], "aws-eks-cluster-enable-control-plane-logging", "EKS cluster 'eks-cluster' does not log audit, authenticator, controllerManager, scheduler; set enabled_cluster_log_types to api, audit, authenticator, controllerManager, scheduler."),
    (G, EKS, "eks-cluster", "accessConfig.authenticationMode", "CONFIG_MAP", "aws-eks-cluster-require-access-entries", "EKS cluster 'eks-cluster' authenticates through the aws-auth ConfigMap (authenticationMode='CONFIG_MAP'); set access_config.authentication_mode='API' so access is managed as audited access entries."),
    (G, EKS, "eks-cluster", "deletionProtection", False, "aws-eks-cluster-enable-deletion-protection", "EKS cluster 'eks-cluster' can be deleted by one call; set deletion_protection=True."),
    (G, NODE_GROUP, "node-pools-base", "remoteAccess", {"ec2SshKey": "ops"}, "aws-eks-nodegroup-disallow-remote-access", "EKS node group 'node-pools-base' opens SSH (remote_access); remove it and reach nodes through SSM."),
    (G, NODE_GROUP, "node-pools-base", "launchTemplate", DELETE, "aws-eks-nodegroup-require-launch-template", "EKS node group 'node-pools-base' has no launch template, so IMDSv2, the hop limit and encrypted volumes are left to EKS defaults; set launch_template to the program's template."),
    # -- IAM --------------------------------------------------------------------------------------------------
    (G, ROLE_POLICY, "platform-app-policy", "policy", statement_set(0, "Action", "secretsmanager:*"), "aws-iam-policy-disallow-wildcard-actions", "IAM policy 'platform-app-policy' statement 'ReadOwnSecrets' allows Action secretsmanager:*; list the actions and resources the principal needs."),
    (G, ROLE_POLICY, "pgbouncer-secrets-policy", "policy", statement_set(0, "NotResource", "arn:aws:s3:::x"), "aws-iam-policy-disallow-wildcard-actions", "IAM policy 'pgbouncer-secrets-policy' statement 'ReadRdsMasterSecret' allows NotResource; list the actions and resources the principal needs."),
    (G, ATTACHMENT, "eks-cluster-policy", "policyArn", "arn:aws:iam::aws:policy/AdministratorAccess", "aws-iam-policyattachment-disallow-admin-policies", "Policy attachment 'eks-cluster-policy' grants arn:aws:iam::aws:policy/AdministratorAccess; attach a policy scoped to the role's job instead."),
    (G, ROLE, "eks-cluster-role", "assumeRolePolicy", statement_set(0, "Principal", "*"), "aws-iam-role-disallow-public-trust", "Role 'eks-cluster-role' may be assumed by anyone (Principal '*' in statements #0); name the trusted service, account or identity provider."),
    (G, ROLE, "eks-vpc-cni-role", "assumeRolePolicy", statement_set(0, "Condition", DELETE), "aws-iam-role-require-irsa-subject-condition", "Role 'eks-vpc-cni-role' trusts an OIDC provider in statement 'ServiceAccountAssumesWithWebIdentity' without StringEquals on both :sub (one service account) and :aud (sts.amazonaws.com); any pod could assume it."),
    (G, OIDC, "eks-oidc", "clientIdLists", ["sts.amazonaws.com", "any-client"], "aws-iam-openidconnectprovider-restrict-audience", "OIDC provider 'eks-oidc' accepts audiences sts.amazonaws.com, any-client; set client_id_lists=['sts.amazonaws.com']."),
    # -- KMS, SNS, logs, backups ----------------------------------------------------------------------------
    (G, KEY, "keys-database", "enableKeyRotation", False, "aws-kms-key-enable-rotation", "KMS key 'keys-database' does not rotate; set enable_key_rotation=True."),
    (G, KEY, "keys-database", "deletionWindowInDays", 7, "aws-kms-key-require-deletion-window", "KMS key 'keys-database' can be deleted after 7 days; set deletion_window_in_days to at least 30 so a mistaken deletion can be cancelled."),
    (G, KEY, "keys-database", "policy", statement_set("AccountAdministers", "Principal", "*"), "aws-kms-key-disallow-public-policy", "KMS key 'keys-database' policy allows everyone (Principal '*') in statements 'AccountAdministers' without a condition; name the principals or add kms:CallerAccount / kms:ViaService conditions."),
    (G, KEY, "keys-database", PROTECT, False, "scaleplan-stateful-resource-require-protect", "aws:kms/key:Key 'keys-database' holds state but is not protected; pass opts=pulumi.ResourceOptions(protect=True)."),
    (G, TOPIC, "operations-alerts-critical", "kmsMasterKeyId", DELETE, "aws-sns-topic-require-customer-managed-key", "SNS topic 'operations-alerts-critical' is encrypted with no key (the AWS-managed key); set kms_master_key_id to a customer-managed KMS key ARN."),
    (G, TOPIC_POLICY, "operations-alerts-critical-policy", "policy", drop_statement("DenyInsecureTransport"), "aws-sns-topicpolicy-require-tls-only", "SNS topic policy 'operations-alerts-critical-policy' does not deny requests without TLS; add a Deny of sns:* to Principal '*' when aws:SecureTransport is false."),
    (G, TOPIC_POLICY, "operations-alerts-critical-policy", "policy", statement_set("AccountManages", "Principal", "*"), "aws-sns-topicpolicy-disallow-public-principal", "SNS topic policy 'operations-alerts-critical-policy' allows everyone (Principal '*') in statements 'AccountManages' without a condition; name the publishing services with an aws:SourceAccount condition."),
    (G, SUBSCRIPTION, "operations-alerts-critical-owner-email", "protocol", "http", "aws-sns-topicsubscription-disallow-plain-http", "SNS subscription 'operations-alerts-critical-owner-email' delivers over plain HTTP; use protocol 'https' (or email, sqs, lambda)."),
    (G, LOG_GROUP, "network-flow-logs", "kmsKeyId", DELETE, "aws-cloudwatch-loggroup-require-customer-managed-key", "Log group 'network-flow-logs' is encrypted with no key (the AWS-managed key); set kms_key_id to a customer-managed KMS key ARN."),
    (G, LOG_GROUP, "eks-control-plane-logs", "retentionInDays", 3, "aws-cloudwatch-loggroup-require-retention", "Log group 'eks-control-plane-logs' keeps logs for 3 days, too short to investigate an incident; set retention_in_days to at least 30."),
    (G, VAULT, "database-backup-vault", "kmsKeyArn", DELETE, "aws-backup-vault-require-customer-managed-key", "Backup vault 'database-backup-vault' is encrypted with no key (the AWS-managed key); set kms_key_arn to a customer-managed KMS key ARN."),
    (G, VAULT, "database-backup-vault", "forceDestroy", True, "aws-backup-vault-disallow-force-destroy", "Backup vault 'database-backup-vault' sets forceDestroy=true, so deleting it deletes every recovery point; set force_destroy=False."),
    (G, PLAN, "database-backup-plan", "rules.0.lifecycle.deleteAfter", 1, "aws-backup-plan-require-retention", "Backup plan 'database-backup-plan' rule 'daily' deletes recovery points after 1 days; set lifecycle.delete_after to at least 7."),
    # -- load balancer ----------------------------------------------------------------------------------------
    (G, ALB, "alb-alb", "dropInvalidHeaderFields", False, "aws-lb-loadbalancer-enable-drop-invalid-headers", "Load balancer 'alb-alb' forwards requests with invalid HTTP headers; set drop_invalid_header_fields=True."),
    (G, ALB, "alb-alb", "accessLogs.enabled", False, "aws-lb-loadbalancer-enable-access-logs", "Load balancer 'alb-alb' does not write access logs; set access_logs with enabled=True and a bucket."),
    (G, ALB, "alb-alb", "enableDeletionProtection", False, "aws-lb-loadbalancer-enable-deletion-protection", "Load balancer 'alb-alb' can be deleted by one call; set enable_deletion_protection=True."),
    (G, ALB, "alb-alb", "desyncMitigationMode", "monitor", "aws-lb-loadbalancer-disallow-desync-monitor-mode", "Load balancer 'alb-alb' only monitors HTTP desync (request smuggling); set desync_mitigation_mode to 'defensive' or 'strictest'."),
    (G, LISTENER, "alb-https", "sslPolicy", "ELBSecurityPolicy-2016-08", "aws-lb-listener-require-modern-tls-policy", "Listener 'alb-https' uses TLS policy 'ELBSecurityPolicy-2016-08'; set ssl_policy to one of ELBSecurityPolicy-TLS13-1-2-2021-06, ELBSecurityPolicy-TLS13-1-2-Res-2021-06, ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06, ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06, ELBSecurityPolicy-TLS13-1-3-2021-06, ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04, ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04, ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04, ELBSecurityPolicy-FS-1-2-Res-2020-10, ELBSecurityPolicy-TLS-1-2-2017-01, ELBSecurityPolicy-TLS-1-2-Ext-2018-06."),
    (G, LISTENER, "alb-http", "defaultActions", [{"type": "forward", "targetGroupArn": "arn:tg"}], "aws-lb-listener-restrict-http-to-redirect", "HTTP listener 'alb-http' has a 'forward' default action; plain HTTP may only redirect to HTTPS (type='redirect', redirect.protocol='HTTPS', status_code='HTTP_301')."),
    (G, LISTENER, "alb-https", "", REMOVE, "aws-lb-loadbalancer-require-https-listener", "Load balancer 'alb-alb' has no HTTPS listener (listeners: HTTP); add an HTTPS listener with a certificate."),
    # -- Cloudflare: zone settings, rulesets, R2 ------------------------------------------------------------
    (G, ZONE_SETTING, "edge-min-tls-version", "value", "1.0", "cloudflare-zonesetting-require-min-tls-version", "Zone setting 'edge-min-tls-version' allows TLS 1.0; set min_tls_version to one of 1.2, 1.3."),
    (G, ZONE_SETTING, "edge-always-use-https", "value", "off", "cloudflare-zonesetting-enable-always-use-https", "Zone setting 'edge-always-use-https' sets always_use_https='off'; set it to 'on'."),
    (G, ZONE_SETTING, "edge-ssl", "value", "full", "cloudflare-zonesetting-require-ssl-strict", "Zone setting 'edge-ssl' sets ssl='full', so Cloudflare does not verify the origin's certificate; set it to 'strict'."),
    (G, ZONE_SETTING, "edge-tls-1-3", "value", "off", "cloudflare-zonesetting-enable-tls-1-3", "Zone setting 'edge-tls-1-3' sets tls_1_3='off'; set it to 'on' ('zrt' adds 0-RTT, whose early data can be replayed)."),
    (G, ZONE_SETTING, "edge-security-header", "value.strict_transport_security.enabled", False, "cloudflare-zonesetting-enable-hsts", "Zone setting 'edge-security-header' weakens HSTS (enabled is not true); set strict_transport_security with enabled=true, max_age >= 15552000, include_subdomains=true and nosniff=true."),
    (G, ZONE_SETTING, "edge-security-header", "value.strict_transport_security.max_age", 0, "cloudflare-zonesetting-enable-hsts", "Zone setting 'edge-security-header' weakens HSTS (max_age 0 < 15552000); set strict_transport_security with enabled=true, max_age >= 15552000, include_subdomains=true and nosniff=true."),
    (G, ZONE_SETTING, "edge-security-header", "value.strict_transport_security.include_subdomains", False, "cloudflare-zonesetting-enable-hsts", "Zone setting 'edge-security-header' weakens HSTS (include_subdomains is not true); set strict_transport_security with enabled=true, max_age >= 15552000, include_subdomains=true and nosniff=true."),
    (G, ZONE_SETTING, "edge-security-header", "value.strict_transport_security.nosniff", False, "cloudflare-zonesetting-enable-hsts", "Zone setting 'edge-security-header' weakens HSTS (nosniff is not true); set strict_transport_security with enabled=true, max_age >= 15552000, include_subdomains=true and nosniff=true."),
    (G, ZONE_SETTING, "edge-ssl", "", REMOVE, "cloudflare-zone-require-tls-settings", "Zone 'fedcba9876543210fedcba9876543210' leaves ssl at Cloudflare's defaults; declare a ZoneSetting for each."),
    (G, ZONE_SETTING, "edge-security-header", "", REMOVE, "cloudflare-zone-require-tls-settings", "Zone 'fedcba9876543210fedcba9876543210' leaves security_header at Cloudflare's defaults; declare a ZoneSetting for each."),
    (G, RULESET, "edge-rate-limits", "rules.0.action", "log", "cloudflare-ruleset-disallow-log-only-rules", "Ruleset 'edge-rate-limits' rule 'ratelimit_anonymous' only logs matching requests; give it an enforcing action (block, challenge, managed_challenge) and no 'log' override."),
    (G, RULESET, "edge-rate-limits", "rules.0.enabled", False, "cloudflare-ruleset-disallow-disabled-rules", "Ruleset 'edge-rate-limits' rule 'ratelimit_anonymous' is switched off (enabled=false); enable it or remove it deliberately."),
    (G, RULESET, "edge-cache-rules", "rules", [], "cloudflare-ruleset-disallow-disabled-rules", "Ruleset 'edge-cache-rules' has no rules; declare them or remove the ruleset deliberately."),
    (G, RULESET, "edge-rate-limits", "", REMOVE, "cloudflare-zone-require-rulesets", "Zone 'fedcba9876543210fedcba9876543210' has no ruleset for phase http_ratelimit; declare one (this stack's policy config requires it)."),
    (G, R2_CORS, "edge-media-cors", "rules.0.allowed.origins", ["http://fairtradeworker.example"], "cloudflare-r2bucketcors-require-https-origins", "R2 CORS 'edge-media-cors' allows origins http://fairtradeworker.example; list only https:// origins."),
    (G, R2_DEV, "edge-media-r2-dev", "enabled", True, "cloudflare-r2manageddomain-disallow-public-dev-url", "R2 managed domain 'edge-media-r2-dev' turns on the public r2.dev URL for bucket ftw-prod-media, which bypasses the zone's WAF, rate limits and TLS settings; set enabled=False and serve through a custom domain."),
    (G, R2_DOMAIN, "edge-media-domain", "minTls", "1.0", "cloudflare-r2customdomain-require-min-tls-version", "R2 custom domain 'edge-media-domain' allows TLS 1.0; set min_tls to one of 1.2, 1.3."),
    (G, R2_LIFECYCLE, "edge-media-lifecycle", "rules.0.enabled", False, "cloudflare-r2bucket-require-abort-multipart-uploads", "R2 bucket 'edge-media' keeps incomplete multipart uploads forever; add an enabled R2BucketLifecycle rule with abort_multipart_uploads_transition."),
    (G, R2_LIFECYCLE, "edge-documents-lifecycle", "", REMOVE, "cloudflare-r2bucket-require-abort-multipart-uploads", "R2 bucket 'edge-documents' keeps incomplete multipart uploads forever; add an enabled R2BucketLifecycle rule with abort_multipart_uploads_transition."),
    (G, R2, "edge-media", PROTECT, False, "scaleplan-stateful-resource-require-protect", "cloudflare:index/r2Bucket:R2Bucket 'edge-media' holds state but is not protected; pass opts=pulumi.ResourceOptions(protect=True)."),
    # -- Kubernetes: pod security and the rest ----------------------------------------------------------------
    (G, DEPLOYMENT, "pgbouncer-rw", f"{CONTEXT}.runAsNonRoot", False, "kubernetes-apps-deployment-require-non-root", "Deployment 'pgbouncer-rw' container 'pgbouncer' may run as root; set securityContext.runAsNonRoot=true on the pod or the container."),
    (G, DEPLOYMENT, "pgbouncer-rw", f"{POD}.securityContext.runAsUser", 0, "kubernetes-apps-deployment-require-non-root", "Deployment 'pgbouncer-rw' container 'pgbouncer' sets runAsUser=0 (root); run as a non-zero user ID."),
    (G, DEPLOYMENT, "pgbouncer-rw", f"{CONTEXT}.readOnlyRootFilesystem", False, "kubernetes-apps-deployment-require-read-only-root-filesystem", "Deployment 'pgbouncer-rw' container 'pgbouncer' has a writable root filesystem; set securityContext.readOnlyRootFilesystem=true (mount an emptyDir for scratch space)."),
    (G, DEPLOYMENT, "pgbouncer-rw", f"{CONTAINER}.resources.limits", DELETE, "kubernetes-apps-deployment-require-resource-limits", "Deployment 'pgbouncer-rw' container 'pgbouncer' has no cpu, memory limit; set resources.limits for cpu, memory."),
    # The pool-metrics sidecars (containers 1 and 2) are held to the same rules as PgBouncer.
    (G, DEPLOYMENT, "pgbouncer-rw", f"{POD}.containers.1.securityContext.runAsUser", 0, "kubernetes-apps-deployment-require-non-root", "Deployment 'pgbouncer-rw' container 'pgbouncer-exporter' sets runAsUser=0 (root); run as a non-zero user ID."),
    (G, DEPLOYMENT, "pgbouncer-rw", f"{POD}.containers.2.securityContext.readOnlyRootFilesystem", False, "kubernetes-apps-deployment-require-read-only-root-filesystem", "Deployment 'pgbouncer-rw' container 'cloudwatch-agent' has a writable root filesystem; set securityContext.readOnlyRootFilesystem=true (mount an emptyDir for scratch space)."),
    (G, DEPLOYMENT, "pgbouncer-rw", f"{POD}.containers.2.resources.limits", DELETE, "kubernetes-apps-deployment-require-resource-limits", "Deployment 'pgbouncer-rw' container 'cloudwatch-agent' has no cpu, memory limit; set resources.limits for cpu, memory."),
    (G, DEPLOYMENT, "pgbouncer-rw", f"{CONTAINER}.image", "ghcr.io/cloudnative-pg/pgbouncer:latest", "kubernetes-apps-deployment-disallow-unpinned-images", "Deployment 'pgbouncer-rw' container 'pgbouncer' uses image 'ghcr.io/cloudnative-pg/pgbouncer:latest', which is not pinned; use an immutable version tag or a @sha256 digest, never latest."),
    (G, "kubernetes:batch/v1:Job", "app-database-job", f"{CONTAINER}.resources.limits", DELETE, "kubernetes-apps-deployment-require-resource-limits", "Job 'app-database-job' container 'psql' has no cpu, memory limit; set resources.limits for cpu, memory."),
    (G, "kubernetes:batch/v1:Job", "app-database-job", f"{CONTEXT}.allowPrivilegeEscalation", True, "kubernetes-pod-disallow-privilege-escalation", "Job 'app-database-job' container 'psql' allows privilege escalation (allowPrivilegeEscalation=True); set securityContext.allowPrivilegeEscalation=false."),
    (G, DEPLOYMENT, "pgbouncer-rw", "spec.replicas", 1, "kubernetes-apps-deployment-require-min-replicas", "Deployment 'pgbouncer-rw' runs 1 replicas; set spec.replicas to at least 2."),
    (G, DEPLOYMENT, "pgbouncer-rw", f"{CONTEXT}.privileged", True, "kubernetes-pod-disallow-privileged-containers", "Deployment 'pgbouncer-rw' container 'pgbouncer' is privileged (full access to the node); set securityContext.privileged=false."),
    (G, DEPLOYMENT, "pgbouncer-rw", f"{CONTEXT}.allowPrivilegeEscalation", True, "kubernetes-pod-disallow-privilege-escalation", "Deployment 'pgbouncer-rw' container 'pgbouncer' allows privilege escalation (allowPrivilegeEscalation=True); set securityContext.allowPrivilegeEscalation=false."),
    (G, DEPLOYMENT, "pgbouncer-rw", f"{CONTEXT}.capabilities.add", ["NET_ADMIN"], "kubernetes-pod-disallow-added-capabilities", "Deployment 'pgbouncer-rw' container 'pgbouncer' adds capabilities NET_ADMIN; add none (only NET_BIND_SERVICE)."),
    (G, DEPLOYMENT, "pgbouncer-rw", f"{CONTEXT}.capabilities.drop", [], "kubernetes-pod-disallow-added-capabilities", "Deployment 'pgbouncer-rw' container 'pgbouncer' keeps the runtime's default capabilities; set capabilities.drop=['ALL']."),
    (G, DEPLOYMENT, "pgbouncer-rw", f"{POD}.hostNetwork", True, "kubernetes-pod-disallow-host-namespaces", "Deployment 'pgbouncer-rw' shares the node's hostNetwork; set hostNetwork to false."),
    (G, DEPLOYMENT, "pgbouncer-rw", f"{POD}.hostPID", True, "kubernetes-pod-disallow-host-namespaces", "Deployment 'pgbouncer-rw' shares the node's hostPID; set hostPID to false."),
    (G, DEPLOYMENT, "pgbouncer-rw", f"{POD}.hostIPC", True, "kubernetes-pod-disallow-host-namespaces", "Deployment 'pgbouncer-rw' shares the node's hostIPC; set hostIPC to false."),
    (G, DEPLOYMENT, "pgbouncer-rw", f"{POD}.volumes.0.hostPath", {"path": "/"}, "kubernetes-pod-disallow-host-namespaces", "Deployment 'pgbouncer-rw' mounts node directories (hostPath volumes config); use emptyDir, ConfigMap, Secret or persistent volumes."),
    (G, DEPLOYMENT, "pgbouncer-rw", f"{CONTEXT}.seccompProfile.type", "Unconfined", "kubernetes-pod-require-seccomp-profile", "Deployment 'pgbouncer-rw' container 'pgbouncer' runs with seccomp profile 'Unconfined'; set securityContext.seccompProfile.type='RuntimeDefault' on the pod or the container."),
    (G, DEPLOYMENT, "pgbouncer-rw", f"{POD}.automountServiceAccountToken", True, "kubernetes-pod-disable-service-account-token-automount", "Deployment 'pgbouncer-rw' mounts the service account token of 'ftw-prod-pgbouncer' into every container; set automountServiceAccountToken=false on the pod (or list the account in tokenServiceAccounts if it must call the Kubernetes API)."),
    (G, NAMESPACE, "pgbouncer-namespace", "metadata.labels", set_label("pod-security.kubernetes.io/enforce", "privileged"), "kubernetes-core-namespace-require-pod-security-level", "Namespace 'pgbouncer-namespace' enforces pod security level 'privileged'; label it pod-security.kubernetes.io/enforce with one of restricted."),
    # Container Insights' namespace may be privileged by name only: renamed, its level is refused;
    # kept, only the restricted and privileged levels pass (baseline is neither).
    (G, NAMESPACE, "platform-container-insights-namespace", "metadata.name", "monitoring", "kubernetes-core-namespace-require-pod-security-level", "Namespace 'platform-container-insights-namespace' enforces pod security level 'privileged'; label it pod-security.kubernetes.io/enforce with one of restricted."),
    (G, NAMESPACE, "platform-container-insights-namespace", "metadata.labels", set_label("pod-security.kubernetes.io/enforce", "baseline"), "kubernetes-core-namespace-require-pod-security-level", "Namespace 'platform-container-insights-namespace' enforces pod security level 'baseline'; label it pod-security.kubernetes.io/enforce with one of restricted, privileged."),
    (G, SERVICE, "pgbouncer-rw-service", "spec.type", "LoadBalancer", "kubernetes-core-service-disallow-external-exposure", "Service 'pgbouncer-rw-service' is exposed outside the cluster (type LoadBalancer); use ClusterIP and reach it through the ALB (TargetGroupBinding)."),
    (G, EXTERNAL_SECRET, "pgbouncer-credentials", "spec.refreshInterval", "0", "kubernetes-externalsecrets-externalsecret-require-refresh", "ExternalSecret 'pgbouncer-credentials' never refreshes (refreshInterval='0'), so a rotated secret never reaches the pods; set a refresh interval such as '1h'."),
    (G, SECRET_STORE, "pgbouncer-secret-store", "spec.provider.aws.auth", {"secretRef": {"accessKeyIDSecretRef": {"name": "aws", "key": "id"}}}, "kubernetes-externalsecrets-secretstore-disallow-static-credentials", "SecretStore 'pgbouncer-secret-store' authenticates to aws with static keys from a Kubernetes secret; use auth.jwt.serviceAccountRef (IRSA)."),
    (G, CERTIFICATE, "pgbouncer-client-tls", "spec.privateKey", {"algorithm": "RSA", "size": 1024}, "kubernetes-certmanager-certificate-require-strong-key", "Certificate 'pgbouncer-client-tls' uses a weak key (RSA 1024); use ECDSA 256+, RSA 2048+ or Ed25519."),
    (G, RELEASE, "pgbouncer-cert-manager", "version", DELETE, "kubernetes-helm-release-require-pinned-version", "Helm release 'pgbouncer-cert-manager' installs chart version unset (the newest); pin version to an exact chart release."),
    (G, RELEASE, "pgbouncer-cert-manager", "repositoryOpts.repo", "http://charts.jetstack.io", "kubernetes-helm-release-require-https-repository", "Helm release 'pgbouncer-cert-manager' downloads its chart over plain HTTP (http://charts.jetstack.io); use an https:// or oci:// repository."),
    # -- generated credentials ----------------------------------------------------------------------------------
    (G, PASSWORD, "cache-auth-token", "length", 12, "random-randompassword-require-min-length", "Random password 'cache-auth-token' is 12 characters long; set length to at least 32."),
]
# fmt: on


def _flips() -> list[Flip]:
    return [
        Flip(phase, type_, name, path, value, ((policy, message),))
        for phase, type_, name, path, value, policy, message in _RAW
    ]


def _apply(resources: tuple[CapturedResource, ...], item: Flip) -> tuple[list[CapturedResource], CapturedResource]:
    matches = [r for r in resources if r.type == item.type_ and r.name == item.name]
    assert len(matches) == 1, f"{item.id}: {len(matches)} captured {item.type_} named {item.name}"
    [target] = matches
    if item.value is REMOVE:
        changed = target
        stack = [r for r in resources if r is not target]
    else:
        if item.path == PROTECT:
            changed = dataclasses.replace(target, protect=bool(item.value))
        else:
            changed = _mutated(target, item.path, item.value)
        stack = [changed if r is target else r for r in resources]
    return stack, changed


@dataclasses.dataclass
class Verdict:
    flip: Flip
    found: list[tuple[str, str, str]]
    """(enforcement, policy, message) of every finding the flip produced."""


FAMILIES = (("aws:ec2/", "aws:vpc/"),)
"""Modules whose stack rules read each other's resources (security groups and their rule resources)."""


def _family(type_: str) -> tuple[str, ...]:
    module = type_.split(":", 1)[0] + ":" if type_.startswith("cloudflare:") else type_.split("/", 1)[0] + "/"
    return next((f for f in FAMILIES if module in f), (module,))


def _neighbours(stack: list[CapturedResource], item: Flip) -> list[CapturedResource]:
    """The resources of the flipped resource's service (all of Cloudflare, EC2 with VPC rules, each other
    AWS module on its own): what the stack rules of that service read.

    pulumi-policy deserializes the whole stack once per stack policy, about 1.4 s per ``AnalyzeStack``
    of a growth phase; the whole phases go through the pack in tests/policies/test_security_phases.py.
    """
    family = _family(item.type_)
    return [r for r in stack if r.type.startswith(family) or (item.path == PROTECT and r.type == item.type_)]


def run_flips(pack: PolicyPackProcess, flips: list[Flip]) -> list[Verdict]:
    """Each flip through the pack; every request is sent ahead so the pack works while we build the next."""
    stack_kind = {p.name for p in pack.policies if p.kind == "stack"}
    verdicts: list[Verdict] = []
    for phase in PHASES:
        mine = [f for f in flips if f.phase == phase]
        if not mine:
            continue
        [entry] = for_phase(phase, [SECURITY_PACK])
        pack.configure(StackContext("scaleplan", phase), entry.config)
        resources = built_phase(phase).resources
        prepared = []
        for item in mine:
            stack, changed = _apply(resources, item)
            as_stack = item.value is REMOVE or any(policy in stack_kind for policy, _ in item.expected)
            if as_stack:
                stack = _neighbours(stack, item)
                pack.prefetch_stack(stack)
            else:
                pack.prefetch(changed)
            prepared.append((item, stack, changed, as_stack))
        for item, stack, changed, as_stack in prepared:
            report = pack.analyze_stack(stack) if as_stack else pack.analyze(changed)
            found = [(d.enforcement.value, d.policy, d.detail) for d in report.diagnostics]
            verdicts.append(Verdict(item, found))
    return verdicts


@pytest.fixture(scope="module")
def verdicts(policy_packs: PackPool) -> list[Verdict]:
    return run_flips(policy_packs.get(SECURITY_PACK), _flips())


def test_every_flip_gives_exactly_its_mandatory_finding(verdicts: list[Verdict]) -> None:
    wrong = [
        (v.flip.id, v.found)
        for v in verdicts
        if v.found != [("mandatory", policy, message) for policy, message in v.flip.expected]
    ]
    assert wrong == []


HAND_BUILT = {
    "cloudflare-dnsrecord-require-proxied",
    # Flipped on the DR build in test_security_disaster_recovery.py (no phase turns DR on).
    "aws-rds-automated-backups-replication-require-customer-managed-key",
}
"""Rules for resource types no phase creates yet (other work adds them); flipped on hand-built resources below."""
HAND_BUILT_TYPES = {
    "cloudflare:index/dnsRecord:DnsRecord",
    "cloudflare:index/record:Record",
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
}
"""The types those hand-built flips guard, so a phase that starts creating them stays covered."""


def test_every_rule_of_the_pack_is_flipped(policy_packs: PackPool) -> None:
    pack = policy_packs.get(SECURITY_PACK)
    flipped = {policy for item in _flips() for policy, _ in item.expected}
    assert sorted({p.name for p in pack.policies} - flipped - HAND_BUILT) == []
    assert sorted(flipped - {p.name for p in pack.policies}) == []


NOT_ENFORCED = re.compile(r"^- `(?P<type>[^`]+)`: (?P<reason>\S.*)$")


def documented_not_enforced() -> dict[str, str]:
    """docs/policy.md's "Deliberately not enforced" list: resource type -> reason."""
    text = (ROOT / "docs" / "policy.md").read_text()
    section = text.split("## Deliberately not enforced", 1)[1].split("\n## ", 1)[0]
    return {m["type"]: m["reason"] for line in section.splitlines() if (m := NOT_ENFORCED.match(line))}


def test_every_created_type_is_guarded_or_documented() -> None:
    created = {r.type for phase in PHASES for r in built_phase(phase).resources if r.custom}
    flipped = {item.type_ for item in _flips()} | HAND_BUILT_TYPES
    documented = documented_not_enforced()
    assert sorted(created - flipped - set(documented)) == []
    assert sorted(set(documented) & flipped) == [], "a flipped type is also listed as not enforced"
    assert all(len(reason) > 20 for reason in documented.values())


def test_the_coverage_test_sees_the_documented_list() -> None:
    # Guards the test above against passing because the section went missing or changed shape.
    documented = documented_not_enforced()
    assert "aws:ec2/eip:Eip" in documented
    assert len(documented) >= 15


DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord"
APP_RECORD: dict[str, Any] = {
    "zoneId": "zone-1",
    "name": "app.fairtradeworker.example",
    "type": "CNAME",
    "content": "ftw-prod-alb-1.us-east-1.elb.amazonaws.com",
    "proxied": True,
    "ttl": 1,
}


@pytest.mark.parametrize(
    ("props", "found"),
    [
        (APP_RECORD, []),
        ({**APP_RECORD, "name": "_acme.fairtradeworker.example", "proxied": False}, []),
        ({**APP_RECORD, "type": "TXT", "proxied": False}, []),
        (
            {**APP_RECORD, "proxied": False},
            [
                "DNS record 'record' (CNAME app.fairtradeworker.example) is not proxied, so it publishes the origin "
                "and bypasses the WAF and rate limits; set proxied=True."
            ],
        ),
    ],
)
def test_dns_records_must_be_proxied(security_pack: Any, props: dict[str, Any], found: list[str]) -> None:
    assert (
        security_pack.violations(resource(DNS_RECORD, "record", props), "cloudflare-dnsrecord-require-proxied") == found
    )


def test_the_older_record_type_must_be_proxied_too(security_pack: Any) -> None:
    record = resource("cloudflare:index/record:Record", "legacy", {**APP_RECORD, "proxied": False})
    assert security_pack.all_violations(record) == {
        "cloudflare-dnsrecord-require-proxied": [
            "DNS record 'legacy' (CNAME app.fairtradeworker.example) is not proxied, so it publishes the origin "
            "and bypasses the WAF and rate limits; set proxied=True."
        ]
    }


WORKLOAD_KINDS = [
    ("kubernetes:apps/v1:StatefulSet", "spec.template.spec"),
    ("kubernetes:apps/v1:DaemonSet", "spec.template.spec"),
    ("kubernetes:batch/v1:Job", "spec.template.spec"),
    ("kubernetes:batch/v1:CronJob", "spec.jobTemplate.spec.template.spec"),
    ("kubernetes:core/v1:Pod", "spec"),
]


def _as_kind(type_: str, pod_path: str) -> dict[str, Any]:
    """The captured PgBouncer Deployment's pod spec, placed where ``type_`` carries it."""
    [deployment] = [r for r in built_phase(G).resources if r.type == DEPLOYMENT]
    pod = _get(deployment.inputs, POD)
    props: dict[str, Any] = {"metadata": dict(deployment.inputs["metadata"]), "kind": type_.rsplit(":", 1)[-1]}
    if type_.endswith("StatefulSet"):
        props["spec"] = {"replicas": 2}
    return mutate(props, pod_path, pod)


@pytest.mark.parametrize(("type_", "pod_path"), WORKLOAD_KINDS)
def test_pod_security_applies_to_every_workload_kind(security_pack: Any, type_: str, pod_path: str) -> None:
    # The program declares only Deployments today; a Job or DaemonSet added later is checked the same way.
    props = _as_kind(type_, pod_path)
    kind = type_.rsplit(":", 1)[-1]
    assert security_pack.all_violations(resource(type_, "workload", props)) == {}
    escalating = mutate(props, f"{pod_path}.containers.0.securityContext.privileged", True)
    shared = mutate(props, f"{pod_path}.hostPID", True)
    assert security_pack.all_violations(resource(type_, "workload", escalating)) == {
        "kubernetes-pod-disallow-privileged-containers": [
            f"{kind} 'workload' container 'pgbouncer' is privileged (full access to the node); "
            "set securityContext.privileged=false."
        ]
    }
    assert security_pack.all_violations(resource(type_, "workload", shared)) == {
        "kubernetes-pod-disallow-host-namespaces": [
            f"{kind} 'workload' shares the node's hostPID; set hostPID to false."
        ]
    }


# -- accepted risks ------------------------------------------------------------------------------------
# A relaxation rule is waived only by its own risk, declared in the stack file: undeclared, the flipped
# phase resource is a mandatory finding that names the key to set; declared, the same finding is advisory
# and names the risk. The controls that cost nothing (encryption, TLS, no public database, IMDSv2, least
# privilege) have no waiver: under settings that accept every risk, with a stray ``acceptedRisk`` on every
# other rule, their flips stay mandatory. Here, beside the table, so the phases are built once per worker.

WAIVER_STACK = StackContext("scaleplan", "waivers")


def accepting(*risks: AcceptedRisk) -> PhaseConfig:
    """Growth with ``risks`` declared (the settings read the declaration; the config gates that
    pair it with the relaxed value are tested in tests/test_accepted_risks.py)."""
    return phase_config("growth").model_copy(update={"accepted_risks": {r: "the team's reason" for r in risks}})


def undeclared_suffix(risk: str) -> str:
    return (
        f" Or, where the phase cannot afford it, accept the risk in the open: scaleplan:accepted_risks.{risk} "
        "with the reason."
    )


def waived_suffix(risk: str) -> str:
    return f" Waived: the stack accepts the risk {risk} (scaleplan:accepted_risks)."


def _findings(pack: PolicyPackProcess, settings: Mapping[str, Any], flips: list[Flip]) -> list[list[tuple[str, ...]]]:
    """Each resource flip analyzed under ``settings``: (enforcement, policy, message) of every finding."""
    pack.configure(WAIVER_STACK, parse_config(settings))
    changed = []
    for item in flips:
        _, resource = _apply(built_phase(item.phase).resources, item)
        pack.prefetch(resource)
        changed.append(resource)
    return [
        [(d.enforcement.value, d.policy, d.detail) for d in pack.analyze(resource).diagnostics] for resource in changed
    ]


def test_the_packs_waivers_are_the_settings_waivers(policy_packs: PackPool) -> None:
    pack = policy_packs.get(SECURITY_PACK)
    # The pack's own table (each waivable rule's acceptedRisk schema) and infra/policy/settings.py agree.
    in_pack = {
        p.name: p.config_schema["properties"][ACCEPTED_RISK]["enum"]
        for p in pack.policies
        if ACCEPTED_RISK in p.config_schema.get("properties", {})
    }
    assert in_pack == {policy: [risk.value] for policy, risk in WAIVERS.items()}
    assert {risk for risk in WAIVERS.values()} == set(AcceptedRisk)


def _waivable_flips() -> list[Flip]:
    flips = [item for item in _flips() if item.expected[0][0] in WAIVERS]
    assert {item.expected[0][0] for item in flips} == set(WAIVERS), "a waivable rule has no flip in the table"
    return flips


def test_undeclared_risk_leaves_each_relaxation_a_mandatory_finding_naming_the_key(policy_packs: PackPool) -> None:
    pack = policy_packs.get(SECURITY_PACK)
    flips = _waivable_flips()
    found = _findings(pack, security_policy_config(phase_config("growth")), flips)
    for item, findings in zip(flips, found, strict=True):
        [(policy, message)] = item.expected
        assert message.endswith(undeclared_suffix(WAIVERS[policy].value))
        assert findings == [("mandatory", policy, message)], item.id


def test_declared_risk_turns_its_own_rules_advisory_naming_the_risk(policy_packs: PackPool) -> None:
    pack = policy_packs.get(SECURITY_PACK)
    flips = _waivable_flips()
    for risk in AcceptedRisk:
        found = _findings(pack, security_policy_config(accepting(risk)), flips)
        for item, findings in zip(flips, found, strict=True):
            [(policy, message)] = item.expected
            if WAIVERS[policy] is risk:
                waived = message.removesuffix(undeclared_suffix(risk.value)) + waived_suffix(risk.value)
                assert findings == [("advisory", policy, waived)], (risk, item.id)
            else:  # another risk's rule: still blocking
                assert findings == [("mandatory", policy, message)], (risk, item.id)


def test_a_waiver_cannot_be_moved_onto_another_rule(policy_packs: PackPool) -> None:
    pack = policy_packs.get(SECURITY_PACK)
    # The schema of each waivable rule allows its own risk only.
    policy, risk = next(iter(WAIVERS.items()))
    other = next(r for r in AcceptedRisk if r is not risk)
    with pytest.raises(PolicyConfigError, match=re.escape(f"{policy}.{ACCEPTED_RISK}: '{other.value}' is not one of")):
        pack.configure(
            WAIVER_STACK, parse_config({policy: {"enforcementLevel": "advisory", ACCEPTED_RISK: other.value}})
        )


COSTLESS = {
    "encryption": re.compile(r"encrypt|customer-managed-key"),
    "TLS": re.compile(r"tls|https|ssl-strict"),
    "no public database": re.compile(r"^aws-rds-instance-disallow-public-access$"),
    "IMDSv2": re.compile(r"imdsv2|hop-limit"),
    "least privilege": re.compile(r"^aws-iam-|privilege"),
}
"""The controls that cost nothing, by rule name: mandatory at every size."""


def _costless_flips(pack: PolicyPackProcess) -> list[Flip]:
    resource_rules = {p.name for p in pack.policies if p.kind == "resource"}
    flips = [
        item
        for item in _flips()
        if item.expected[0][0] in resource_rules and any(c.search(item.expected[0][0]) for c in COSTLESS.values())
    ]
    for control, pattern in COSTLESS.items():
        assert any(pattern.search(item.expected[0][0]) for item in flips), f"no {control} flip"
    return flips


def test_no_risk_waives_a_control_that_costs_nothing(policy_packs: PackPool) -> None:
    pack = policy_packs.get(SECURITY_PACK)
    flips = _costless_flips(pack)
    assert not {item.expected[0][0] for item in flips} & set(WAIVERS)
    everything = security_policy_config(accepting(*AcceptedRisk))
    # Only the relaxation rules are waived by the generator...
    assert {p for p, s in everything.items() if isinstance(s, dict) and ACCEPTED_RISK in s} == set(WAIVERS)
    for risk in AcceptedRisk:
        # ...and a stray acceptedRisk on every other rule changes nothing in the pack.
        stray = {p.name: {ACCEPTED_RISK: risk.value} for p in pack.policies if p.name not in WAIVERS}
        found = _findings(pack, {**stray, **everything}, flips)
        wrong = [
            (item.id, findings)
            for item, findings in zip(flips, found, strict=True)
            if findings != [("mandatory", policy, message) for policy, message in item.expected]
        ]
        assert wrong == [], risk
