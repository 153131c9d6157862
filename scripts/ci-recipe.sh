#!/usr/bin/env bash
# The README's "In CI" recipe, as it runs: from a fresh clone after `npm ci`, with no .env and
# no stdin. Starts the DingTalk emulator on a free port, waits until it answers, takes the demo
# app's credentials it prints, runs `check-config --live` and a whole `login --no-browser --json`
# (curl -L plays the browser), checks both exit codes; then, where muvee-oracle and PostgreSQL are
# there, a local muvee (muvee's own handlers on a throwaway cluster) for `check-config --muvee` in
# JUnit, GitHub and JSON formats and `verify-token --muvee`. Prints one line. Logs stay in a temp
# folder (kept and named on failure); the emulator's and muvee's process groups and the cluster
# are stopped on exit.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cli=(node "$root/bin/muvee-dingtalk.js")
work=$(mktemp -d "${TMPDIR:-/tmp}/muvee-dingtalk-ci.XXXXXX")
cd "$work" # no ./.env of the checkout is read, and nothing is written beside it
emulator=''
muvee=''
pg_stop=()
ok=0
finish() {
  for group in "$emulator" "$muvee"; do
    if [ -n "$group" ]; then
      kill -TERM -- "-$group" 2>/dev/null || true
      wait "$group" 2>/dev/null || true
    fi
  done
  if [ "${#pg_stop[@]}" -gt 0 ]; then "${pg_stop[@]}" >/dev/null 2>&1 || true; fi
  if [ -n "${pgdir:-}" ]; then cd / && rm -rf "$pgdir"; fi
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

# A local muvee: muvee-oracle serve (muvee's own handlers, see ../shared/muvee-oracle/README.md)
# on a throwaway PostgreSQL cluster with muvee's migrations. Skipped loudly where either is absent.
oracle=${MUVEE_ORACLE:-$root/../shared/muvee-oracle}
[ -d "$oracle" ] && oracle="$oracle/muvee-oracle"
pg_bin=${MUVEE_DINGTALK_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
as_pg=()
if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); fi
muvee_line=''
if [ ! -x "$oracle" ]; then
  muvee_line="--muvee SKIPPED (no muvee-oracle at $oracle; set MUVEE_ORACLE)"
elif [ ! -x "$pg_bin/pg_ctl" ]; then
  muvee_line='--muvee SKIPPED (no PostgreSQL under /usr/lib/postgresql/*/bin; set MUVEE_DINGTALK_PG_BIN)'
elif [ "${#as_pg[@]}" -gt 0 ] && ! id postgres >/dev/null 2>&1; then
  muvee_line='--muvee SKIPPED (running as root without a postgres OS user for initdb)'
fi
if [ -z "$muvee_line" ]; then
  pgdir=$(mktemp -d "${TMPDIR:-/tmp}/muvee-dingtalk-ci-pg.XXXXXX")
  [ "${#as_pg[@]}" -gt 0 ] && chown postgres: "$pgdir"
  pg_password=$(node -e "console.log(require('crypto').randomBytes(16).toString('hex'))")
  printf '%s\n' "$pg_password" >"$pgdir/pwfile"
  [ "${#as_pg[@]}" -gt 0 ] && chown postgres: "$pgdir/pwfile"
  cd "$pgdir" # the postgres OS user cannot enter $work
  "${as_pg[@]}" "$pg_bin/initdb" -D "$pgdir/data" -U muvee --pwfile="$pgdir/pwfile" \
    --auth=scram-sha-256 -E UTF8 --locale=C >"$work/initdb.log" 2>&1 || fail "initdb failed"
  pg_port=$(free_port)
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/postgres.log" -w \
    -o "-p $pg_port -k $pgdir -c listen_addresses=127.0.0.1" start >"$work/pg_ctl.log" 2>&1 ||
    fail "PostgreSQL did not start"
  pg_stop=("${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pgdir/data" -m immediate -w stop)
  cd "$work"
  export PGPASSWORD="$pg_password"
  "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U muvee muvee >>"$work/pg_ctl.log" 2>&1 || fail "createdb failed"
  unset PGPASSWORD
  db="postgres://muvee:$pg_password@127.0.0.1:$pg_port/muvee?sslmode=disable"
  DATABASE_URL="$db" DINGTALK_CLIENT_ID="$DINGTALK_CLIENT_ID" \
    "$oracle" migrate "$(dirname "$oracle")/migrations" >"$work/migrate.log" 2>&1 || fail "muvee's migrations failed"
  uid=$(PGPASSWORD="$pg_password" "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U muvee -d muvee -qAt -v ON_ERROR_STOP=1 \
    -c "WITH u AS (INSERT INTO users (email, name) VALUES ('ops@corp.example', 'Ops') RETURNING id)
        INSERT INTO platform_members (user_id, role, authorized) SELECT id, 'admin', true FROM u RETURNING user_id") ||
    fail "could not add a user to muvee's database"
  set -m
  env -u DINGTALK_REDIRECT_URL DATABASE_URL="$db" JWT_SECRET="$JWT_SECRET" ADMIN_EMAILS=ops@corp.example HARNESS_LISTEN=127.0.0.1:0 \
    DINGTALK_CLIENT_ID="$DINGTALK_CLIENT_ID" DINGTALK_CLIENT_SECRET="$DINGTALK_CLIENT_SECRET" \
    "$oracle" serve >"$work/muvee.log" 2>&1 </dev/null &
  muvee=$!
  set +m
  wait_for "$work/muvee.log" '"url"' 30 || fail "muvee-oracle serve did not start"
  muvee_url=$(sed -n 's/.*"url": *"\([^"]*\)".*/\1/p' "$work/muvee.log" | head -n 1)
  # This tool's configuration as muvee's: the callback is muvee's own.
  muvee_env=(DINGTALK_REDIRECT_URL="$muvee_url/auth/dingtalk/callback" ADMIN_EMAILS=ops@corp.example)
  code=0
  env "${muvee_env[@]}" "${cli[@]}" check-config --live --muvee "$muvee_url" --db "$db" --format junit \
    >"$work/check-config-muvee.xml" 2>"$work/check-config-muvee.log" </dev/null || code=$?
  [ "$code" -eq 0 ] || fail "check-config --live --muvee --format junit exited $code"
  grep -q '<testcase classname="check-config" name="muvee-session">' "$work/check-config-muvee.xml" &&
    ! grep -q '<failure' "$work/check-config-muvee.xml" || fail "the JUnit report is not what was expected"
  code=0
  env "${muvee_env[@]}" GITHUB_STEP_SUMMARY="$work/summary.md" MUVEE_URL="$muvee_url" \
    "${cli[@]}" check-config --live --muvee-user "$uid" --format github >"$work/check-config-github.log" 2>&1 </dev/null || code=$?
  [ "$code" -eq 0 ] || fail "check-config --live --format github (MUVEE_URL) exited $code"
  grep -q '^✓ muvee-session ' "$work/check-config-github.log" && grep -q '| ✅ | `muvee-session` |' "$work/summary.md" ||
    fail "the GitHub annotations or step summary are not what was expected"
  code=0
  env "${muvee_env[@]}" JWT_SECRET=not-the-secret-muvee-runs-with-0123456789 \
    "${cli[@]}" check-config --json --muvee "$muvee_url" --db "$db" >"$work/check-config-wrong.json" 2>"$work/check-config-wrong.log" </dev/null || code=$?
  [ "$code" -eq 7 ] || fail "check-config --muvee with another JWT_SECRET exited $code, not 7"
  node -e "const d=JSON.parse(require('fs').readFileSync(process.argv[1],'utf8')); const c=d.checks.find(c=>c.id==='muvee-session'); if(!c||c.status!=='fail'||!/another JWT_SECRET/.test(c.message)) process.exit(1)" \
    "$work/check-config-wrong.json" || fail "muvee-session did not fail on another JWT_SECRET"
  code=0
  "${cli[@]}" mint-token --uid "$uid" --email ops@corp.example --role admin --ttl 60 2>/dev/null </dev/null |
    "${cli[@]}" verify-token --muvee "$muvee_url" - >"$work/verify-token.log" 2>&1 || code=$?
  [ "$code" -eq 0 ] || fail "verify-token --muvee exited $code"
  muvee_line="check-config --muvee (muvee-oracle) exit 0 (junit, github), 7 with another JWT_SECRET, verify-token --muvee exit 0"
else
  echo "ci-recipe: !!!!! $muvee_line !!!!!" >&2
fi

ok=1
echo "ci-recipe: ok: emulator on $DINGTALK_API_BASE, check-config --live exit 0, login exit 0 as $email; $muvee_line"
