#!/usr/bin/env bash
# Whole-process comparison: CAR file -> every record decoded with every block hash checked,
# for 1k, 10k and 100k-record repositories made by @atproto/repo (tests/oracle/gen-corpus.sh),
# through atmo-repo, atrium-repo, jacquard-repo, rsky-repo, @atproto/repo (Node) and the
# Python `atproto` package. Each driver's header comment says what its library checks and
# what the driver adds (jacquard-repo, rsky-repo and Python `atproto` do not check block
# hashes themselves, so their drivers hash every block).
# Wall time from hyperfine (mean of several runs), peak RSS from /usr/bin/time -v.
#
#   benches/repo-compare/run.sh                 # build the drivers, run, print the table
#   SIZES="10000" RUNS=5 DRIVERS="atmo atrium" benches/repo-compare/run.sh
#   ROUNDS=10 RUNS=2 ...                        # the drivers take turns: 10 rounds of 2 runs
#                                               # each (steadier ratios on a busy machine)
#   benches/repo-compare/run.sh --build-time    # also: clean release build of atmo-repo
#                                               # vs atrium-repo, each in a fresh target dir
#
# DRIVERS (default: all) names any of: atmo atrium jacquard rsky node python. The first is
# the baseline of the x/atmo columns. atmo and atrium also come in variants (same binary,
# other settings): atmo-MODE and atmo-MODE-1t, MODE one of ref (what `atmo` runs: borrowed
# `ValueRef`), owned (owned `Value`), typed (each app.bsky record as its generated atmo-api
# type), `-1t` on one thread (otherwise car::default_threads()); atrium-typed decodes each
# app.bsky record into its atrium-api type. RATIOS="a:b ..." prints wall(a)/wall(b) for
# those pairs. The run of issue 9 (owned values and typed records, 1 and 2 threads):
#
#   SIZES=100000 ROUNDS=10 RUNS=2 DRIVERS="atmo-owned atmo-owned-1t atmo-typed atmo-typed-1t atrium atrium-typed" \
#     RATIOS="atrium:atmo-owned atrium:atmo-owned-1t atrium-typed:atmo-typed atrium-typed:atmo-typed-1t atmo-owned-1t:atmo-typed-1t" \
#     benches/repo-compare/run.sh
# Needs: cargo, node + npm (for the corpus and the @atproto/repo driver), hyperfine,
# python3 with venv (for the Python driver: a venv in benches/repo-compare/target/pyvenv,
# from python/requirements.txt).
# Cargo drivers are built under `nice -n 19`; one that fails to build within BUILD_TIMEOUT
# seconds (default 1200: jacquard-repo's dependency tree is large) is left out of the table,
# and so is the Python driver if its venv cannot be made.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$ROOT/tests/oracle/out"
SIZES="${SIZES:-1000 10000 100000}"
RUNS="${RUNS:-5}"
ROUNDS="${ROUNDS:-1}"
BUILD_TIMEOUT="${BUILD_TIMEOUT:-1200}"
VENV="$HERE/target/pyvenv"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HERE/target}"
BIN="$CARGO_TARGET_DIR/release"

command -v hyperfine >/dev/null || { echo "hyperfine is missing (apt-get install -y hyperfine)" >&2; exit 1; }

# 1. Corpus.
for n in $SIZES; do
  [ -f "$OUT/repo-$n.car" ] || "$ROOT/tests/oracle/gen-corpus.sh" "$n" || exit 1
done
case " ${DRIVERS:-node} " in *" node "*)
  [ -d "$ROOT/tests/oracle/node_modules/@atproto/repo" ] || (cd "$ROOT/tests/oracle" && npm ci --no-audit --no-fund) ;;
esac

