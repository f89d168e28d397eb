#!/usr/bin/env bash
# Whole-process comparison of firehose frame processing: the same recorded subscribeRepos
# #commit frames (5,000 frames of 6-8 KB, made once with atmo-repo by atmo-firehose's own
# frame generator, see atmo/src/bin/gen.rs) read from a file and processed, every one, by
#   atmo*     atmo-firehose: decode + full verification (block hashes, commit signature,
#             ops against the CAR, sync 1.1, records decoded), atmo/src/main.rs;
#   node      the official TypeScript consumer: @atproto/xrpc-server Frame, the subscribeRepos
#             lexicon, @atproto/sync parseCommitAuthenticated (hashes, signature, MST proofs of
#             the ops, records decoded; no sync 1.1), node/bench-firehose.mjs;
#   python    the Python `atproto` package's firehose decoding (Frame.from_bytes,
#             parse_subscribe_repos_message, CAR.from_bytes, records into models) plus block
#             hashes and the commit signature checked by the driver, python/bench_firehose.py.
# Each driver's header comment says exactly what it checks. Wall and CPU time from hyperfine
# (mean of RUNS runs after one warm-up), peak RSS from /usr/bin/time -v; the times are of the
# whole process (start-up and reading the 33 MB fixture included).
#
#   benches/firehose-compare/run.sh
#   RUNS=3 DRIVERS="atmo atmo-2w node" benches/firehose-compare/run.sh
#
# DRIVERS (default: all) names any of:
#   atmo            one thread: RepoEvent::decode + Checker::check, pure-Rust k256
#   atmo-2w         decoding on the main thread, checks on 2 workers (verify_pool), pure-Rust k256
#   atmo-secp       as atmo, built with --features secp256k1 (libsecp256k1 signature checks)
#   atmo-secp-2w    as atmo-2w, with libsecp256k1
#   node            @atproto/sync parseCommitAuthenticated (the Firehose's default)
#   node-unauth     @atproto/sync parseCommitUnauthenticated (`unauthenticatedCommits: true`:
#                   hashes and records only, no signature, no MST proofs)
#   python
# The first is the baseline of the x/first columns. FRAMES/ACCOUNTS/RECORDS/SEED change the
# fixture (default 5000 40 10000 11, the frames of crates/atmo-firehose/benches/verify.rs).
# Needs: cargo, hyperfine (apt-get install -y hyperfine), Node >= 22 (NODE=...; else the
# refnet's Node 22 at tests/refnet/node_modules/.bin/node is used) with npm, python3 with
# venv. Everything is built or installed under benches/firehose-compare/target and node/.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
RUNS="${RUNS:-5}"
FRAMES="${FRAMES:-5000}" ACCOUNTS="${ACCOUNTS:-40}" RECORDS="${RECORDS:-10000}" SEED="${SEED:-11}"
DRIVERS="${DRIVERS:-atmo atmo-2w atmo-secp atmo-secp-2w node node-unauth python}"
BUILD_TIMEOUT="${BUILD_TIMEOUT:-1200}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HERE/target}"
T="$HERE/target"
FIX="$T/fixture-$FRAMES-${ACCOUNTS}x$RECORDS-$SEED"
VENV="$T/pyvenv"
BINS="$T/bin"
mkdir -p "$BINS"

command -v hyperfine >/dev/null || {
  echo "installing hyperfine..." >&2
  { apt-get install -y hyperfine >/dev/null 2>&1 || sudo apt-get install -y hyperfine >/dev/null 2>&1; } ||
    { echo "hyperfine is missing (apt-get install -y hyperfine)" >&2; exit 1; }
}
[ -x /usr/bin/time ] || { echo "/usr/bin/time is missing (apt-get install -y time)" >&2; exit 1; }

# 1. The atmo binaries: the generator and the driver, without and with libsecp256k1.
build() { # FEATURES NAME
  (cd "$HERE" && timeout "$BUILD_TIMEOUT" nice -n 10 cargo build --release --quiet -p firehose-compare-atmo ${1:+--features "$1"}) &&
    cp "$CARGO_TARGET_DIR/release/firehose-compare-atmo" "$BINS/$2" &&
    cp "$CARGO_TARGET_DIR/release/firehose-compare-gen" "$BINS/gen"
}
echo "building the atmo driver (release)..." >&2
build "" atmo-k256 || { echo "the atmo driver does not build" >&2; exit 1; }
case " $DRIVERS " in *" atmo-secp"*)
  echo "building the atmo driver with --features secp256k1..." >&2
  build secp256k1 atmo-secp || { echo "the secp256k1 build failed; atmo-secp* left out" >&2; DRIVERS="$(echo " $DRIVERS " | sed 's/ atmo-secp[^ ]*//g')"; } ;;
esac

# 2. The fixture.
if [ ! -f "$FIX/frames.bin" ] || [ ! -f "$FIX/keys.txt" ]; then
  echo "making the fixture in $FIX..." >&2
  nice -n 10 "$BINS/gen" "$FIX" "$FRAMES" "$ACCOUNTS" "$RECORDS" "$SEED" || exit 1
fi
FRAMES_N=$("$BINS/atmo-k256" "$FIX" 2>/dev/null | tail -1)
FIX_MB=$(python3 -c "import os; print(f'{os.path.getsize(\"$FIX/frames.bin\")/1048576:.1f}')")

