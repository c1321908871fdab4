"""The VPC concern: subnet planning (cidr) and the Network component (component)."""