# 2. Drivers.
# The Python venv is (re)made when python/requirements.txt differs from the one it was made from.
python_venv() {
  local req="$HERE/python/requirements.txt"
  if [ -x "$VENV/bin/python" ] && cmp -s "$req" "$VENV/requirements.txt"; then return 0; fi
  rm -rf "$VENV"
  nice -n 19 python3 -m venv "$VENV" || { echo "  (python3 -m venv failed: apt-get install -y python3-venv?)" >&2; return 1; }
  timeout "$BUILD_TIMEOUT" nice -n 19 "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$req" || return 1
  cp "$req" "$VENV/requirements.txt"
}
IMPLS=()
CMDS=()
declare -A BUILT
for impl in ${DRIVERS:-atmo atrium jacquard rsky node python}; do
  t0=$(date +%s)
  case "$impl" in
    node)
      IMPLS+=("@atproto/repo"); CMDS+=("node $ROOT/tests/oracle/bench-read.mjs")
      continue ;;
    python)
      echo "preparing the Python atproto venv..." >&2
      if python_venv; then
        IMPLS+=("atproto-py"); CMDS+=("$VENV/bin/python $HERE/python/bench_read.py")
        echo "  ready in $(( $(date +%s) - t0 )) s" >&2
      else
        echo "  the Python venv could not be made; left out" >&2
      fi
      continue ;;
  esac
  # A variant: the package, and the settings in front of its binary.
  pkg="$impl"; envs=""
  case "$impl" in
    atmo-*)
      pkg=atmo; mode="${impl#atmo-}"; mode="${mode%-1t}"
      envs="env ATMO_MODE=$mode"
      case "$impl" in *-1t) envs="$envs ATMO_THREADS=1" ;; esac ;;
    atrium-typed) pkg=atrium; envs="env ATRIUM_MODE=typed" ;;
  esac
  name="$pkg-repo"; [ "$pkg" != "$impl" ] && name="$impl"
  if [ -z "${BUILT[$pkg]:-}" ]; then
    echo "building repo-compare-$pkg (release)..." >&2
    if (cd "$HERE" && timeout "$BUILD_TIMEOUT" nice -n 19 cargo build --release --quiet -p "repo-compare-$pkg"); then
      BUILT[$pkg]=yes
      echo "  built in $(( $(date +%s) - t0 )) s" >&2
    else
      BUILT[$pkg]=no
      echo "  repo-compare-$pkg did not build within ${BUILD_TIMEOUT} s; left out" >&2
    fi
  fi
  if [ "${BUILT[$pkg]}" = yes ]; then
    IMPLS+=("$name"); CMDS+=("${envs:+$envs }$BIN/repo-compare-$pkg")
  fi
done
[ "${#IMPLS[@]}" -gt 0 ] || { echo "no driver to run" >&2; exit 1; }