# 3. Node and Python.
node_bin() {
  local n="${NODE:-node}"
  if command -v "$n" >/dev/null && [ "$("$n" -p 'process.versions.node.split(".")[0]')" -ge 22 ] 2>/dev/null; then
    command -v "$n"
  elif [ -x "$ROOT/tests/refnet/node_modules/.bin/node" ]; then
    echo "$ROOT/tests/refnet/node_modules/.bin/node"
  else
    return 1
  fi
}
python_venv() {
  local req="$HERE/python/requirements.txt"
  if [ -x "$VENV/bin/python" ] && cmp -s "$req" "$VENV/requirements.txt"; then return 0; fi
  rm -rf "$VENV"
  nice -n 10 python3 -m venv "$VENV" || { echo "  (python3 -m venv failed: apt-get install -y python3-venv?)" >&2; return 1; }
  timeout "$BUILD_TIMEOUT" nice -n 10 "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$req" || return 1
  cp "$req" "$VENV/requirements.txt"
}
IMPLS=(); CMDS=()
for d in $DRIVERS; do
  case "$d" in
    atmo) IMPLS+=("atmo-1t-k256"); CMDS+=("$BINS/atmo-k256 $FIX") ;;
    atmo-2w) IMPLS+=("atmo-2w-k256"); CMDS+=("$BINS/atmo-k256 $FIX --pool 2") ;;
    atmo-secp) IMPLS+=("atmo-1t-secp"); CMDS+=("$BINS/atmo-secp $FIX") ;;
    atmo-secp-2w) IMPLS+=("atmo-2w-secp"); CMDS+=("$BINS/atmo-secp $FIX --pool 2") ;;
    node|node-unauth)
      if NODE_BIN=$(node_bin); then
        if [ ! -d "$HERE/node/node_modules/@atproto/sync" ]; then
          echo "installing the node driver's packages (npm ci)..." >&2
          (cd "$HERE/node" && PATH="$(dirname "$NODE_BIN"):$PATH" npm ci --no-audit --no-fund >/dev/null) ||
            { echo "  npm ci failed; node left out" >&2; continue; }
        fi
        if [ "$d" = node ]; then
          IMPLS+=("node-@atproto/sync"); CMDS+=("$NODE_BIN $HERE/node/bench-firehose.mjs $FIX")
        else
          IMPLS+=("node-sync-unauth"); CMDS+=("$NODE_BIN $HERE/node/bench-firehose.mjs $FIX --unauthenticated")
        fi
      else
        echo "no Node >= 22; node left out" >&2
      fi ;;
    python)
      echo "preparing the Python atproto venv..." >&2
      if python_venv; then
        IMPLS+=("python-atproto"); CMDS+=("$VENV/bin/python $HERE/python/bench_firehose.py $FIX")
      else
        echo "  the Python venv could not be made; left out" >&2
      fi ;;
    *) echo "unknown driver $d" >&2; exit 1 ;;
  esac
done
[ "${#IMPLS[@]}" -gt 0 ] || { echo "no driver to run" >&2; exit 1; }

# 4. Runs.
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
args=()
for i in "${!IMPLS[@]}"; do args+=(-n "${IMPLS[$i]}" "${CMDS[$i]}"); done
echo "running hyperfine ($RUNS runs each, $FRAMES_N frames, $FIX_MB MiB)..." >&2
hyperfine --style none --warmup 1 --runs "$RUNS" --export-json "$TMP/h.json" "${args[@]}" >/dev/null 2>&1 ||
  { echo "hyperfine failed (a driver exited non-zero?)" >&2; exit 1; }
for i in "${!IMPLS[@]}"; do
  count=$(${CMDS[$i]} 2>"$TMP/err" | tail -1)
  loop=$(awk '/^loop_ms/ {print $2}' "$TMP/err")
  rss=$(/usr/bin/time -v ${CMDS[$i]} 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {print $2}')
  echo "${IMPLS[$i]} $count $rss ${loop:-0}" >>"$TMP/extra"
done
python3 - "$TMP/h.json" "$TMP/extra" "$FRAMES_N" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
extra = [l.split() for l in open(sys.argv[2])]
frames = int(sys.argv[3])
base = results[0]
bw, bc = base["mean"], base["user"] + base["system"]
bl = float(extra[0][3]) or 1
print(f"\n{'implementation':<20} {'wall_ms':>8} {'frames/s':>9} {'x/first':>8} {'cpu_ms':>8} {'frames/cpu-s':>12} {'cpu/first':>9} {'loop_ms':>8} {'loop_f/s':>9} {'loop/first':>10} {'rss_MB':>7} {'count':>6}")
for r, (name, count, rss, loop) in zip(results, extra):
    w, c, l = r["mean"], r["user"] + r["system"], float(loop) or float("nan")
    print(f"{name:<20} {w*1000:8.0f} {frames/w:9.0f} {w/bw:7.2f}x {c*1000:8.0f} {frames/c:12.0f} {c/bc:8.2f}x {l:8.0f} {frames*1000/l:9.0f} {l/bl:9.2f}x {int(rss)/1024:7.1f} {count:>6}")
print(f"(wall: mean wall time of the whole process, {len(results[0]['times'])} runs; frames/s: frames / wall;")
print(" cpu: mean user+system time, steadier on a shared machine; x/first: that driver's time /")
print(f" the first driver's ({results[0]['command'].split()[0].rsplit('/',1)[-1]}), > 1 means the first is faster;")
print(" loop: the frame loop alone as the driver times it (no start-up, no fixture reading), one run;")
print(" rss: peak resident set size from /usr/bin/time -v; count: frames the driver checked)")
PY
