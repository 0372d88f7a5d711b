#!/usr/bin/env bash
# `npm start`: Kiln's registry and web catalog on 127.0.0.1 with the Kiln OS images in it. Builds
# Kiln OS from Debian's sources (cached in .kiln-os/ — the first run compiles for about a quarter of
# an hour on two cores, later runs reuse it), signs the catalog images with a cosign key generated
# once (.kiln-quickstart/cosign.key), publishes each image whose inputs changed since the last run
# (with SBOM and SLSA provenance attestations), then serves until Ctrl-C and prints the catalog URL
# and the pull commands. A second run starts in seconds. KILN_PORT picks the port (default 5000).
set -euo pipefail
cd "$(dirname "$0")/.."
port="${KILN_PORT:-5000}"
state=.kiln-quickstart
os=.kiln-os
export COSIGN_PASSWORD="${COSIGN_PASSWORD:-kiln-quickstart}"

bash scripts/install-debian-packages.sh scripts/debian-os-packages.txt
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund </dev/null
fi
# Rebuild dist/ only when a source file is newer than it.
if [[ ! -f dist/kiln.js ]] || [[ -n "$(find src -newer dist/kiln.js -print -quit)" ]]; then
  echo "== building Kiln" >&2
  npm run --silent build
fi
kiln() { node dist/kiln.js "$@"; }

echo "== Kiln OS: packages from Debian's sources, then the catalog images (cached in $os/)" >&2
kiln os build --out-dir "$os/out" --signing-key "$os/kiln-os.rsa" --debian-source-cache "$os/debian-sources" >&2

mkdir -p "$state/published"
if [[ ! -f "$state/cosign.key" ]]; then
  (cd "$state" && node ../dist/kiln.js generate-key-pair >/dev/null)
  echo "== generated the signing key $state/cosign.key (public key $state/cosign.pub)" >&2
fi

args=(catalog serve --data-dir "$state/registry" --listen "127.0.0.1:$port" --key "$state/cosign.pub" --log-level warn)
vulndb="${XDG_CACHE_HOME:-$HOME/.cache}/kiln/vuln/vuln.sqlite"
[[ -f "$vulndb" ]] && args+=(--vuln-db "$vulndb")
[[ -f "$state/history.sqlite" ]] && args+=(--history "$state/history.sqlite")
node dist/kiln.js "${args[@]}" 2>>"$state/catalog.log" &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 100); do
  kill -0 $server 2>/dev/null || { echo "kiln catalog serve failed to start:" >&2; tail -20 "$state/catalog.log" >&2; exit 1; }
  node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "http://127.0.0.1:$port/healthz" && break
  sleep 0.2
done

# Publish each catalog image whose inputs changed since it was last published here.
for config in os/images/*.yaml; do
  name="$(basename "$config" .yaml)"
  hash="$(cat "$os/out/images/$name.input-hash" 2>/dev/null || echo none)"
  if [[ "$(cat "$state/published/$name" 2>/dev/null)" == "$hash" ]]; then continue; fi
  echo "== publishing kiln-os/$name (signed, with SBOM and provenance)" >&2
  kiln image publish "$config" "127.0.0.1:$port/kiln-os/$name:latest" -r "$os/out" -k "$os/kiln-os.rsa.pub" --key "$state/cosign.key" >/dev/null
  echo "$hash" >"$state/published/$name"
done

echo
echo "Kiln catalog:  http://127.0.0.1:$port/"
echo "Registry API:  http://127.0.0.1:$port/v2/"
for config in os/images/*.yaml; do
  name="$(basename "$config" .yaml)"
  echo "  docker pull 127.0.0.1:$port/kiln-os/$name:latest    # or: podman pull --tls-verify=false 127.0.0.1:$port/kiln-os/$name:latest"
done
echo "Verify:        node dist/kiln.js verify --key $state/cosign.pub 127.0.0.1:$port/kiln-os/curl:latest"
echo "Ctrl-C stops the server (data stays in $state/)."
wait $server
