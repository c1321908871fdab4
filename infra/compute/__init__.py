"""Where the application runs: the EC2 Auto Scaling group, or EKS and its node pools."""
