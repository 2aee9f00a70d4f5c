"""The function's own paths (the listener rule sends /_warmkeeper/* here at all times)."""

HEARTBEAT = "/_warmkeeper/heartbeat"
STATUS = "/_warmkeeper/status"
WAKE = "/_warmkeeper/wake"
ALLOWED_METHODS = {HEARTBEAT: "POST", STATUS: "GET, HEAD", WAKE: "POST"}
STATE_HEADER = "X-Warmkeeper-State"
