#!/usr/bin/env bash
# Sets up Kiln on a fresh Debian 12 machine with Node.js 20 and runs its main job on the embedded
# defaults: build a minimal two-architecture image from the signed apk repository bundled under
# test/fixtures, serve Kiln's own registry (filesystem + SQLite under .kiln-demo/), publish the image
# to it, and read it back; then build Kiln OS from Debian's sources (cached in .kiln-os/ after the
# first run, which compiles for about a quarter of an hour on two cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-debian-packages.sh scripts/debian-os-packages.txt
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund </dev/null
fi
npm run --silent build
kiln() { node dist/kiln.js "$@"; }

work=.kiln-demo
rm -rf "$work"
mkdir -p "$work"
export SOURCE_DATE_EPOCH=1700000000
export XDG_CACHE_HOME="$PWD/$work/cache"
repo=test/fixtures/apk/apko-cli-packages

echo "== 1. verify the bundled repository's packages against its signing key"
kiln apk verify --keyring "$repo/melange.rsa.pub" "$repo"/x86_64/*.apk

echo "== 2. resolve the image's packages as apk would"
kiln apk resolve -X "$repo" -k "$repo/melange.rsa.pub" --arch x86_64 replayout custom-ca-certs-1

echo "== 3. build the image: OCI layout, docker-archive tarball, SPDX + CycloneDX SBOMs"
kiln image build examples/demo-image.yaml kiln.local/demo:latest "$work/demo.tar" \
  --oci-layout "$work/demo-oci" --sbom-path "$work/sbom" --sbom-formats spdx,cyclonedx --json >"$work/build.json"
cat "$work/build.json"; echo

echo "== 4. files inside the amd64 image, with owners"
kiln image ls-files examples/demo-image.yaml --arch amd64 | head -20

echo "== 5. serve Kiln's registry on 127.0.0.1:5055 (data under $work/registry) and publish the image"
node dist/kiln.js registry serve --addr 127.0.0.1:5055 --data-dir "$work/registry" 2>"$work/registry.log" &
registry_pid=$!
trap 'kill $registry_pid 2>/dev/null || true; wait $registry_pid 2>/dev/null || true' EXIT
get() { node -e 'fetch(process.argv[1], { headers: { accept: process.argv[2] ?? "*/*" } }).then(async (r) => { if (!r.ok) process.exit(1); process.stdout.write(await r.text() + "\n"); }, () => process.exit(1))' "$@"; }
for _ in $(seq 1 50); do
  kill -0 $registry_pid 2>/dev/null || { echo "kiln registry failed to start:" >&2; cat "$work/registry.log" >&2; exit 1; }
  get http://127.0.0.1:5055/v2/ >/dev/null 2>&1 && break
  sleep 0.2
done
export COSIGN_PASSWORD=kiln-demo
(cd "$work" && node ../dist/kiln.js generate-key-pair >/dev/null)
kiln image publish examples/demo-image.yaml 127.0.0.1:5055/demo:latest --key "$work/cosign.key" --json >"$work/publish.json"
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(`pushed ${r.refs.join(" ")}\nsigned ${r.signatures.length} manifests, attached ${r.attestations.length} attestations`)' "$work/publish.json"
echo "== 6. verify the signatures and the SLSA provenance, list what is attached"
kiln verify --key "$work/cosign.pub" 127.0.0.1:5055/demo:latest >/dev/null && echo "signature verified"
kiln verify-attestation --key "$work/cosign.pub" --type slsaprovenance1 127.0.0.1:5055/demo:latest >/dev/null && echo "provenance verified"
kiln tree 127.0.0.1:5055/demo:latest
echo "== 7. read it back from the registry"
get http://127.0.0.1:5055/v2/demo/manifests/latest application/vnd.oci.image.index.v1+json
get http://127.0.0.1:5055/v2/demo/tags/list
echo "== 8. build Kiln OS: packages from Debian's sources against Kiln's musl, signed, then the catalog images"
echo "   (first run: ~15 min; progress below, step logs in .kiln-os/out/build.log; later runs reuse .kiln-os/)"
kiln os build --out-dir .kiln-os/out --signing-key .kiln-os/kiln-os.rsa --debian-source-cache .kiln-os/debian-sources
echo "== done: image in $work/demo-oci and $work/demo.tar, SBOMs in $work/sbom, registry at http://127.0.0.1:5055 (stopped now),"
echo "   Kiln OS repository in .kiln-os/out/x86_64 and its catalog images in .kiln-os/out/images"
