#!/bin/sh
# One image for both targets: inside AWS Lambda (which sets
# AWS_LAMBDA_RUNTIME_API) the runtime interface client calls the Mangum
# handler; anywhere else uvicorn serves HTTP on $PORT.
set -eu
if [ -n "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
  exec python -m awslambdaric lambda_handler.handler
fi
exec uvicorn --factory scorer.app:create_app --host 0.0.0.0 --port "${PORT:-8080}" --no-access-log
