#!/usr/bin/env bash
# Signs a JSON body per Standard Webhooks v1 and POSTs it to the hub's /api/webhooks/{platform}.
#
#   WEBHOOK_SECRET=whsec_... samples/webhooks/send-signed.sh [options] <platform> <body.json>
#
# The secret comes from the environment (not an argument: arguments show in `ps` and shell history); it is the
# platform's Webhooks__Platforms__<platform>__Secrets__0. The body is sent byte for byte as signed.
#
#   --print              print the request line and headers instead of sending (nothing is sent)
#   --id <webhook-id>    the event's id, the same on every retry of one event (default: a new random id)
#   --timestamp <secs>   Unix seconds to sign with (default: now; the hub accepts ±5 minutes)
#   --content-type <t>   default application/json; application/fhir+json for a FHIR platform
#   HUB_URL              the hub's base address (default http://localhost:7071, `./hub run`)
#
# Needs bash, openssl, base64, od and curl. Exit status: curl's (22 for an HTTP error answer), 2 for bad usage.
set -euo pipefail

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

print=false
id=""
timestamp=""
content_type="application/json"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --print) print=true; shift ;;
    --id) [[ $# -ge 2 ]] || usage; id="$2"; shift 2 ;;
    --timestamp) [[ $# -ge 2 ]] || usage; timestamp="$2"; shift 2 ;;
    --content-type) [[ $# -ge 2 ]] || usage; content_type="$2"; shift 2 ;;
    -h|--help) usage ;;
    --) shift; break ;;
    -*) echo "unknown option: $1" >&2; usage ;;
    *) break ;;
  esac
done
[[ $# -eq 2 ]] || usage
platform="$1"
body="$2"

[[ "$platform" =~ ^[a-z0-9]+$ ]] || { echo "platform must be lowercase letters and digits: $platform" >&2; exit 2; }
[[ -f "$body" ]] || { echo "no such body file: $body" >&2; exit 2; }
secret="${WEBHOOK_SECRET:-}"
[[ "$secret" == whsec_* ]] || { echo "set WEBHOOK_SECRET to the platform's secret (whsec_ followed by base64)" >&2; exit 2; }

# 12 random bytes as hex: unique per event, within the hub's id alphabet (A-Z a-z 0-9 _ - : = +).
[[ -n "$id" ]] || id="msg_$(od -An -v -N12 -tx1 /dev/urandom | tr -d ' \n')"
[[ -n "$timestamp" ]] || timestamp="$(date +%s)"

# HMAC key = the base64 after whsec_, as hex for openssl; -v so od never folds repeated lines into '*'.
key="$(printf '%s' "${secret#whsec_}" | base64 -d | od -An -v -tx1 | tr -d ' \n')"
[[ -n "$key" ]] || { echo "WEBHOOK_SECRET has no key bytes after whsec_" >&2; exit 2; }
signature="$({ printf '%s.%s.' "$id" "$timestamp"; cat "$body"; } | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | base64 | tr -d '\n')"

url="${HUB_URL:-http://localhost:7071}"
url="${url%/}/api/webhooks/$platform"

if $print; then
  printf 'POST %s\n' "$url"
  printf 'content-type: %s\n' "$content_type"
  printf 'webhook-id: %s\n' "$id"
  printf 'webhook-timestamp: %s\n' "$timestamp"
  printf 'webhook-signature: v1,%s\n' "$signature"
  exit 0
fi

exec curl -sS -i --fail-with-body -X POST "$url" \
  -H "content-type: $content_type" \
  -H "webhook-id: $id" \
  -H "webhook-timestamp: $timestamp" \
  -H "webhook-signature: v1,$signature" \
  --data-binary "@$body"
