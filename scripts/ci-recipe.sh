#!/usr/bin/env bash
# The README's "In CI" recipe, as it runs: from a fresh clone after `npm ci`, with no .env and
# no stdin. Starts the DingTalk emulator on a free port, waits until it answers, takes the demo
# app's credentials it prints, runs `check-config --live` and a whole `login --no-browser --json`
# (curl -L plays the browser), checks both exit codes and prints one line. Logs stay in a temp
# folder (kept and named on failure); the emulator's whole process group is stopped on exit.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cli=(node "$root/bin/muvee-dingtalk.js")
work=$(mktemp -d "${TMPDIR:-/tmp}/muvee-dingtalk-ci.XXXXXX")
cd "$work" # no ./.env of the checkout is read, and nothing is written beside it
emulator=''
ok=0
finish() {
  if [ -n "$emulator" ]; then
    kill -TERM -- "-$emulator" 2>/dev/null || true
    wait "$emulator" 2>/dev/null || true
  fi
  if [ "$ok" = 1 ]; then rm -rf "$work"; else echo "ci-recipe: logs kept in $work" >&2; fi
}
trap finish EXIT
fail() {
  echo "ci-recipe: FAILED: $*" >&2
  for log in "$work"/*.log; do [ -f "$log" ] && { echo "--- $log" >&2; cat "$log" >&2; }; done
  exit 1
}
free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}
# wait_for FILE PATTERN SECONDS: a bounded poll, not a fixed sleep.
wait_for() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

emu_port=$(free_port)
callback="http://127.0.0.1:$(free_port)/auth/dingtalk/callback"
# Its own process group (set -m), so the emulator and anything it started stop together.
set -m
env -u DINGTALK_CLIENT_ID -u DINGTALK_CLIENT_SECRET -u DINGTALK_REDIRECT_URL \
  "${cli[@]}" emulator --port "$emu_port" --auto-approve --redirect-uri "$callback" \
  >"$work/emulator.log" 2>&1 </dev/null &
emulator=$!
set +m
wait_for "$work/emulator.log" 'DINGTALK_CLIENT_SECRET=' 30 || fail "the emulator did not start"
for ((i = 0; i < 100; i++)); do
  curl -s -o /dev/null "http://127.0.0.1:$emu_port/" && break
  sleep 0.1
done
export DINGTALK_LOGIN_BASE="http://127.0.0.1:$emu_port" DINGTALK_API_BASE="http://127.0.0.1:$emu_port"
DINGTALK_CLIENT_ID=$(sed -n 's/^ *DINGTALK_CLIENT_ID=//p' "$work/emulator.log")
DINGTALK_CLIENT_SECRET=$(sed -n 's/^ *DINGTALK_CLIENT_SECRET=//p' "$work/emulator.log")
export DINGTALK_CLIENT_ID DINGTALK_CLIENT_SECRET
export DINGTALK_REDIRECT_URL="$callback"
JWT_SECRET=$(node -e "console.log(require('crypto').randomBytes(32).toString('hex'))")
export JWT_SECRET MUVEE_DINGTALK_DB="$work/users.db"

"${cli[@]}" check-config --live >"$work/check-config.log" 2>&1 </dev/null ||
  fail "check-config --live exited $?"

"${cli[@]}" login --no-browser --json --timeout 60 >"$work/login.json" 2>"$work/login.log" </dev/null &
login=$!
wait_for "$work/login.log" "http://127.0.0.1:$emu_port/oauth2/auth?" 30 || fail "login printed no authorize URL"
url=$(grep -o "http://127.0.0.1:$emu_port/oauth2/auth?[^ ]*" "$work/login.log" | head -n 1)
curl -sL --max-time 60 "$url" >/dev/null || fail "curl could not follow the authorize URL"
code=0
wait "$login" || code=$?
[ "$code" -eq 0 ] || fail "login exited $code"
email=$(node -e "const d=JSON.parse(require('fs').readFileSync(process.argv[1],'utf8')); if(!d.sessionToken) process.exit(1); console.log(d.email)" "$work/login.json") ||
  fail "login printed no session token"
ok=1
echo "ci-recipe: ok: emulator on $DINGTALK_API_BASE, check-config --live exit 0, login exit 0 as $email"