# 3. Runs.
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
rss_kb() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {print $2}'; }
printf '\n%-8s %-14s %7s %9s %9s %9s %9s %8s %8s %7s\n' records implementation car_MB wall_ms wall/atmo cpu_ms cpu/atmo rss_MB rss/car count
for n in $SIZES; do
  car="$OUT/repo-$n.car"
  car_bytes=$(stat -c %s "$car")
  args=()
  for i in "${!IMPLS[@]}"; do args+=(-n "${IMPLS[$i]}" "${CMDS[$i]} $car"); done
  # ROUNDS rounds of RUNS runs of each driver, merged: the drivers take turns, so a
  # change in the machine's load during the measurement reaches all of them alike.
  for r in $(seq "$ROUNDS"); do
    hyperfine --style none --warmup 1 --runs "$RUNS" --export-json "$TMP/$n.$r.json" "${args[@]}" >/dev/null 2>&1
  done
  node -e "
    const rounds = Array.from({length: $ROUNDS}, (_, r) => require('$TMP/$n.' + (r + 1) + '.json').results);
    const results = rounds[0].map((_, i) => {
      const times = rounds.flatMap(rs => rs[i].times).sort((a, b) => a - b);
      const m = times.length >> 1;
      const avg = f => rounds.reduce((s, rs) => s + rs[i][f], 0) / rounds.length;
      return {mean: times.reduce((s, t) => s + t, 0) / times.length,
              median: times.length % 2 ? times[m] : (times[m - 1] + times[m]) / 2,
              user: avg('user'), system: avg('system'), runs: times.length};
    });
    require('fs').writeFileSync('$TMP/$n.json', JSON.stringify({results}));"
  atmo_ms=""; atmo_cpu=""
  for i in "${!IMPLS[@]}"; do
    read -r ms cpu < <(node -e "const r=require('$TMP/$n.json').results[$i]; console.log((r.mean*1000).toFixed(1), ((r.user+r.system)*1000).toFixed(1))")
    [ -z "$atmo_ms" ] && atmo_ms=$ms && atmo_cpu=$cpu
    count=$(${CMDS[$i]} "$car" 2>/dev/null | tail -1)
    rss=$(rss_kb ${CMDS[$i]} "$car")
    printf '%-8s %-14s %7.1f %9s %8.2fx %9s %8.2fx %8.1f %8.2f %7s\n' "$n" "${IMPLS[$i]}" \
      "$(echo "$car_bytes/1048576" | bc -l)" "$ms" "$(echo "$ms/$atmo_ms" | bc -l)" \
      "$cpu" "$(echo "$cpu/$atmo_cpu" | bc -l)" \
      "$(echo "$rss/1024" | bc -l)" "$(echo "$rss*1024/$car_bytes" | bc -l)" "$count"
  done
done
for pair in ${RATIOS:-}; do
  a="${pair%%:*}"; b="${pair#*:}"; ia=""; ib=""
  for i in "${!IMPLS[@]}"; do
    [ "${IMPLS[$i]}" = "$a" ] || [ "${IMPLS[$i]}" = "$a-repo" ] && ia=$i
    [ "${IMPLS[$i]}" = "$b" ] || [ "${IMPLS[$i]}" = "$b-repo" ] && ib=$i
  done
  [ -n "$ia" ] && [ -n "$ib" ] || { echo "ratio $pair: no such driver" >&2; continue; }
  for n in $SIZES; do
    node -e "const r=require('$TMP/$n.json').results; const a=r[$ia], b=r[$ib];
      console.log('$n records: wall $a / $b = ' + (a.mean/b.mean).toFixed(2) + 'x (' + (a.mean*1000).toFixed(1) + ' ms / ' + (b.mean*1000).toFixed(1) + ' ms), median ' + (a.median/b.median).toFixed(2) + 'x (' + (a.median*1000).toFixed(1) + ' ms / ' + (b.median*1000).toFixed(1) + ' ms)')"
  done
done
echo "(wall: mean wall time; cpu: mean user+system time, steadier on a shared machine; the"
echo " ratios also compare medians, which the VM's slow first touches of memory move less;"
echo " x/atmo: that implementation's time / atmo-repo's, > 1 means atmo-repo is faster;"
echo " rss: peak resident set size from /usr/bin/time -v; car_MB: MiB)"

# 4. Clean release build times (optional: takes minutes).
if [ "${1:-}" = "--build-time" ]; then
  export CARGO_PROFILE_RELEASE_DEBUG=false
  t0=$(date +%s.%N)
  (cd "$ROOT" && CARGO_TARGET_DIR="$TMP/t-atmo" cargo build --release --quiet -p atmo-repo) || exit 1
  t1=$(date +%s.%N)
  (cd "$HERE" && CARGO_TARGET_DIR="$TMP/t-atrium" cargo build --release --quiet -p atrium-repo) || exit 1
  t2=$(date +%s.%N)
  a=$(echo "$t1-$t0" | bc -l); b=$(echo "$t2-$t1" | bc -l)
  printf '\nclean release build: atmo-repo %.1f s, atrium-repo %.1f s (atmo/atrium = %.2f)\n' "$a" "$b" "$(echo "$a/$b" | bc -l)"
fi
