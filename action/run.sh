#!/usr/bin/env bash
# Runs modelgate for the GitHub Action: builds the command line from the
# action's inputs, keeps the reports in $RUNNER_TEMP/modelgate, and exits with
# modelgate's own code (0 pass, 1 a gate blocked, 2 error), so the step fails
# when the decision is `fail` unless the workflow sets `continue-on-error`.
set -uo pipefail

command="${MODELGATE_COMMAND:-run}"
case "$command" in
  run | promote | evaluate) ;;
  *) echo "::error::modelgate action: input 'command' must be run, promote or evaluate (got '$command')"; exit 2 ;;
esac
out="${RUNNER_TEMP:-/tmp}/modelgate"
mkdir -p "$out"
bin="${MODELGATE_BIN:-modelgate}"
args=("$command" --config "${MODELGATE_CONFIG:-modelgate.yaml}")
if [ "$command" = evaluate ]; then
  args+=(--out "$out/evaluation.json" --out "$out/report.md")
else
  args+=(--out "$out/decision.json" --out "$out/report.md")
  [ -n "${MODELGATE_JUNIT:-}" ] && args+=(--junit "$MODELGATE_JUNIT")
  [ "${MODELGATE_COMMENT:-false}" = true ] && args+=(--comment)
fi
if [ "$command" = promote ] && [ "${MODELGATE_DRY_RUN:-false}" = true ]; then
  args+=(--dry-run)
fi
if [ "$command" = promote ] && [ "${MODELGATE_ATTEST:-false}" = true ]; then
  args+=(--attestation "$out/attestation")
fi

"$bin" "${args[@]}"
code=$?

if [ -n "${GITHUB_OUTPUT:-}" ]; then
  [ -f "$out/decision.json" ] && echo "decision-json=$out/decision.json" >>"$GITHUB_OUTPUT"
  [ -f "$out/evaluation.json" ] && echo "evaluation-json=$out/evaluation.json" >>"$GITHUB_OUTPUT"
  [ -f "$out/report.md" ] && echo "report=$out/report.md" >>"$GITHUB_OUTPUT"
fi
exit "$code"
