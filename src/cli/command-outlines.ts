// Generated from the commands' own registrations by manifest-generator.ts: do not edit. When a command
// changes, `UPDATE_GOLDEN=1 npx vitest run src/cli/command-manifest.test.ts` rewrites this file (that test
// fails while it is stale). It lets `kiln` declare every command without importing its module.
import type { DeclaredCommand } from './lazy-commands.ts';

/** The top-level commands' outlines (their lines in `kiln --help`), in help order. */
export const COMMAND_OUTLINES: readonly DeclaredCommand[] = [
  {"name":"apk","description":"read, write, sign, index and resolve apk packages"},
  {"name":"keygen","description":"generate an RSA key pair for signing apk packages and indexes: PREFIX.rsa (PKCS#1 PEM, mode 0600) and PREFIX.rsa.pub (SPKI PEM)","action":true,"lazy":true,"options":[{"flags":"--name <PREFIX>","description":"file name prefix; signatures will name the key PREFIX.rsa.pub","fields":{"defaultValue":"kiln"}}]},
  {"name":"image","description":"build apko-compatible images from apk packages"},
  {"name":"pkg","description":"build, test, lint, sign and index apk packages from melange recipes"},
  {"name":"registry","description":"run and maintain the OCI distribution registry"},
  {"name":"os","description":"build Kiln OS: its packages from Debian sources and its catalog images"},
  {"name":"factory","description":"daily rebuilds that publish only what changed: run, schedule, workers, history"},
  {"name":"scan","description":"find known vulnerabilities in the apk packages of an OCI layout, docker-archive tarball, root filesystem, apk installed database or SPDX/CycloneDX SBOM, using the local index (kiln vuln db update). Exit codes: 0 scanned (and nothing at or above --fail-on), 1 findings at or above --fail-on or a failure, 2 bad usage","arguments":[{"usage":"<target>","description":"registry reference (registry/repo:tag or @sha256:…; every platform of an index), OCI layout directory, docker-archive tarball, root filesystem directory, lib/apk/db/installed file, or SBOM JSON"}],"action":true,"lazy":true,"options":[{"flags":"--format <FORMAT>","description":"table, json, sarif, openvex, csaf (CSAF 2.0 VEX), cyclonedx-vex (CycloneDX 1.6 VEX) or cosign-vuln (predicate for kiln attest --type vuln)","fields":{"defaultValue":"table"}}]},
  {"name":"vuln","description":"vulnerability feeds and the local index kiln scan uses"},
  {"name":"advisory","description":"Kiln's own advisories: dated events per vulnerability per origin package (os/advisories)"},
  {"name":"comply","description":"check images against hardening rules and write OSCAL compliance evidence (NIST SP 800-53 rev 5)"},
  {"name":"catalog","description":"the web catalog: images, packages, vulnerabilities, history, signatures and comparisons, with a JSON API"},
  {"name":"generate-key-pair","description":"generate a cosign-compatible key pair: <prefix>.key (scrypt + secretbox encrypted, password from COSIGN_PASSWORD or a prompt) and <prefix>.pub","action":true,"lazy":true,"options":[{"flags":"--output-key-prefix <PREFIX>","description":"file name prefix of the key pair","fields":{"defaultValue":"cosign"}}]},
  {"name":"sign","description":"sign images like cosign: simple-signing payload in the sha256-<digest>.sig tag, and a Sigstore bundle referrer where the registry supports the referrers API","arguments":[{"usage":"[images...]","description":"image references (tag or digest); tags are resolved to a digest first"}],"action":true,"lazy":true,"options":[{"flags":"--key <PATH>","description":"cosign.key (encrypted; password from COSIGN_PASSWORD or a prompt) or a PEM private key; without it, keyless signing"}]},
  {"name":"verify","description":"verify cosign signatures of images (sha256-<digest>.sig and Sigstore bundle referrers) with --key or a keyless identity; exits 1 unless at least one signature verifies","arguments":[{"usage":"[images...]","description":"image references"}],"action":true,"lazy":true,"options":[{"flags":"--key <PATH>","description":"public key file (cosign.pub); may hold several keys; repeatable","parser":true}]},
  {"name":"attest","description":"attach a signed in-toto attestation (DSSE) to images: sha256-<digest>.att layers, and a Sigstore bundle referrer where the referrers API exists","arguments":[{"usage":"[images...]","description":"image references"}],"action":true,"lazy":true,"options":[{"flags":"--predicate <FILE>","description":"predicate file (JSON; \"-\" reads stdin); for --type custom any text","fields":{"mandatory":true}}]},
  {"name":"verify-attestation","description":"verify in-toto attestations of images with --key or a keyless identity; prints one DSSE envelope per verified attestation (like cosign); exits 1 unless one verifies","arguments":[{"usage":"[images...]","description":"image references"}],"action":true,"lazy":true,"options":[{"flags":"--key <PATH>","description":"public key file (cosign.pub); may hold several keys; repeatable","parser":true}]},
  {"name":"download","description":"download attestations or SBOMs attached to an image (like cosign download)","lazy":true},
  {"name":"tree","description":"show the supply-chain artifacts attached to an image: .sig/.att/.sbom tags and OCI referrers","arguments":[{"usage":"<image>","description":"image reference"}],"action":true,"lazy":true,"options":[{"flags":"--json","description":"print the tree as JSON"}]},
  {"name":"policy","description":"check images against a supply-chain policy","lazy":true},
];
