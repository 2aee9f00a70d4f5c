"""The HTTP face behind the ALB: heartbeat pings, the status endpoint and the waiting page."""
