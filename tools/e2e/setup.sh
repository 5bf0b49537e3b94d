#!/usr/bin/env bash
# Sets up the browser end-to-end environment OUTSIDE the project: code-server (a real VS Code, from npm),
# Debian's Chromium, and playwright-core, in $REPOPOT_E2E_DIR (default ../e2e-tools beside the project).
# Idempotent: a second run only checks. Works without network beyond the npm registry and Debian's mirror:
#   - @vscode/ripgrep downloads rg from GitHub in its postinstall: we pre-seed its download cache with
#     Debian's ripgrep packed the way it expects;
#   - native modules of code-server (kerberos, native-keymap, keytar) build against Debian dev headers;
#   - npm refuses some lifecycle scripts as root without unsafe-perm.
# Prints the paths the e2e test needs (also written to $REPOPOT_E2E_DIR/env.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project="$(cd "$here/../.." && pwd)"
DIR="${REPOPOT_E2E_DIR:-$(dirname "$project")/e2e-tools}"
CODE_SERVER_VERSION="${CODE_SERVER_VERSION:-4.100.3}"
PLAYWRIGHT_VERSION="${PLAYWRIGHT_VERSION:-$(node -p "require('$project/node_modules/playwright-core/package.json').version" 2>/dev/null || echo 1.65.1)}"

log() { printf 'e2e setup: %s\n' "$*" >&2; }

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v rg >/dev/null || need_apt+=(ripgrep)
for p in libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config; do
  dpkg -s "$p" >/dev/null 2>&1 || need_apt+=("$p")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then log "needs root to apt-get install ${need_apt[*]}"; exit 1; fi
  log "installing ${need_apt[*]} (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need_apt[@]}" >/dev/null
fi

cs="$DIR/node_modules/.bin/code-server"
if [ -x "$cs" ] && [ "$("$cs" --version 2>/dev/null | head -1 | cut -d' ' -f1)" = "$CODE_SERVER_VERSION" ]; then
  log "code-server $CODE_SERVER_VERSION already installed in $DIR"
else
  # @vscode/ripgrep looks for ripgrep-<ver>-<target>.tar.gz in os.tmpdir()/vscode-ripgrep-cache-<pkgver>.
  tmp="$(node -p 'require("os").tmpdir()')"
  stage="$(mktemp -d)"
  cp "$(command -v rg)" "$stage/rg"
  for pkgver in 1.15.9 1.15.10 1.15.11 1.15.12; do
    mkdir -p "$tmp/vscode-ripgrep-cache-$pkgver"
    for triple in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
      tar czf "$tmp/vscode-ripgrep-cache-$pkgver/ripgrep-v13.0.0-10-$triple.tar.gz" -C "$stage" rg
    done
  done
  rm -rf "$stage"
  mkdir -p "$DIR"
  [ -f "$DIR/package.json" ] || (cd "$DIR" && npm init -y >/dev/null)
  log "installing code-server $CODE_SERVER_VERSION and playwright-core $PLAYWRIGHT_VERSION into $DIR (several minutes)"
  if ! (cd "$DIR" && npm_config_yes=true npm_config_unsafe_perm=true npm install --no-audit --no-fund --unsafe-perm \
      "code-server@$CODE_SERVER_VERSION" "playwright-core@$PLAYWRIGHT_VERSION" >"$DIR/install.log" 2>&1); then
    tail -40 "$DIR/install.log" >&2
    exit 1
  fi
fi

cat >"$DIR/env.sh" <<ENV
export REPOPOT_CODE_SERVER="$cs"
export REPOPOT_CHROMIUM="$(command -v chromium)"
export REPOPOT_PLAYWRIGHT="$DIR/node_modules/playwright-core"
ENV
cat "$DIR/env.sh"
