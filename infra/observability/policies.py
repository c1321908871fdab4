"""The alerts topic's access policy and the budget's notifications: pure functions, no Pulumi."""

from __future__ import annotations

import json
from dataclasses import dataclass

from infra.config.budget import BudgetConfig
from infra.config.operations import OperationsConfig

CLOUDWATCH_PRINCIPAL = "cloudwatch.amazonaws.com"
BUDGETS_PRINCIPAL = "budgets.amazonaws.com"
KEY_SERVICE_PRINCIPALS = (CLOUDWATCH_PRINCIPAL, BUDGETS_PRINCIPAL)
"""Services that publish to the encrypted topic and so must use its key."""

_ACCOUNT_ACTIONS = [
    "sns:GetTopicAttributes",
    "sns:SetTopicAttributes",
    "sns:AddPermission",
    "sns:RemovePermission",
    "sns:DeleteTopic",
    "sns:Subscribe",
    "sns:ListSubscriptionsByTopic",
    "sns:Publish",
]


def topic_policy(topic_arn: str, account_id: str, region: str) -> str:
    """The account manages the topic; CloudWatch alarms and AWS Budgets of this account only may
    publish to it (``aws:SourceAccount`` and ``aws:SourceArn`` against the confused deputy);
    nobody may use it without TLS."""
    statements: list[dict[str, object]] = [
        {
            "Sid": "AccountManages",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": _ACCOUNT_ACTIONS,
            "Resource": topic_arn,
        },
        {
            "Sid": "CloudWatchAlarmsPublish",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDWATCH_PRINCIPAL},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account_id},
                "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{region}:{account_id}:alarm:*"},
            },
        },
        {
            "Sid": "BudgetsPublish",
            "Effect": "Allow",
            "Principal": {"Service": BUDGETS_PRINCIPAL},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account_id},
                "ArnLike": {"aws:SourceArn": f"arn:aws:budgets::{account_id}:*"},
            },
        },
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:*",
            "Resource": topic_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


@dataclass(frozen=True)
class BudgetNotification:
    notification_type: str
    """``ACTUAL`` (spent so far) or ``FORECASTED`` (AWS's forecast for the month)."""
    threshold_percent: float


def budget_notifications(budget: BudgetConfig, operations: OperationsConfig) -> tuple[BudgetNotification, ...]:
    """One ACTUAL notification per alert threshold (ascending, each once) and one FORECASTED.

    At most 5 thresholds plus the forecast: within AWS Budgets' 10 notifications per budget.
    """
    actual = [BudgetNotification("ACTUAL", float(p)) for p in sorted(set(budget.alert_thresholds_percent))]
    return (*actual, BudgetNotification("FORECASTED", float(operations.budget_forecast_percent)))


def environment_cost_filter(environment: str) -> str:
    """The ``TagKeyValue`` filter value of the ``environment`` tag: ``user:environment$ftw-prod``."""
    return f"user:environment${environment}"
