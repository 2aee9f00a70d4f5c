"""The HTTP routes of the heartbeat function, one module per endpoint; handler.py wires them."""
