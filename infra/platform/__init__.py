"""What runs inside the cluster: autoscaler, metrics, load balancer controller, the app identity."""
