#!/usr/bin/env bash
# Cold build time of a types-only dependency on the app.bsky + com.atproto lexicons:
# atmo-api vs atrium-api vs jacquard-api, one scratch crate each (atmo/, atrium/,
# jacquard/, each its own workspace with a committed Cargo.lock), built with
# `cargo build` (debug) in a fresh target directory, one after the other on the same
# machine. Prints seconds per crate and atmo's ratio to the others. Also prints the
# size of atmo-api's generated code per namespace.
#
#   benches/api-build/run.sh                     # all three, once each
#   RUNS=2 benches/api-build/run.sh              # rounds atmo, atrium, jacquard, atmo...;
#                                                # the table shows each crate's fastest run
#   IMPLS="atmo atrium" benches/api-build/run.sh
#   PROFILE=release benches/api-build/run.sh     # release builds instead
#
# Needs the dependencies in the local cargo cache or a reachable registry.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
IMPLS="${IMPLS:-atmo atrium jacquard}"
RUNS="${RUNS:-1}"
PROFILE="${PROFILE:-dev}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

echo "generated atmo-api code per namespace:"
for d in "$ROOT"/crates/atmo-api/src/generated/*/; do
  ns="$(basename "$d")"
  printf '  %-16s %5d files %9d bytes\n' "$ns" "$(find "$d" -name '*.rs' | wc -l)" \
    "$(find "$d" -name '*.rs' -exec cat {} + | wc -c)"
done

declare -A SECS
for round in $(seq "$RUNS"); do
  for impl in $IMPLS; do
    echo "building $impl ($PROFILE, fresh target dir, round $round)..." >&2
    (cd "$HERE/$impl" && cargo fetch --quiet) || { echo "  cannot fetch $impl's dependencies" >&2; continue; }
    start=$(date +%s.%N)
    if (cd "$HERE/$impl" && CARGO_TARGET_DIR="$TMP/$impl" cargo build --quiet --profile "$PROFILE"); then
      end=$(date +%s.%N)
      t=$(echo "$end - $start" | bc)
      echo "  $impl: $t s" >&2
      if [ -z "${SECS[$impl]:-}" ] || [ "$(echo "$t < ${SECS[$impl]}" | bc)" = 1 ]; then
        SECS[$impl]=$t
      fi
    else
      echo "  $impl did not build" >&2
    fi
    rm -rf "${TMP:?}/$impl"
  done
done

echo
printf '%-10s %10s\n' crate seconds
for impl in $IMPLS; do
  [ -n "${SECS[$impl]:-}" ] && printf '%-10s %10.1f\n' "$impl-api" "${SECS[$impl]}"
done
if [ -n "${SECS[atmo]:-}" ]; then
  for other in atrium jacquard; do
    [ -n "${SECS[$other]:-}" ] && printf 'atmo / %-8s %.2f\n' "$other" "$(echo "${SECS[atmo]} / ${SECS[$other]}" | bc -l)"
  done
fi
