"""The ``sam deploy`` command line of ``warmkeeper deploy`` and ``rollback``, built as a pure function.

Where the previous image tag lives: each ``warmkeeper deploy`` tags the stack with the tag it deploys
(``warmkeeper:image-tag``) and the one the stack had before (``warmkeeper:previous-image-tag``, read from the
stack's ``ImageTag`` parameter). CloudFormation keeps a stack's tags with the stack and returns them with
DescribeStacks; it keeps no history of parameter values. ``rollback`` deploys the previous tag (and so records
the rolled-back one as previous: a second rollback goes forward again).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

IMAGE_TAG_PARAMETER = "ImageTag"
TAG_CURRENT = "warmkeeper:image-tag"
TAG_PREVIOUS = "warmkeeper:previous-image-tag"


def sam_deploy_command(
    *,
    sam: str,
    config_env: str,
    config_file: Path | None,
    image_tag: str,
    previous_tag: str | None,
    samconfig_overrides: Mapping[str, str],
    extra_overrides: Mapping[str, str],
    samconfig_tags: Mapping[str, str],
    no_confirm: bool,
    role_arn: str | None = None,
    template_file: Path | None = None,
) -> list[str]:
    """``sam deploy`` for ``config_env`` with ``ImageTag=image_tag``.

    ``--parameter-overrides`` and ``--tags`` on the command line replace samconfig's (they are not merged),
    so samconfig's values are repeated first and ours win. Parameters named nowhere keep the stack's
    previous values (``sam deploy`` passes UsePreviousValue for them).
    """
    overrides = {**samconfig_overrides, **extra_overrides, IMAGE_TAG_PARAMETER: image_tag}
    tags = {**samconfig_tags, TAG_CURRENT: image_tag}
    if previous_tag is not None and previous_tag != image_tag:
        tags[TAG_PREVIOUS] = previous_tag
    command = [sam, "deploy", "--config-env", config_env]
    if config_file is not None:
        command += ["--config-file", str(config_file)]
    if template_file is not None:
        # A build made elsewhere than sam deploy's default .aws-sam/build (sam build --build-dir).
        command += ["--template-file", str(template_file)]
    command += ["--parameter-overrides", *(f"{k}={v}" for k, v in overrides.items())]
    command += ["--tags", *(f"{k}={v}" for k, v in tags.items())]
    command += ["--no-fail-on-empty-changeset"]
    if no_confirm:
        command += ["--no-confirm-changeset"]
    if role_arn:
        # CloudFormation acts with this role; the caller itself needs only change-set and PassRole rights.
        command += ["--role-arn", role_arn]
    return command
