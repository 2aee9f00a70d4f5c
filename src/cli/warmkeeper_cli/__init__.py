"""``warmkeeper``: operate a Warmkeeper stack from a terminal or CI (status, wake, pin, deploy, verify...)."""
