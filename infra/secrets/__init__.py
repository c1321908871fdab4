"""The application's secrets: Secrets Manager entries without values, who may read them, and
how they reach the application's pods on EKS (External Secrets)."""
