#!/usr/bin/env bash
# The shell steps every CI template runs (GitHub Actions: ci/github/action.yml; GitLab CI:
# ci/gitlab/twin-conformance.gitlab-ci.yml), so that a vendor's pipeline and this repository's
# own test of it run the same thing. Inputs are environment variables, all optional but a
# target:
#
#   TWIN_TARGET            URL of the node under test           (or TWIN_TARGET_FILE)
#   TWIN_TARGET_FILE       target file (name, url, auth, profiles, committee, signKey)
#   TWIN_EMAIL             login email (with TWIN_TARGET)
#   TWIN_PASSWORD_ENV      NAME of the variable holding the password (default TWIN_TARGET_PASSWORD)
#   TWIN_TOKEN_ENV         NAME of the variable holding a token instead (default TWIN_TARGET_TOKEN)
#   TWIN_PROFILES          profiles to check, space-separated (default: full)
#   TWIN_BASELINE          baseline file of known failures (they do not fail the gate)
#   TWIN_FAIL_ON           must (default) or should
#   TWIN_EXTRA_ARGS        more `twin-conformance run` options, space-separated
#   TWIN_OUT               report folder (default: twin-conformance-report)
#   TWIN_SUITE             what pip installs (default: twin-conformance); a path, a wheel, a pin
#   TWIN_VENV              where to install it (default: .twin-conformance-venv)
#
# Secrets are passed by name and read from the environment by the harness itself: they never
# appear on a command line, in a log or in the reports. Outputs: the exit code of the run (0
# conformant or passed with only known failures, 1 a new failure, 2 could not run), and, when
# $GITHUB_OUTPUT is set, `verdict` and `exit-code` written there.
set -uo pipefail

out=${TWIN_OUT:-twin-conformance-report}
venv=${TWIN_VENV:-.twin-conformance-venv}
python=${PYTHON:-python3}

if [ -z "${TWIN_TARGET:-}" ] && [ -z "${TWIN_TARGET_FILE:-}" ]; then
  echo "twin-conformance: set TWIN_TARGET (a URL) or TWIN_TARGET_FILE" >&2
  exit 2
fi

if [ ! -x "$venv/bin/twin-conformance" ]; then
  "$python" -m venv "$venv" || exit 2
  "$venv/bin/pip" install --quiet "${TWIN_SUITE:-twin-conformance}" || exit 2
fi

args=(run --out "$out")
if [ -n "${TWIN_TARGET_FILE:-}" ]; then
  args+=(--target-file "$TWIN_TARGET_FILE")
else
  args+=(--target "$TWIN_TARGET")
  [ -n "${TWIN_EMAIL:-}" ] && args+=(--email "$TWIN_EMAIL")
fi
for profile in ${TWIN_PROFILES:-full}; do
  args+=(--profile "$profile")
done
[ -n "${TWIN_BASELINE:-}" ] && args+=(--baseline "$TWIN_BASELINE")
[ -n "${TWIN_FAIL_ON:-}" ] && args+=(--fail-on "$TWIN_FAIL_ON")
# shellcheck disable=SC2206 # the extra options are meant to split on spaces
[ -n "${TWIN_EXTRA_ARGS:-}" ] && args+=(${TWIN_EXTRA_ARGS})

# The harness reads these two names; map the ones the pipeline chose onto them.
password_env=${TWIN_PASSWORD_ENV:-TWIN_TARGET_PASSWORD}
token_env=${TWIN_TOKEN_ENV:-TWIN_TARGET_TOKEN}
export TWIN_TARGET_PASSWORD="${!password_env:-}"
export TWIN_TARGET_TOKEN="${!token_env:-}"
[ -z "$TWIN_TARGET_PASSWORD" ] && unset TWIN_TARGET_PASSWORD
[ -z "$TWIN_TARGET_TOKEN" ] && unset TWIN_TARGET_TOKEN

"$venv/bin/twin-conformance" "${args[@]}"
code=$?

verdict=could-not-run
if [ -f "$out/report.json" ]; then
  verdict=$("$venv/bin/python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["verdict"])' "$out/report.json")
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    echo "verdict=$verdict"
    echo "exit-code=$code"
  } >> "$GITHUB_OUTPUT"
fi
echo "twin-conformance: verdict $verdict, exit code $code (reports in $out)"
exit "$code"
