#!/usr/bin/env bash
# with-node.sh <major> <command...>
# Runs <command> with Node <major> (latest <major>.x from the npm registry's `node` package)
# first on PATH, and npm_config_nodedir pointing at that Node's headers, so node-gyp builds
# native addons (better-sqlite3) for that runtime.
#   scripts/with-node.sh 24 npm rebuild better-sqlite3
#   scripts/with-node.sh 24 npm test
# Cache: $MUVEE_NODE_CACHE/node-<major>, default ${XDG_CACHE_HOME:-$HOME/.cache}/muvee-dingtalk/node-<major>.
# Installs once; later runs only check that the binary is there (no network).
# MUVEE_NODE_UPDATE=1 reinstalls to pick up a newer <major>.x.
set -euo pipefail

if [ $# -lt 2 ] || ! [[ $1 =~ ^[0-9]+$ ]]; then
  echo "usage: $0 <node-major> <command...>" >&2
  exit 64
fi
major=$1; shift
cache_root=${MUVEE_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/muvee-dingtalk}
dir=$cache_root/node-$major
pkg=$dir/node_modules/node
bin=$pkg/bin/node

# The `node` package's preinstall fetches node-<os>-<arch> (the real binary and include/node).
headers_dir() {
  local d
  for d in "$pkg"/node_modules/node-*-*; do
    [ -f "$d/include/node/node.h" ] && { echo "$d"; return 0; }
  done
  return 1
}

installed_ok() {
  [ -x "$bin" ] && headers_dir > /dev/null && [ "$("$bin" -p 'process.versions.node.split(".")[0]' 2> /dev/null)" = "$major" ]
}

if [ "${MUVEE_NODE_UPDATE:-0}" = 1 ] || ! installed_ok; then
  # Uses whichever npm/node is on PATH now just to download; pin to <major> by range.
  echo "with-node: installing node@$major into $dir ..." >&2
  tmp=$dir.tmp.$$
  rm -rf "$tmp"; mkdir -p "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && echo '{"name":"muvee-node-cache","private":true}' > package.json \
    && npm install --no-audit --no-fund --loglevel=error --no-package-lock "node@$major" >&2)
  rm -rf "$dir"; mv "$tmp" "$dir"; trap - EXIT
  installed_ok || { echo "with-node: node@$major install in $dir is incomplete" >&2; exit 1; }
fi

nodedir=$(headers_dir)
export PATH="$pkg/bin:$PATH"
export npm_config_nodedir="$nodedir"
echo "with-node: node $("$bin" --version) ($bin), npm_config_nodedir=$nodedir" >&2
exec "$@"
