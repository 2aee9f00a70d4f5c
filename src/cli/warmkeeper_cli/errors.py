"""The CLI's failures, each with its exit status: a user reads one line, never a stack trace."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    FAILED = 1  # the operation ran and its outcome is bad: a failed wake, a failed verification
    USAGE = 2  # argparse's own status for bad options
    NO_CREDENTIALS = 3
    UNKNOWN_STACK = 4
    REFUSED = 5  # EventBridge refused the request event
    TIMEOUT = 6
    AWS_ERROR = 7  # any other AWS error (access denied, throttling, an unreachable endpoint)
    DEPLOY_FAILED = 8  # sam deploy exited non-zero


class CliError(Exception):
    def __init__(self, message: str, code: Exit) -> None:
        super().__init__(message)
        self.code = code
