#!/usr/bin/env bash
# Runs the providers' official Python SDKs against `payment mock`, proving each mock URL is a
# drop-in for the real base URL. Usage: sdk-tests/run.sh PYTHON PAYMENT_BIN
set -euo pipefail
python=$1
bin=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

"$bin" --provider all mock --addr 127.0.0.1:0 --keys-dir "$work/keys" > "$work/urls" &
# `console URL` comes after every mock's `NAME URL` line: all mocks are listening.
for _ in $(seq 1 100); do
    grep -q '^console ' "$work/urls" && break
    sleep 0.1
done
url_of() { awk -v p="$1" '$1 == p { print $2 }' "$work/urls"; }
"$python" "$here/payjp_sdk.py" "$(url_of payjp)"
"$python" "$here/payjpv2_sdk.py" "$(url_of payjp-v2)"
"$python" "$here/pingpp_sdk.py" "$(url_of pingpp)" "$work/keys"
