#!/usr/bin/env bash
# A newcomer's first use, from the packed tarball: packs this checkout (`npm pack`), installs the
# tarball into a fresh prefix (`npm install -g --prefix`, timed: that is where native code is
# compiled when no prebuilt binary can be fetched), then, from an empty folder with no .env and
# nothing of this shell's configuration, runs the README's first-use commands in sequence:
#   muvee-dingtalk login --emulator        (approves by itself: no display here)
#   muvee-dingtalk users list              (must list the emulator's user)
#   muvee-dingtalk mint-token --email zhangsan@corp.example | muvee-dingtalk verify-token -
#                                          (a session for that user, valid and found in the DB)
# Each step must exit 0 and say what a newcomer looks for (verify-token: valid, and the user
# found in the database login --emulator wrote); NEWCOMER_TRIAL_KEEP=1 keeps the folder; prints one line per step and
# `newcomer-trial: ok: …`, or names the step that failed, prints its output and exits 1.
# Runs under the node on PATH: `scripts/with-node.sh 22 bash scripts/newcomer-trial.sh`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/muvee-dingtalk-trial.XXXXXX")
ok=0
finish() {
  if [ "$ok" = 1 ] && [ "${NEWCOMER_TRIAL_KEEP:-0}" != 1 ]; then rm -rf "$work"; else echo "newcomer-trial: files kept in $work" >&2; fi
}
trap finish EXIT
fail() {
  echo "newcomer-trial: FAILED: $*" >&2
  [ -f "$work/out" ] && { echo "--- output" >&2; cat "$work/out" >&2; }
  exit 1
}
now() { node -p 'Date.now()'; }
node_version=$(node --version)

# 1. the tarball, as npm would publish it
(cd "$root" && npm pack --silent --pack-destination "$work" > "$work/pack.log" 2>&1) ||
  { cp "$work/pack.log" "$work/out"; fail "npm pack"; }
tgz=$(ls "$work"/muvee-dingtalk-*.tgz)

# 2. installed into a fresh prefix (npm's cache may hold the dependencies' tarballs; the
#    native build runs as it would for anyone)
prefix="$work/prefix"
t0=$(now)
npm install -g --prefix "$prefix" --no-audit --no-fund "$tgz" > "$work/out" 2>&1 ||
  fail "npm install -g --prefix $prefix $tgz"
install_s=$(node -p "(($(now) - $t0) / 1000).toFixed(1)")
echo "newcomer-trial: installed the tarball under $node_version in ${install_s} s"

# 3. the README's first use, from an empty folder, nothing of this shell's configuration
home="$work/home"
mkdir -p "$home"
cd "$home"
run() {
  env -i PATH="$prefix/bin:$(dirname "$(command -v node)"):/usr/bin:/bin" HOME="$home" \
    LANG=C.UTF-8 ${JWT_SECRET:+JWT_SECRET="$JWT_SECRET"} "$@"
}
step() {
  local what=$1 pattern=$2
  shift 2
  local t
  t=$(now)
  local code=0
  run "$@" > "$work/stdout" 2> "$work/stderr" < "${STEP_INPUT:-/dev/null}" || code=$?
  cat "$work/stdout" "$work/stderr" > "$work/out"
  [ "$code" = 0 ] || fail "$what exited $code"
  grep -qE "$pattern" "$work/out" || fail "$what: no /$pattern/ in its output"
  echo "newcomer-trial: $what: ok ($(($(now) - t)) ms)"
}
step 'login --emulator' 'Signed in with DingTalk' muvee-dingtalk login --emulator
step 'users list' 'zhangsan@corp\.example' muvee-dingtalk users list
JWT_SECRET=$(node -p "require('crypto').randomBytes(32).toString('hex')")
step 'mint-token --email zhangsan@corp.example' '^eyJ' \
  muvee-dingtalk mint-token --email zhangsan@corp.example
cp "$work/stdout" "$work/token"
STEP_INPUT="$work/token" step 'verify-token -' 'valid' muvee-dingtalk verify-token -
STEP_INPUT="$work/token" step 'verify-token --json -' '"userInDb": true' \
  muvee-dingtalk verify-token --json -
ok=1
echo "newcomer-trial: ok: $node_version, install ${install_s} s, login --emulator → users list → mint-token → verify-token"
