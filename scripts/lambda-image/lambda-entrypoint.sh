#!/bin/sh
# Image entry point, as in AWS's base images: CMD is the handler. `sam local invoke` replaces this entry
# point with its own emulator, which then starts /var/runtime/bootstrap.
if [ $# -gt 0 ]; then
  export _HANDLER="$1"
fi
if [ -n "$AWS_LAMBDA_RUNTIME_API" ]; then
  exec /var/runtime/bootstrap
fi
for rie in /usr/local/bin/aws-lambda-rie /var/rapid/aws-lambda-rie; do
  if [ -x "$rie" ]; then
    exec "$rie" /var/runtime/bootstrap "$@"
  fi
done
echo "lambda-entrypoint: no Runtime API (AWS_LAMBDA_RUNTIME_API unset) and no emulator in the image;" \
  "run the function with 'sam local invoke --invoke-image ...'" >&2
exit 64
