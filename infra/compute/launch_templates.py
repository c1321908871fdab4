"""The hardening every launch template of ours shares: the ASG's and each EKS node pool's."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

ROOT_DEVICE = "/dev/xvda"
"""Root device name of the Amazon Linux 2023 AMIs."""
PHASE_SCOPED_TAGS = ("phase",)
"""Standard tags that change when a live environment moves to the next phase. They stay on the
launch template resource itself (a tag change there is an in-place tag update), never inside its
``tag_specifications``: any change there is a new template version, which rolls every instance
of the Auto Scaling group or node group that follows it."""


def instance_tags(tags: Mapping[str, str], name: str) -> dict[str, str]:
    """Tags for a launch template's ``tag_specifications`` (instances, volumes, interfaces):
    the standard tags without the phase-scoped ones, plus ``Name``."""
    return {**{key: value for key, value in tags.items() if key not in PHASE_SCOPED_TAGS}, "Name": name}


def imdsv2_only() -> aws.ec2.LaunchTemplateMetadataOptionsArgs:
    """Instance metadata through IMDSv2 tokens only, one hop (pods cannot reach the node's
    credentials), and no instance tags in the metadata."""
    return aws.ec2.LaunchTemplateMetadataOptionsArgs(
        http_endpoint="enabled",
        http_tokens="required",
        http_put_response_hop_limit=1,
        instance_metadata_tags="disabled",
    )


def encrypted_root_volume(
    size_gib: pulumi.Input[int], kms_key_arn: pulumi.Input[str]
) -> aws.ec2.LaunchTemplateBlockDeviceMappingArgs:
    """A gp3 root volume encrypted with our customer-managed key, deleted with the instance."""
    return aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
        device_name=ROOT_DEVICE,
        ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
            volume_type="gp3",
            volume_size=size_gib,
            encrypted="true",
            kms_key_id=kms_key_arn,
            delete_on_termination="true",
        ),
    )
