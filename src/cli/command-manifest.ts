// Generated from the commands' own registrations by manifest-generator.ts: do not edit. When a command
// changes, `UPDATE_GOLDEN=1 npx vitest run src/cli/command-manifest.test.ts` rewrites this file (that test
// fails while it is stale). It lets `kiln` declare every command without importing its module.
import type { DeclaredCommand } from './lazy-commands.ts';

/** Every command as registered (help, arguments, options), in help order. */
export const COMMAND_MANIFEST: readonly DeclaredCommand[] = [
  {
    "name": "apk",
    "description": "read, write, sign, index and resolve apk packages",
    "commands": [
      {
        "name": "info",
        "description": "show a package file: .PKGINFO fields, identity (index C:), datahash check, signatures, scripts; -L lists its files",
        "arguments": [
          {
            "usage": "<file>",
            "description": ".apk file"
          }
        ],
        "options": [
          {
            "flags": "-k, --keyring <PATH>",
            "description": "public key file or directory to check signatures with (repeatable)",
            "parser": true
          },
          {
            "flags": "-L, --contents",
            "description": "list the files the package installs"
          },
          {
            "flags": "--json",
            "description": "print one JSON document on stdout"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "verify",
        "description": "verify packages (signature by a trusted key, identity, datahash, file checksums) and APKINDEX.tar.gz files; exit 1 if any fails",
        "arguments": [
          {
            "usage": "<files...>",
            "description": ".apk or APKINDEX.tar.gz files"
          }
        ],
        "options": [
          {
            "flags": "-k, --keyring <PATH>",
            "description": "trusted public key file, or directory of keys (repeatable); key name = file name",
            "parser": true
          },
          {
            "flags": "--allow-untrusted",
            "description": "accept files not signed by a trusted key (integrity is still checked)"
          },
          {
            "flags": "--json",
            "description": "print {\"results\":[…]} on stdout"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "mkpkg",
        "description": "build a reproducible v2 .apk from a directory: sorted entries, owners root, mtimes from SOURCE_DATE_EPOCH, PAX checksums, datahash, RSA256 signature",
        "options": [
          {
            "flags": "-I, --info <KEY=VALUE>",
            "description": ".PKGINFO field (repeatable): pkgname, pkgver, arch, pkgdesc, url, license, origin, maintainer, commit, builddate, depend, provides, install_if, replaces, provider_priority, replaces_priority, triggers",
            "parser": true
          },
          {
            "flags": "-F, --files <DIR>",
            "description": "directory whose contents become the package data"
          },
          {
            "flags": "-s, --script <NAME=FILE>",
            "description": "control script (repeatable); NAME is one of pre-install, post-install, pre-upgrade, post-upgrade, pre-deinstall, post-deinstall, trigger",
            "parser": true
          },
          {
            "flags": "--signing-key <KEY>",
            "description": "RSA private key (PEM); the signature names the key <file name>.pub"
          },
          {
            "flags": "--key-name <NAME>",
            "description": "key name to put in the signature instead of <signing key file name>.pub"
          },
          {
            "flags": "-o, --output <FILE>",
            "description": "package file to write",
            "fields": {
              "mandatory": true
            }
          },
          {
            "flags": "--json",
            "description": "print {\"file\",\"identity\",\"datahash\",\"size\"} on stdout"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "index",
        "description": "index package files into a sorted, RSA256-signed APKINDEX.tar.gz (each package is read and its datahash and checksums verified)",
        "arguments": [
          {
            "usage": "<packages...>",
            "description": ".apk files"
          }
        ],
        "options": [
          {
            "flags": "-o, --output <FILE>",
            "description": "index file to write",
            "fields": {
              "mandatory": true
            }
          },
          {
            "flags": "--signing-key <KEY>",
            "description": "RSA private key (PEM) to sign the index with"
          },
          {
            "flags": "--key-name <NAME>",
            "description": "key name to put in the signature instead of <signing key file name>.pub"
          },
          {
            "flags": "-d, --description <TEXT>",
            "description": "repository description (DESCRIPTION entry, at most 160 bytes)"
          },
          {
            "flags": "-k, --keyring <PATH>",
            "description": "also require each package to be signed by one of these keys (repeatable)",
            "parser": true
          },
          {
            "flags": "--json",
            "description": "print {\"file\",\"packages\",\"size\"} on stdout"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "solver-test",
        "description": "run apk-tools solver test files (test/solver/*.test) through Kiln's resolver and compare the output byte for byte",
        "arguments": [
          {
            "usage": "<files...>",
            "description": "test files; @REPO/@INSTALLED/@CACHE files are read from the same directory"
          }
        ],
        "options": [
          {
            "flags": "--arch <ARCH>",
            "description": "host architecture the simulated apk runs on",
            "fields": {
              "defaultValue": "x86_64"
            }
          },
          {
            "flags": "--json",
            "description": "print {\"passed\":N,\"failed\":N,\"results\":[…]} on stdout instead of text"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "resolve",
        "description": "resolve a world against signed repositories and print the install plan (like apk add --simulate on an empty root)",
        "arguments": [
          {
            "usage": "<world...>",
            "description": "dependencies: name, name@tag, name>=version, !name, so:libfoo.so.1 …"
          }
        ],
        "options": [
          {
            "flags": "-X, --repository <[@tag ]URL>",
            "description": "repository to use (repeatable); https://, http://, file:// or a path; \"@tag URL\" pins a tag",
            "parser": true
          },
          {
            "flags": "--repositories-file <FILE>",
            "description": "read repositories from FILE (/etc/apk/repositories syntax); used before --repository"
          },
          {
            "flags": "-k, --keyring <PATH>",
            "description": "trusted public key file, directory of keys, or https:// URL of a key (repeatable); key name = file name",
            "parser": true
          },
          {
            "flags": "--allow-untrusted",
            "description": "accept indexes without a signature by a trusted key"
          },
          {
            "flags": "--arch <ARCH>",
            "description": "architecture to resolve for (default: host-arch)"
          },
          {
            "flags": "--cache-dir <DIR>",
            "description": "cache directory (default: $XDG_CACHE_HOME/kiln or ~/.cache/kiln)"
          },
          {
            "flags": "--cache-max-age <MINUTES>",
            "description": "use a cached index younger than this without asking the server (default 0: revalidate)"
          },
          {
            "flags": "--timeout <SECONDS>",
            "description": "network idle timeout per request (default 30)"
          },
          {
            "flags": "--json",
            "description": "print {\"install\":[{name,version,arch,identity,repository,url,…}]} in install order"
          }
        ],
        "action": true,
        "lazy": true,
        "hostDependent": true
      },
      {
        "name": "fetch",
        "description": "download packages (verified against the signed index) into a directory, like apk fetch",
        "arguments": [
          {
            "usage": "<packages...>",
            "description": "package names, optionally name=version or name@tag"
          }
        ],
        "options": [
          {
            "flags": "-X, --repository <[@tag ]URL>",
            "description": "repository to use (repeatable); https://, http://, file:// or a path; \"@tag URL\" pins a tag",
            "parser": true
          },
          {
            "flags": "--repositories-file <FILE>",
            "description": "read repositories from FILE (/etc/apk/repositories syntax); used before --repository"
          },
          {
            "flags": "-k, --keyring <PATH>",
            "description": "trusted public key file, directory of keys, or https:// URL of a key (repeatable); key name = file name",
            "parser": true
          },
          {
            "flags": "--allow-untrusted",
            "description": "accept indexes without a signature by a trusted key"
          },
          {
            "flags": "--arch <ARCH>",
            "description": "architecture to resolve for (default: host-arch)"
          },
          {
            "flags": "--cache-dir <DIR>",
            "description": "cache directory (default: $XDG_CACHE_HOME/kiln or ~/.cache/kiln)"
          },
          {
            "flags": "--cache-max-age <MINUTES>",
            "description": "use a cached index younger than this without asking the server (default 0: revalidate)"
          },
          {
            "flags": "--timeout <SECONDS>",
            "description": "network idle timeout per request (default 30)"
          },
          {
            "flags": "-o, --output <DIR>",
            "description": "directory to write NAME-VERSION.apk files to (default: current directory)"
          },
          {
            "flags": "-R, --recursive",
            "description": "also fetch every dependency (the resolved install set)"
          },
          {
            "flags": "--concurrency <N>",
            "description": "parallel downloads (default 6)"
          },
          {
            "flags": "--json",
            "description": "print {\"fetched\":[…]} on stdout"
          }
        ],
        "action": true,
        "lazy": true,
        "hostDependent": true
      }
    ]
  },
  {
    "name": "keygen",
    "description": "generate an RSA key pair for signing apk packages and indexes: PREFIX.rsa (PKCS#1 PEM, mode 0600) and PREFIX.rsa.pub (SPKI PEM)",
    "options": [
      {
        "flags": "--name <PREFIX>",
        "description": "file name prefix; signatures will name the key PREFIX.rsa.pub",
        "fields": {
          "defaultValue": "kiln"
        }
      },
      {
        "flags": "--bits <N>",
        "description": "RSA modulus size",
        "fields": {
          "defaultValue": "4096"
        }
      },
      {
        "flags": "--json",
        "description": "print {\"privateKey\",\"publicKey\",\"keyName\"} on stdout"
      }
    ],
    "action": true,
    "lazy": true
  },
  {
    "name": "image",
    "description": "build apko-compatible images from apk packages",
    "commands": [
      {
        "name": "build",
        "description": "build an image (OCI index, one image per arch) from an apko configuration",
        "arguments": [
          {
            "usage": "<config>",
            "description": "image configuration (YAML or JSON)"
          },
          {
            "usage": "<tag>",
            "description": "image reference, e.g. registry.example.com/app:1.0"
          },
          {
            "usage": "[output]",
            "description": "docker-archive tarball to write (podman/docker load)"
          }
        ],
        "options": [
          {
            "flags": "--arch <ARCH>",
            "description": "architecture(s) to build (OCI or apk name; repeat or comma-separate; `host`, `all`)",
            "parser": true
          },
          {
            "flags": "-k, --keyring-append <FILE>",
            "description": "extra public key (file or https:// URL) for verifying repository indexes",
            "parser": true
          },
          {
            "flags": "-r, --repository-append <REPO>",
            "description": "extra repository (used to build and written into the image)",
            "parser": true
          },
          {
            "flags": "-p, --package-append <PKG>",
            "description": "extra package to install",
            "parser": true
          },
          {
            "flags": "--include-paths <DIR>",
            "description": "directory to look for `include:` files in",
            "parser": true
          },
          {
            "flags": "--cache-dir <DIR>",
            "description": "package cache directory (default: $XDG_CACHE_HOME/kiln or ~/.cache/kiln)"
          },
          {
            "flags": "--ignore-signatures",
            "description": "accept repository indexes without a trusted signature"
          },
          {
            "flags": "--oci-layout <DIR>",
            "description": "also (or instead) write an OCI image layout directory"
          },
          {
            "flags": "--sbom-path <DIR>",
            "description": "directory for SBOM files (sbom-<arch>.spdx.json, sbom-index.spdx.json)"
          },
          {
            "flags": "--sbom-formats <LIST>",
            "description": "comma-separated: spdx, cyclonedx",
            "fields": {
              "defaultValue": "spdx"
            }
          },
          {
            "flags": "--no-sbom",
            "description": "do not write SBOM files"
          },
          {
            "flags": "--lockfile <FILE>",
            "description": "build exactly the packages of this lock file (kiln image lock)"
          },
          {
            "flags": "--build-date <RFC3339>",
            "description": "build date (default: newest package build date; SOURCE_DATE_EPOCH overrides)"
          },
          {
            "flags": "--annotations <KEY:VALUE>",
            "description": "annotation to add (repeatable)",
            "parser": true
          },
          {
            "flags": "--overwrite",
            "description": "replace existing output files instead of failing"
          },
          {
            "flags": "--dry-run",
            "description": "resolve and print the build plan as JSON; fetch and write nothing"
          },
          {
            "flags": "--json",
            "description": "print a JSON summary (digests, sizes, package counts) on stdout"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "publish",
        "description": "build an image and push it (per-arch images by digest, the index to every tag), like apko publish",
        "arguments": [
          {
            "usage": "[config]",
            "description": "image configuration"
          },
          {
            "usage": "[tags...]",
            "description": "references to push, e.g. registry.example.com/app:1.0"
          }
        ],
        "options": [
          {
            "flags": "--arch <ARCH>",
            "description": "architecture(s) to build (OCI or apk name; repeat or comma-separate; `host`, `all`)",
            "parser": true
          },
          {
            "flags": "-k, --keyring-append <FILE>",
            "description": "extra public key (file or https:// URL) for verifying repository indexes",
            "parser": true
          },
          {
            "flags": "-r, --repository-append <REPO>",
            "description": "extra repository (used to build and written into the image)",
            "parser": true
          },
          {
            "flags": "-p, --package-append <PKG>",
            "description": "extra package to install",
            "parser": true
          },
          {
            "flags": "--include-paths <DIR>",
            "description": "directory to look for `include:` files in",
            "parser": true
          },
          {
            "flags": "--cache-dir <DIR>",
            "description": "package cache directory (default: $XDG_CACHE_HOME/kiln or ~/.cache/kiln)"
          },
          {
            "flags": "--ignore-signatures",
            "description": "accept repository indexes without a trusted signature"
          },
          {
            "flags": "--sbom-path <DIR>",
            "description": "also write the SBOMs (of --sbom-formats) into this directory"
          },
          {
            "flags": "--sbom-formats <LIST>",
            "description": "comma-separated SBOM formats to attest (and write with --sbom-path): spdx, cyclonedx",
            "fields": {
              "defaultValue": "spdx,cyclonedx"
            }
          },
          {
            "flags": "--lockfile <FILE>",
            "description": "build exactly the packages of this lock file"
          },
          {
            "flags": "--build-date <RFC3339>",
            "description": "build date (default: newest package build date; SOURCE_DATE_EPOCH overrides)"
          },
          {
            "flags": "--annotations <KEY:VALUE>",
            "description": "annotation to add (repeatable)",
            "parser": true
          },
          {
            "flags": "--image-refs <FILE>",
            "description": "write the pushed references to this file, one per line"
          },
          {
            "flags": "--allow-insecure",
            "description": "allow plain HTTP to registries that are not on loopback"
          },
          {
            "flags": "--overwrite",
            "description": "replace existing --image-refs / SBOM files"
          },
          {
            "flags": "--key <PATH>",
            "description": "sign the index and each image and attest SBOM and provenance with this cosign.key (password from COSIGN_PASSWORD) or PEM private key; COSIGN_REPOSITORY stores them in another repository"
          },
          {
            "flags": "--keyless",
            "description": "sign and attest keyless instead: a Fulcio certificate for the OIDC identity (--identity-token or SIGSTORE_ID_TOKEN) and a Rekor entry; stored as Sigstore bundles"
          },
          {
            "flags": "--fulcio-url <URL>",
            "description": "with --keyless: Fulcio server",
            "fields": {
              "defaultValue": "https://fulcio.sigstore.dev"
            }
          },
          {
            "flags": "--rekor-url <URL>",
            "description": "Rekor server for the transparency-log entry (default with --keyless: https://rekor.sigstore.dev; with --key only when given)"
          },
          {
            "flags": "--rekor-entry-type <KIND>",
            "description": "Rekor entry kind for the signed envelopes",
            "fields": {
              "defaultValue": "dsse",
              "argChoices": [
                "dsse",
                "intoto"
              ]
            },
            "parser": true
          },
          {
            "flags": "--identity-token <TOKEN>",
            "description": "with --keyless: OIDC identity token (default: $SIGSTORE_ID_TOKEN)"
          },
          {
            "flags": "--tlog-upload [BOOL]",
            "description": "upload to the transparency log (--keyless, or --key with --rekor-url); --tlog-upload=false to skip",
            "fields": {
              "defaultValue": true
            },
            "parser": true
          },
          {
            "flags": "--sbom-attest [BOOL]",
            "description": "with --key or --keyless: attach each SBOM of --sbom-formats as a signed attestation (--sbom-attest=false to skip)",
            "fields": {
              "defaultValue": true
            },
            "parser": true
          },
          {
            "flags": "--provenance [BOOL]",
            "description": "with --key or --keyless: attach a signed SLSA v1 provenance attestation, recording every input kiln image reproduce rebuilds from (--provenance=false to skip)",
            "fields": {
              "defaultValue": true
            },
            "parser": true
          },
          {
            "flags": "--new-bundle-format [BOOL]",
            "description": "with --key: true = only Sigstore bundle referrers; false = only .sig/.att tags; unset = tags plus bundles where the registry has the referrers API (--keyless stores bundles)",
            "parser": true
          },
          {
            "flags": "--json",
            "description": "print a JSON summary with the pushed references on stdout"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "lock",
        "description": "resolve and verify the packages of a configuration and write a lock file",
        "arguments": [
          {
            "usage": "<config>",
            "description": "image configuration"
          }
        ],
        "options": [
          {
            "flags": "--arch <ARCH>",
            "description": "architecture(s) to build (OCI or apk name; repeat or comma-separate; `host`, `all`)",
            "parser": true
          },
          {
            "flags": "-k, --keyring-append <FILE>",
            "description": "extra public key (file or https:// URL) for verifying repository indexes",
            "parser": true
          },
          {
            "flags": "-r, --repository-append <REPO>",
            "description": "extra repository (used to build and written into the image)",
            "parser": true
          },
          {
            "flags": "-p, --package-append <PKG>",
            "description": "extra package to install",
            "parser": true
          },
          {
            "flags": "--include-paths <DIR>",
            "description": "directory to look for `include:` files in",
            "parser": true
          },
          {
            "flags": "--cache-dir <DIR>",
            "description": "package cache directory (default: $XDG_CACHE_HOME/kiln or ~/.cache/kiln)"
          },
          {
            "flags": "--ignore-signatures",
            "description": "accept repository indexes without a trusted signature"
          },
          {
            "flags": "--output <FILE>",
            "description": "lock file path (default: CONFIG without extension + .lock.json)"
          },
          {
            "flags": "--overwrite",
            "description": "replace an existing lock file"
          },
          {
            "flags": "--json",
            "description": "print {\"lockfile\", \"packages\"} on stdout"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "show-config",
        "description": "print the merged and validated image configuration (YAML; --json for JSON)",
        "arguments": [
          {
            "usage": "<config>",
            "description": "image configuration"
          }
        ],
        "options": [
          {
            "flags": "--include-paths <DIR>",
            "description": "directory to look for `include:` files in",
            "parser": true
          },
          {
            "flags": "--json",
            "description": "print JSON instead of YAML"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "ls-files",
        "description": "list the files an image would contain, with owners and the package of each",
        "arguments": [
          {
            "usage": "<config>",
            "description": "image configuration"
          }
        ],
        "options": [
          {
            "flags": "--arch <ARCH>",
            "description": "architecture(s) to build (OCI or apk name; repeat or comma-separate; `host`, `all`)",
            "parser": true
          },
          {
            "flags": "-k, --keyring-append <FILE>",
            "description": "extra public key (file or https:// URL) for verifying repository indexes",
            "parser": true
          },
          {
            "flags": "-r, --repository-append <REPO>",
            "description": "extra repository (used to build and written into the image)",
            "parser": true
          },
          {
            "flags": "-p, --package-append <PKG>",
            "description": "extra package to install",
            "parser": true
          },
          {
            "flags": "--include-paths <DIR>",
            "description": "directory to look for `include:` files in",
            "parser": true
          },
          {
            "flags": "--cache-dir <DIR>",
            "description": "package cache directory (default: $XDG_CACHE_HOME/kiln or ~/.cache/kiln)"
          },
          {
            "flags": "--ignore-signatures",
            "description": "accept repository indexes without a trusted signature"
          },
          {
            "flags": "--build-date <RFC3339>",
            "description": "build date"
          },
          {
            "flags": "--json",
            "description": "print {\"arch\", \"files\": [...]} per arch on stdout"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "diff",
        "description": "compare two images: packages added/removed/upgraded (apk database), files added/removed/changed (path, size, mode, owner, digest), layer sizes, runtime config, and CVEs fixed/introduced when a local vulnerability index exists. Exit codes: 0 compared (whether or not they differ), 1 a failure, 2 bad usage",
        "arguments": [
          {
            "usage": "<before>",
            "description": "image: registry reference, OCI layout (DIR or oci:DIR[:TAG]) or docker archive (FILE or docker-archive:FILE)"
          },
          {
            "usage": "<after>",
            "description": "image to compare it with (same forms)"
          }
        ],
        "options": [
          {
            "flags": "--platform <OS/ARCH>",
            "description": "compare only this platform (default: every platform both have)"
          },
          {
            "flags": "--distro <ECOSYSTEM>",
            "description": "distribution for the CVE diff when the images do not say (alpine:3.20, wolfi, chainguard, debian:12)"
          },
          {
            "flags": "--max-files <N>",
            "description": "file lines shown per platform in the table (--json lists all)",
            "fields": {
              "defaultValue": "50"
            }
          },
          {
            "flags": "--json",
            "description": "print the diff as one JSON document"
          },
          {
            "flags": "--allow-insecure-registry",
            "description": "allow plain HTTP to registries that are not on loopback (loopback always uses HTTP)"
          },
          {
            "flags": "--db-dir <DIR>",
            "description": "directory of the vulnerability index (default: $KILN_VULN_DB_DIR, else <cache dir>/vuln)"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "reproduce",
        "description": "rebuild a published image from the inputs its SLSA provenance records (configuration, locked packages by checksum, keys, build date, archs) and say \"reproduced DIGEST\" or name the layers and files that differ. The provenance must verify with --key or a keyless identity. Exit codes: 0 reproduced, 1 not reproduced or a failure, 2 bad usage",
        "arguments": [
          {
            "usage": "[image]",
            "description": "published image reference (tag or digest)"
          }
        ],
        "options": [
          {
            "flags": "--key <PATH>",
            "description": "public key file (cosign.pub); may hold several keys; repeatable",
            "parser": true
          },
          {
            "flags": "--certificate-identity <SAN>",
            "description": "keyless: the signing certificate's identity (email or URI) must equal this"
          },
          {
            "flags": "--certificate-identity-regexp <RE>",
            "description": "keyless: the identity must match this regular expression"
          },
          {
            "flags": "--certificate-oidc-issuer <URL>",
            "description": "keyless: the OIDC issuer in the certificate must equal this"
          },
          {
            "flags": "--certificate-oidc-issuer-regexp <RE>",
            "description": "keyless: the issuer must match this regular expression"
          },
          {
            "flags": "--trusted-root <FILE>",
            "description": "Sigstore trusted root JSON (Fulcio CAs, Rekor and CT log keys): required for keyless; with --key, log entries in bundles are checked against its Rekor keys"
          },
          {
            "flags": "--insecure-ignore-tlog [BOOL]",
            "description": "keyless: do not require a transparency-log entry (the certificate is then checked at the current time); --key never requires one",
            "parser": true
          },
          {
            "flags": "--insecure-ignore-sct [BOOL]",
            "description": "do not require a certificate transparency SCT",
            "parser": true
          },
          {
            "flags": "--insecure-ignore-signature [BOOL]",
            "description": "use the attached provenance without verifying its signature (anyone who can push to the repository can forge it)",
            "parser": true
          },
          {
            "flags": "--cache-dir <DIR>",
            "description": "package cache directory (default: $XDG_CACHE_HOME/kiln or ~/.cache/kiln)"
          },
          {
            "flags": "--json",
            "description": "print the result (and the diff when not reproduced) as JSON"
          },
          {
            "flags": "--allow-insecure-registry",
            "description": "allow plain HTTP to registries that are not on loopback (loopback always uses HTTP)"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "customize",
        "description": "write a derived apko configuration from a base (a configuration file or a Kiln OS image name): add and remove packages (down to dropping the shell; a removed package is kept out with a !name world entry), set the user, environment, entrypoint, cmd and work-dir. The result records its base (annotations dev.kiln.image.base and .checksum, and a header comment) and builds with kiln image build",
        "arguments": [
          {
            "usage": "<base>",
            "description": "base configuration file, or a Kiln OS catalog image name (os/images/NAME.yaml)"
          }
        ],
        "options": [
          {
            "flags": "--add <PKG>",
            "description": "package to add (repeatable; version constraints as in contents.packages)",
            "parser": true
          },
          {
            "flags": "--remove <PKG>",
            "description": "package of the base to remove (repeatable), e.g. busybox to drop the shell",
            "parser": true
          },
          {
            "flags": "--user <USER>",
            "description": "run-as: a user of accounts.users or a numeric uid"
          },
          {
            "flags": "--env <KEY=VALUE>",
            "description": "environment variable to set (repeatable)",
            "parser": true
          },
          {
            "flags": "--entrypoint <COMMAND>",
            "description": "entrypoint command line"
          },
          {
            "flags": "--cmd <ARGS>",
            "description": "cmd: default arguments to the entrypoint"
          },
          {
            "flags": "--work-dir <DIR>",
            "description": "working directory"
          },
          {
            "flags": "-r, --repository <REPO>",
            "description": "repository to add to contents.repositories (repeatable)",
            "parser": true
          },
          {
            "flags": "-k, --keyring <KEY>",
            "description": "key file or URL to add to contents.keyring (repeatable)",
            "parser": true
          },
          {
            "flags": "--os-dir <DIR>",
            "description": "the Kiln OS tree whose images/ a base name is looked up in",
            "fields": {
              "defaultValue": "os"
            }
          },
          {
            "flags": "--include-paths <DIR>",
            "description": "directory to look for the base's `include:` files in",
            "parser": true
          },
          {
            "flags": "-o, --output <FILE>",
            "description": "where to write the derived configuration (required)"
          },
          {
            "flags": "--overwrite",
            "description": "replace an existing output file"
          },
          {
            "flags": "--json",
            "description": "print the derived configuration and warnings as JSON (the file is still written)"
          }
        ],
        "action": true,
        "lazy": true
      }
    ]
  },
  {
    "name": "pkg",
    "description": "build, test, lint, sign and index apk packages from melange recipes",
    "commands": [
      {
        "name": "build",
        "description": "build the packages of a melange recipe in a sandbox: an .apk per package and subpackage (signed with --signing-key), index, SBOM and provenance",
        "arguments": [
          {
            "usage": "[recipe]",
            "description": "recipe file (default: first of .melange.yaml, .melange.yml, melange.yaml, melange.yml)"
          }
        ],
        "options": [
          {
            "flags": "--source-dir <DIR>",
            "description": "files copied into the workspace (default: the recipe's directory)"
          },
          {
            "flags": "--empty-workspace",
            "description": "start from an empty workspace"
          },
          {
            "flags": "--keep-workspace",
            "description": "keep the workspace after the build, for debugging"
          },
          {
            "flags": "-i, --interactive",
            "description": "when a step fails, open a shell in its sandbox (stdin must be a terminal)"
          },
          {
            "flags": "--arch <ARCH>",
            "description": "architecture to build for (apk or OCI name; default the host's)"
          },
          {
            "flags": "--out-dir <DIR>",
            "description": "output directory (melange layout OUT/ARCH/NAME-VERSION.apk)",
            "fields": {
              "defaultValue": "./packages/"
            }
          },
          {
            "flags": "--signing-key <KEY>",
            "description": "RSA private key (PEM) signing packages and the index; the signature is named <key file>.pub. Without it outputs are unsigned (said on stderr) and a signed index in the output directory is refused"
          },
          {
            "flags": "--runner <RUNNER>",
            "description": "sandbox runner",
            "fields": {
              "defaultValue": "bubblewrap",
              "argChoices": [
                "bubblewrap",
                "fake"
              ]
            },
            "parser": true
          },
          {
            "flags": "--bootstrap-host",
            "description": "use the host root filesystem (read-only) as the build environment instead of assembling it from packages"
          },
          {
            "flags": "--pipeline-dir <DIR>",
            "description": "directory of extra pipeline definitions, searched before the built-ins (repeatable)",
            "parser": true
          },
          {
            "flags": "--build-date <RFC3339>",
            "description": "timestamp of everything built (SOURCE_DATE_EPOCH from the environment wins)"
          },
          {
            "flags": "--namespace <NAME>",
            "description": "distribution namespace for SBOM and maintainer",
            "fields": {
              "defaultValue": "unknown"
            }
          },
          {
            "flags": "--git-commit <SHA>",
            "description": "commit of the recipe repository (default: detected, else unknown)"
          },
          {
            "flags": "--git-repo-url <URL>",
            "description": "URL of the recipe repository, for the SBOM"
          },
          {
            "flags": "--license <SPDX>",
            "description": "license of the recipe itself, for the SBOM",
            "fields": {
              "defaultValue": "NOASSERTION"
            }
          },
          {
            "flags": "--vars-file <FILE>",
            "description": "YAML map overriding recipe vars"
          },
          {
            "flags": "--env-file <FILE>",
            "description": "NAME=VALUE lines preloaded into every build step's environment (the recipe's environment wins), as melange --env-file"
          },
          {
            "flags": "--build-option <NAME>",
            "description": "enable a build option declared in the recipe (repeatable)",
            "parser": true
          },
          {
            "flags": "--no-generate-index",
            "description": "do not update OUT/ARCH/APKINDEX.tar.gz"
          },
          {
            "flags": "--cache-dir <DIR>",
            "description": "host directory mounted at /var/cache/melange"
          },
          {
            "flags": "-r, --repository-append <REPO>",
            "description": "repository for the build environment (path or URL; repeatable)",
            "parser": true
          },
          {
            "flags": "-k, --keyring-append <KEY>",
            "description": "public key trusted for the build environment's repositories (repeatable)",
            "parser": true
          },
          {
            "flags": "--debian-source-cache <DIR>",
            "description": "verified Debian source packages fetched for debian/source steps (default: $XDG_CACHE_HOME/kiln/debian-sources)"
          },
          {
            "flags": "--apk-cache-dir <DIR>",
            "description": "cache of fetched packages and indexes (default: $XDG_CACHE_HOME/kiln)"
          },
          {
            "flags": "--ignore-signatures",
            "description": "accept build-environment repositories without a trusted signature"
          },
          {
            "flags": "--json",
            "description": "print a JSON summary on stdout"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "build-all",
        "description": "build every recipe (*.yaml) in a directory in dependency order, in parallel, skipping recipes whose inputs are unchanged",
        "arguments": [
          {
            "usage": "<dir>",
            "description": "directory of recipes; <dir>/<package>/ is the source directory of that recipe when present"
          }
        ],
        "options": [
          {
            "flags": "-j, --jobs <N>",
            "description": "parallel builds (default: number of cores)"
          },
          {
            "flags": "--dry-run",
            "description": "print the plan (order, up-to-date or not) without building"
          },
          {
            "flags": "--arch <ARCH>",
            "description": "architecture to build for (apk or OCI name; default the host's)"
          },
          {
            "flags": "--out-dir <DIR>",
            "description": "output directory (melange layout OUT/ARCH/NAME-VERSION.apk)",
            "fields": {
              "defaultValue": "./packages/"
            }
          },
          {
            "flags": "--signing-key <KEY>",
            "description": "RSA private key (PEM) signing packages and the index; the signature is named <key file>.pub. Without it outputs are unsigned (said on stderr) and a signed index in the output directory is refused"
          },
          {
            "flags": "--runner <RUNNER>",
            "description": "sandbox runner",
            "fields": {
              "defaultValue": "bubblewrap",
              "argChoices": [
                "bubblewrap",
                "fake"
              ]
            },
            "parser": true
          },
          {
            "flags": "--bootstrap-host",
            "description": "use the host root filesystem (read-only) as the build environment instead of assembling it from packages"
          },
          {
            "flags": "--pipeline-dir <DIR>",
            "description": "directory of extra pipeline definitions, searched before the built-ins (repeatable)",
            "parser": true
          },
          {
            "flags": "--build-date <RFC3339>",
            "description": "timestamp of everything built (SOURCE_DATE_EPOCH from the environment wins)"
          },
          {
            "flags": "--namespace <NAME>",
            "description": "distribution namespace for SBOM and maintainer",
            "fields": {
              "defaultValue": "unknown"
            }
          },
          {
            "flags": "--git-commit <SHA>",
            "description": "commit of the recipe repository (default: detected, else unknown)"
          },
          {
            "flags": "--git-repo-url <URL>",
            "description": "URL of the recipe repository, for the SBOM"
          },
          {
            "flags": "--license <SPDX>",
            "description": "license of the recipe itself, for the SBOM",
            "fields": {
              "defaultValue": "NOASSERTION"
            }
          },
          {
            "flags": "--vars-file <FILE>",
            "description": "YAML map overriding recipe vars"
          },
          {
            "flags": "--env-file <FILE>",
            "description": "NAME=VALUE lines preloaded into every build step's environment (the recipe's environment wins), as melange --env-file"
          },
          {
            "flags": "--build-option <NAME>",
            "description": "enable a build option declared in the recipe (repeatable)",
            "parser": true
          },
          {
            "flags": "--no-generate-index",
            "description": "do not update OUT/ARCH/APKINDEX.tar.gz"
          },
          {
            "flags": "--cache-dir <DIR>",
            "description": "host directory mounted at /var/cache/melange"
          },
          {
            "flags": "-r, --repository-append <REPO>",
            "description": "repository for the build environment (path or URL; repeatable)",
            "parser": true
          },
          {
            "flags": "-k, --keyring-append <KEY>",
            "description": "public key trusted for the build environment's repositories (repeatable)",
            "parser": true
          },
          {
            "flags": "--debian-source-cache <DIR>",
            "description": "verified Debian source packages fetched for debian/source steps (default: $XDG_CACHE_HOME/kiln/debian-sources)"
          },
          {
            "flags": "--apk-cache-dir <DIR>",
            "description": "cache of fetched packages and indexes (default: $XDG_CACHE_HOME/kiln)"
          },
          {
            "flags": "--ignore-signatures",
            "description": "accept build-environment repositories without a trusted signature"
          },
          {
            "flags": "--json",
            "description": "print a JSON summary on stdout"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "test",
        "description": "run the test pipelines of a recipe against its built packages (from --out-dir)",
        "arguments": [
          {
            "usage": "<recipe>",
            "description": "recipe file"
          },
          {
            "usage": "[package]",
            "description": "test only this package or subpackage"
          }
        ],
        "options": [
          {
            "flags": "--arch <ARCH>",
            "description": "architecture (default the host's)"
          },
          {
            "flags": "--out-dir <DIR>",
            "description": "where the packages were built (melange layout)",
            "fields": {
              "defaultValue": "./packages/"
            }
          },
          {
            "flags": "--runner <RUNNER>",
            "description": "sandbox runner",
            "fields": {
              "defaultValue": "bubblewrap",
              "argChoices": [
                "bubblewrap",
                "fake"
              ]
            },
            "parser": true
          },
          {
            "flags": "--bootstrap-host",
            "description": "use the host root filesystem (read-only) as the test environment; the package is mounted at /tmp/kiln-test-root"
          },
          {
            "flags": "--pipeline-dir <DIR>",
            "description": "directory of extra pipeline definitions (repeatable)",
            "parser": true
          },
          {
            "flags": "-r, --repository-append <REPO>",
            "description": "repository for the test environment (the --out-dir is added; repeatable)",
            "parser": true
          },
          {
            "flags": "-k, --keyring-append <KEY>",
            "description": "public key trusted for those repositories (repeatable)",
            "parser": true
          },
          {
            "flags": "--apk-cache-dir <DIR>",
            "description": "cache of fetched packages and indexes"
          },
          {
            "flags": "--ignore-signatures",
            "description": "accept test-environment repositories without a trusted signature"
          },
          {
            "flags": "-i, --interactive",
            "description": "when a test step fails, open a shell in its sandbox (stdin must be a terminal)"
          },
          {
            "flags": "--json",
            "description": "print the tested packages as JSON"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "lint",
        "description": "run the package linters (dev, infodir, libtool/la-files, setuidgid, tempdir, usrmerge, varempty, worldwrite; warnings: opt, srv, usrlocal, object) on .apk files; a recipe (*.yaml) is loaded and compiled instead",
        "arguments": [
          {
            "usage": "<files...>",
            "description": ".apk files (melange lint), or recipes (*.yaml) to check"
          }
        ],
        "options": [
          {
            "flags": "--disable <LINTER>",
            "description": "downgrade a required linter to a warning (repeatable), like checks.disabled",
            "parser": true
          },
          {
            "flags": "--arch <ARCH>",
            "description": "recipes: architecture to compile for (default the host's)"
          },
          {
            "flags": "--pipeline-dir <DIR>",
            "description": "recipes: directory of extra pipeline definitions (repeatable)",
            "parser": true
          },
          {
            "flags": "--json",
            "description": "print findings as JSON"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "check",
        "description": "load and compile every recipe (*.yaml with a package: mapping) in a directory for each architecture, with DIR/pipelines as a pipeline directory; print a summary and every error (file, line, field)",
        "arguments": [
          {
            "usage": "<dir>",
            "description": "directory of recipes (for example a checkout of wolfi-dev/os)"
          }
        ],
        "options": [
          {
            "flags": "--arch <ARCH>",
            "description": "architecture to compile for (repeatable or comma-separated; default x86_64 and aarch64)",
            "parser": true
          },
          {
            "flags": "--pipeline-dir <DIR>",
            "description": "further directory of pipeline definitions, searched first (repeatable)",
            "parser": true
          },
          {
            "flags": "--json",
            "description": "print the summary and every file's result as JSON"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "sign",
        "description": "re-sign .apk files in place with an RSA key (existing signatures are replaced; the package is verified first)",
        "arguments": [
          {
            "usage": "<packages...>",
            "description": ".apk files"
          }
        ],
        "options": [
          {
            "flags": "--signing-key <KEY>",
            "description": "RSA private key (PEM); the signature is named <key file>.pub (default: local-melange.rsa in the working directory, as melange)"
          },
          {
            "flags": "-k <KEY>",
            "description": "deprecated spelling of --signing-key",
            "fields": {
              "hidden": true
            }
          },
          {
            "flags": "--json",
            "description": "print the signed files as JSON"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "index",
        "description": "write an APKINDEX.tar.gz for .apk files (verified first), optionally merged into an existing index and signed",
        "arguments": [
          {
            "usage": "<packages...>",
            "description": ".apk files"
          }
        ],
        "options": [
          {
            "flags": "-o, --output <FILE>",
            "description": "index to write",
            "fields": {
              "defaultValue": "APKINDEX.tar.gz"
            }
          },
          {
            "flags": "-s, --source <FILE>",
            "description": "existing index to start from (default: the output file with --merge)"
          },
          {
            "flags": "-m, --merge",
            "description": "keep the entries of the existing index (same name and version are replaced)"
          },
          {
            "flags": "-a, --arch <ARCH>",
            "description": "skip packages of other architectures"
          },
          {
            "flags": "--signing-key <KEY>",
            "description": "RSA private key (PEM) to sign the index; without it the index is unsigned (said on stderr) and a signed --output is not overwritten"
          },
          {
            "flags": "--json",
            "description": "print the indexed packages as JSON"
          }
        ],
        "action": true,
        "lazy": true
      }
    ]
  },
  {
    "name": "registry",
    "description": "run and maintain the OCI distribution registry",
    "commands": [
      {
        "name": "serve",
        "description": "run the OCI distribution registry (config file reference: docs/registry.md)",
        "options": [
          {
            "flags": "--config <FILE>",
            "description": "YAML config file (default: <data dir>/config.yaml if present, else built-in defaults)"
          },
          {
            "flags": "--addr <HOST:PORT>",
            "description": "listen address (default 127.0.0.1:5000)"
          },
          {
            "flags": "--data-dir <DIR>",
            "description": "storage, metadata and generated keys (default $XDG_DATA_HOME/kiln/registry)"
          },
          {
            "flags": "--log-level <LEVEL>",
            "description": "trace, debug, info, warn, error or silent"
          },
          {
            "flags": "--catalog",
            "description": "also serve the web catalog on the same listener (every path outside /v2/; docs/catalog.md)"
          },
          {
            "flags": "--key <FILE>",
            "description": "cosign public key whose signatures and attestations the catalog shows as verified (repeatable); without one nothing is shown as verified",
            "parser": true
          },
          {
            "flags": "--vuln-db <FILE>",
            "description": "vulnerability index to scan images against (kiln vuln db update; opened read-only)"
          },
          {
            "flags": "--history <FILE>",
            "description": "the factory's history database (kiln factory run), for each image's timeline and CVE chart; opened read-only"
          },
          {
            "flags": "--compare <NAME=IMAGE>",
            "description": "an image the comparison page may show: a registry reference or an OCI layout (repeatable)",
            "parser": true
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "gc",
        "description": "garbage-collect unreferenced manifests, blobs and stale uploads",
        "options": [
          {
            "flags": "--config <FILE>",
            "description": "YAML config file (as for serve)"
          },
          {
            "flags": "--data-dir <DIR>",
            "description": "registry data directory"
          },
          {
            "flags": "--dry-run",
            "description": "report what would be removed, remove nothing"
          },
          {
            "flags": "--delete-untagged",
            "description": "remove manifests no tag, index or live subject reaches (config gc.deleteUntagged)"
          },
          {
            "flags": "--no-delete-untagged",
            "description": "keep untagged manifests"
          },
          {
            "flags": "--grace-period <DURATION>",
            "description": "spare anything written within this long: seconds, or 90s, 15m, 1h, 7d (config gc.gracePeriod)"
          },
          {
            "flags": "--json",
            "description": "print the report as JSON"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "htpasswd",
        "description": "add or replace USER in an htpasswd file (bcrypt, as htpasswd -B; the file is created with mode 0600 and replaced atomically). Password from --password-stdin, $KILN_REGISTRY_PASSWORD, or a prompt on a terminal",
        "arguments": [
          {
            "usage": "<file>",
            "description": "htpasswd file (auth.htpasswd in the registry config)"
          },
          {
            "usage": "<user>",
            "description": "user name"
          }
        ],
        "options": [
          {
            "flags": "--password-stdin",
            "description": "read the password from standard input"
          },
          {
            "flags": "-C, --cost <N>",
            "description": "bcrypt cost (4..17)",
            "fields": {
              "defaultValue": "10"
            }
          },
          {
            "flags": "--json",
            "description": "print {\"file\",\"user\",\"created\"} on stdout"
          }
        ],
        "action": true,
        "lazy": true
      }
    ]
  },
  {
    "name": "os",
    "description": "build Kiln OS: its packages from Debian sources and its catalog images",
    "commands": [
      {
        "name": "build",
        "description": "build Kiln OS from Debian sources: every recipe of OS_DIR/packages into a signed repository (OUT/ARCH/APKINDEX.tar.gz), then every catalog image of OS_DIR/images as an OCI layout (OUT/images/NAME) with its SBOM; only what changed is rebuilt",
        "options": [
          {
            "flags": "--os-dir <DIR>",
            "description": "the Kiln OS tree (packages/ and images/)",
            "fields": {
              "defaultValue": "os"
            }
          },
          {
            "flags": "--out-dir <DIR>",
            "description": "output: the repository and images/",
            "fields": {
              "defaultValue": "os-out"
            }
          },
          {
            "flags": "--signing-key <KEY>",
            "description": "RSA private key signing the packages and index; generated on first use (default: $XDG_CONFIG_HOME/kiln/os/kiln-os.rsa)"
          },
          {
            "flags": "--debian-source-cache <DIR>",
            "description": "verified Debian sources (default: $XDG_CACHE_HOME/kiln/debian-sources)"
          },
          {
            "flags": "--arch <ARCH>",
            "description": "architecture (apk name)",
            "fields": {
              "defaultValue": "x86_64"
            }
          },
          {
            "flags": "-j, --jobs <N>",
            "description": "parallel package builds (default: number of cores)"
          },
          {
            "flags": "--no-images",
            "description": "build the packages only"
          },
          {
            "flags": "--json",
            "description": "print a JSON summary on stdout"
          }
        ],
        "action": true,
        "lazy": true
      }
    ]
  },
  {
    "name": "factory",
    "description": "daily rebuilds that publish only what changed: run, schedule, workers, history",
    "commands": [
      {
        "name": "run",
        "description": "run the factory once: update Debian-sourced recipes, rebuild exactly what changed, re-lock and rebuild the catalog images, publish new digests (signed, with SBOM, provenance, scan result and OpenVEX) with their tags, and record why in the history",
        "options": [
          {
            "flags": "--config <FILE>",
            "description": "the factory configuration (docs/factory.md)",
            "fields": {
              "mandatory": true
            }
          },
          {
            "flags": "--dry-run",
            "description": "find updates and print the plan; change nothing"
          },
          {
            "flags": "--no-updates",
            "description": "skip update detection (rebuild and publish only)"
          },
          {
            "flags": "--json",
            "description": "print the run report as JSON on stdout"
          },
          {
            "flags": "--queue <LOCATION>",
            "description": "run the steps as factory.step jobs on this queue (sqlite:PATH, postgres://…, or env:NAME to read it from that variable) for `kiln factory worker`s sharing the state, output and recipe directories; the run waits for them"
          },
          {
            "flags": "--step-lease <DURATION>",
            "description": "with --queue: a worker silent this long on a step is taken for dead and the step retried",
            "fields": {
              "defaultValue": "1h"
            }
          },
          {
            "flags": "--claim-timeout <DURATION>",
            "description": "with --queue: with no step running, waiting steps that no worker takes for this long fail (FACTORY_NO_WORKER)",
            "fields": {
              "defaultValue": "10m"
            }
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "history",
        "description": "every digest the factory published of an image, newest first: when, its tags, why (package versions, advisories, configuration), the package diff and the CVE diff against the previous digest",
        "arguments": [
          {
            "usage": "[image]",
            "description": "image as the history names it (kiln/curl, or curl); without it, the images that have a history"
          }
        ],
        "options": [
          {
            "flags": "--config <FILE>",
            "description": "the factory configuration (its state-dir holds the history)"
          },
          {
            "flags": "--state-dir <DIR>",
            "description": "the factory state directory (instead of --config)"
          },
          {
            "flags": "--json",
            "description": "print the entries (oldest first, as ImageHistoryEntry) as JSON on stdout"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "serve",
        "description": "run the factory on a schedule, with /status (JSON) and /metrics (Prometheus) over HTTP",
        "options": [
          {
            "flags": "--config <FILE>",
            "description": "the factory configuration (factory.yaml)",
            "fields": {
              "mandatory": true
            }
          },
          {
            "flags": "--schedule <CRON>",
            "description": "when to run: 5-field cron in UTC (ranges, steps, lists, names) or @daily, @hourly …",
            "fields": {
              "defaultValue": "0 3 * * *"
            }
          },
          {
            "flags": "--listen <HOST:PORT>",
            "description": "address of /status and /metrics",
            "fields": {
              "defaultValue": "127.0.0.1:9470"
            }
          },
          {
            "flags": "--queue <LOCATION>",
            "description": "job queue: sqlite:PATH, postgres://…, or env:NAME to read it from that variable (default: sqlite:factory-queue.db beside the config)"
          },
          {
            "flags": "--run-now",
            "description": "also enqueue a run for the current minute at start"
          },
          {
            "flags": "--enqueue-only",
            "description": "only enqueue runs; kiln factory worker processes run them"
          },
          {
            "flags": "--distribute-steps",
            "description": "each run hands its steps to kiln factory worker processes on the queue (kiln factory run --queue)"
          },
          {
            "flags": "--step-lease <DURATION>",
            "description": "with --distribute-steps: a worker silent this long on a step is taken for dead and the step retried",
            "fields": {
              "defaultValue": "1h"
            }
          },
          {
            "flags": "--claim-timeout <DURATION>",
            "description": "with --distribute-steps: a run whose waiting steps no worker takes for this long fails them (FACTORY_NO_WORKER)",
            "fields": {
              "defaultValue": "10m"
            }
          },
          {
            "flags": "--log-level <LEVEL>",
            "description": "trace, debug, info, warn, error or silent",
            "fields": {
              "defaultValue": "info"
            }
          },
          {
            "flags": "--json",
            "description": "print {\"url\",\"nextRun\"} as JSON once listening"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "worker",
        "description": "run factory jobs from the queue (several workers may share one queue; see docs/factory-queue.md)",
        "options": [
          {
            "flags": "--queue <LOCATION>",
            "description": "the job queue: sqlite:PATH (one machine), postgres://USER@HOST:PORT/DATABASE (pg-boss), or env:NAME to read it from that variable",
            "fields": {
              "mandatory": true
            }
          },
          {
            "flags": "--concurrency <N>",
            "description": "jobs run at once",
            "fields": {
              "defaultValue": "1"
            }
          },
          {
            "flags": "--until-empty",
            "description": "exit once no job of the kinds this worker runs is queued or running"
          },
          {
            "flags": "--poll-interval <DURATION>",
            "description": "wait between claims while the queue is empty",
            "fields": {
              "defaultValue": "1s"
            }
          },
          {
            "flags": "--log-level <LEVEL>",
            "description": "trace, debug, info, warn, error or silent (default: info, warn on a terminal)"
          },
          {
            "flags": "--json",
            "description": "print what the worker did as JSON when it exits"
          }
        ],
        "action": true,
        "lazy": true
      }
    ]
  },
  {
    "name": "scan",
    "description": "find known vulnerabilities in the apk packages of an OCI layout, docker-archive tarball, root filesystem, apk installed database or SPDX/CycloneDX SBOM, using the local index (kiln vuln db update). Exit codes: 0 scanned (and nothing at or above --fail-on), 1 findings at or above --fail-on or a failure, 2 bad usage",
    "arguments": [
      {
        "usage": "<target>",
        "description": "registry reference (registry/repo:tag or @sha256:…; every platform of an index), OCI layout directory, docker-archive tarball, root filesystem directory, lib/apk/db/installed file, or SBOM JSON"
      }
    ],
    "options": [
      {
        "flags": "--format <FORMAT>",
        "description": "table, json, sarif, openvex, csaf (CSAF 2.0 VEX), cyclonedx-vex (CycloneDX 1.6 VEX) or cosign-vuln (predicate for kiln attest --type vuln)",
        "fields": {
          "defaultValue": "table"
        }
      },
      {
        "flags": "--json",
        "description": "same as --format json"
      },
      {
        "flags": "--fail-on <SEVERITY>",
        "description": "exit 1 when a finding is at or above this severity (low, medium, high, critical)"
      },
      {
        "flags": "--ignore-unfixed",
        "description": "leave out vulnerabilities with no fixed version"
      },
      {
        "flags": "--show-suppressed",
        "description": "also list matches a feed says do not apply, with the reason (table output; JSON always has them)"
      },
      {
        "flags": "--platform <OS/ARCH>",
        "description": "image to scan in a multi-platform layout or archive (default linux/amd64, else the first), or the one platform of a registry index to scan (default all)"
      },
      {
        "flags": "--allow-insecure-registry",
        "description": "allow plain HTTP to a registry that is not on loopback"
      },
      {
        "flags": "--vex-author <NAME>",
        "description": "author of the OpenVEX document or publisher of the CSAF document (--format openvex, csaf)"
      },
      {
        "flags": "--distro <ECOSYSTEM>",
        "description": "distribution when the target does not say (alpine:3.20, wolfi, chainguard, debian:12)"
      },
      {
        "flags": "--attest",
        "description": "registry targets: attach the scan as a signed in-toto attestation (https://cosign.sigstore.dev/attestation/vuln/v1, as kiln attest --type vuln) to the scanned reference and to each scanned platform manifest"
      },
      {
        "flags": "--key <PATH>",
        "description": "with --attest: cosign.key or PEM private key; without it, keyless (Fulcio)"
      },
      {
        "flags": "--tlog-upload [BOOL]",
        "description": "upload to the transparency log (keyless, or with --rekor-url); --tlog-upload=false to skip",
        "fields": {
          "defaultValue": true
        },
        "parser": true
      },
      {
        "flags": "--new-bundle-format [BOOL]",
        "description": "true: store only a Sigstore bundle referrer; false: only the .att tag; unset: .att tag plus a bundle where the referrers API exists",
        "parser": true
      },
      {
        "flags": "--fulcio-url <URL>",
        "description": "keyless: Fulcio server",
        "fields": {
          "defaultValue": "https://fulcio.sigstore.dev"
        }
      },
      {
        "flags": "--rekor-url <URL>",
        "description": "Rekor server for the transparency-log entry (default for keyless: https://rekor.sigstore.dev)"
      },
      {
        "flags": "--rekor-entry-type <KIND>",
        "description": "Rekor entry kind for the signed envelope",
        "fields": {
          "defaultValue": "dsse",
          "argChoices": [
            "dsse",
            "intoto"
          ]
        },
        "parser": true
      },
      {
        "flags": "--identity-token <TOKEN>",
        "description": "keyless: OIDC identity token (default: $SIGSTORE_ID_TOKEN)"
      },
      {
        "flags": "-y, --yes",
        "description": "do not prompt for confirmation (accepted for cosign compatibility)"
      },
      {
        "flags": "--db-dir <DIR>",
        "description": "directory of the vulnerability index (default: $KILN_VULN_DB_DIR, else <cache dir>/vuln)"
      }
    ],
    "action": true,
    "lazy": true
  },
  {
    "name": "vuln",
    "description": "vulnerability feeds and the local index kiln scan uses",
    "commands": [
      {
        "name": "db",
        "description": "the local vulnerability index built from advisory feeds",
        "commands": [
          {
            "name": "update",
            "description": "fetch every configured feed (files, directories, http(s) URLs with ETag/Last-Modified) and rebuild its part of the index; a feed that cannot be reached keeps its indexed copy",
            "options": [
              {
                "flags": "--config <FILE>",
                "description": "feed configuration (YAML/JSON: feeds: [{name, type, url|path, ecosystem?}])",
                "fields": {
                  "mandatory": true
                }
              },
              {
                "flags": "--json",
                "description": "print each feed's outcome, record count and warnings as JSON"
              },
              {
                "flags": "--db-dir <DIR>",
                "description": "directory of the vulnerability index (default: $KILN_VULN_DB_DIR, else <cache dir>/vuln)"
              }
            ],
            "action": true
          },
          {
            "name": "status",
            "description": "each indexed feed's age, record count and skipped records",
            "options": [
              {
                "flags": "--json",
                "description": "print the feeds as JSON"
              },
              {
                "flags": "--db-dir <DIR>",
                "description": "directory of the vulnerability index (default: $KILN_VULN_DB_DIR, else <cache dir>/vuln)"
              }
            ],
            "action": true
          },
          {
            "name": "export",
            "description": "write the whole index as one file for air-gapped sites, signed with a cosign key (FILE.sig, as cosign sign-blob writes it)",
            "arguments": [
              {
                "usage": "<file>",
                "description": "bundle to write"
              }
            ],
            "options": [
              {
                "flags": "--key <FILE>",
                "description": "cosign private key to sign the bundle with (password from COSIGN_PASSWORD)"
              },
              {
                "flags": "--json",
                "description": "print {file, bytes, signed} as JSON"
              },
              {
                "flags": "--db-dir <DIR>",
                "description": "directory of the vulnerability index (default: $KILN_VULN_DB_DIR, else <cache dir>/vuln)"
              }
            ],
            "action": true
          },
          {
            "name": "import",
            "description": "replace the index with a bundle from kiln vuln db export after verifying its signature (FILE.sig) with --key",
            "arguments": [
              {
                "usage": "<file>",
                "description": "bundle to import"
              }
            ],
            "options": [
              {
                "flags": "--key <FILE>",
                "description": "cosign public key the bundle must be signed with"
              },
              {
                "flags": "--insecure-ignore-signature",
                "description": "import without checking a signature"
              },
              {
                "flags": "--json",
                "description": "print {file, bytes, verified} as JSON"
              },
              {
                "flags": "--db-dir <DIR>",
                "description": "directory of the vulnerability index (default: $KILN_VULN_DB_DIR, else <cache dir>/vuln)"
              }
            ],
            "action": true
          }
        ],
        "lazy": true
      },
      {
        "name": "sla",
        "description": "remediation SLA report from the advisories: first detected, fixed at (version and date), days open and SLA breaches per severity (severity from the local index)",
        "arguments": [
          {
            "usage": "[dir]",
            "description": "advisories directory",
            "fields": {
              "defaultValue": "os/advisories"
            }
          }
        ],
        "options": [
          {
            "flags": "--format <FORMAT>",
            "description": "json, csv or markdown",
            "fields": {
              "defaultValue": "markdown"
            }
          },
          {
            "flags": "--sla <LIST>",
            "description": "days allowed per severity (default critical=7,high=14,medium=30,low=30; none and unknown as low unless given)"
          },
          {
            "flags": "-o, --output <FILE>",
            "description": "write here (atomically) instead of stdout"
          },
          {
            "flags": "--db-dir <DIR>",
            "description": "directory of the vulnerability index (default: $KILN_VULN_DB_DIR, else <cache dir>/vuln)"
          }
        ],
        "action": true,
        "lazy": true
      }
    ]
  },
  {
    "name": "advisory",
    "description": "Kiln's own advisories: dated events per vulnerability per origin package (os/advisories)",
    "commands": [
      {
        "name": "validate",
        "description": "check every <origin>.yaml of an advisories directory against Kiln's advisory schema; exits 1 naming each file, line and field at fault",
        "arguments": [
          {
            "usage": "[dir]",
            "description": "advisories directory",
            "fields": {
              "defaultValue": "os/advisories"
            }
          }
        ],
        "options": [
          {
            "flags": "--json",
            "description": "print {files, advisories, errors} as JSON"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "list",
        "description": "list every advisory with its current state (latest event), fixed version or justification; invalid files are reported on stderr and skipped",
        "arguments": [
          {
            "usage": "[dir]",
            "description": "advisories directory",
            "fields": {
              "defaultValue": "os/advisories"
            }
          }
        ],
        "options": [
          {
            "flags": "--package <NAME>",
            "description": "only this origin package"
          },
          {
            "flags": "--status <TYPE>",
            "description": "only advisories whose latest event is this type (detected, affected, fixed, not-affected, false-positive, pending-upstream, fix-not-planned)"
          },
          {
            "flags": "--json",
            "description": "print the advisories as JSON"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "secdb",
        "description": "write the advisories as an apk secdb (security.json, as Alpine serves it) to publish beside the package repository; refuses invalid advisories files",
        "arguments": [
          {
            "usage": "[dir]",
            "description": "advisories directory",
            "fields": {
              "defaultValue": "os/advisories"
            }
          }
        ],
        "options": [
          {
            "flags": "-o, --output <FILE>",
            "description": "write here (atomically) instead of stdout"
          },
          {
            "flags": "--urlprefix <URL>",
            "description": "repository URL prefix recorded in the secdb",
            "fields": {
              "mandatory": true
            }
          },
          {
            "flags": "--reponame <NAME>",
            "description": "repository name recorded in the secdb",
            "fields": {
              "defaultValue": "os"
            }
          },
          {
            "flags": "--arch <ARCH>",
            "description": "architecture the repository serves (repeatable; default x86_64 and aarch64)",
            "parser": true
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "publish",
        "description": "write the advisories for publishing beside the package repository: security.json (apk secdb), osv/<id>.json and osv/all.zip (OSV records), sla.json, sla.csv and sla.md (remediation SLA report; severities from the local index); each file atomically; refuses invalid advisories files",
        "arguments": [
          {
            "usage": "[dir]",
            "description": "advisories directory",
            "fields": {
              "defaultValue": "os/advisories"
            }
          }
        ],
        "options": [
          {
            "flags": "-o, --output-dir <DIR>",
            "description": "directory to publish into (created when missing)",
            "fields": {
              "mandatory": true
            }
          },
          {
            "flags": "--urlprefix <URL>",
            "description": "repository URL prefix recorded in the secdb",
            "fields": {
              "mandatory": true
            }
          },
          {
            "flags": "--reponame <NAME>",
            "description": "repository name recorded in the secdb",
            "fields": {
              "defaultValue": "os"
            }
          },
          {
            "flags": "--arch <ARCH>",
            "description": "architecture the repository serves (repeatable; default x86_64 and aarch64)",
            "parser": true
          },
          {
            "flags": "--sla <LIST>",
            "description": "days allowed per severity (default critical=7,high=14,medium=30,low=30; none and unknown as low unless given)"
          },
          {
            "flags": "--json",
            "description": "print what was written as JSON"
          },
          {
            "flags": "--db-dir <DIR>",
            "description": "directory of the vulnerability index (default: $KILN_VULN_DB_DIR, else <cache dir>/vuln)"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "create",
        "description": "start a package's advisory for a vulnerability with its first event (the file is created when missing), validated and written atomically",
        "arguments": [
          {
            "usage": "<package>",
            "description": "origin package name (os/advisories/<package>.yaml)"
          },
          {
            "usage": "<vulnerability>",
            "description": "vulnerability id (CVE-2024-1234, GHSA-…)"
          }
        ],
        "options": [
          {
            "flags": "--type <TYPE>",
            "description": "event type: detected, affected, fixed, not-affected, false-positive, pending-upstream, fix-not-planned",
            "fields": {
              "mandatory": true
            }
          },
          {
            "flags": "--fixed-version <VERSION>",
            "description": "apk version that fixes it (--type fixed)"
          },
          {
            "flags": "--evidence <TEXT>",
            "description": "where the fix is shown (--type fixed)"
          },
          {
            "flags": "--justification <NAME>",
            "description": "OpenVEX justification (--type not-affected): component_not_present, vulnerable_code_not_present, vulnerable_code_not_in_execute_path, vulnerable_code_cannot_be_controlled_by_adversary, inline_mitigations_already_exist"
          },
          {
            "flags": "--impact <TEXT>",
            "description": "impact statement (--type not-affected)"
          },
          {
            "flags": "--reason <TEXT>",
            "description": "why (--type false-positive, fix-not-planned)"
          },
          {
            "flags": "--note <TEXT>",
            "description": "note (--type detected, affected, pending-upstream)"
          },
          {
            "flags": "--scanner <NAME>",
            "description": "scanner that found it (--type detected)"
          },
          {
            "flags": "--alias <ID>",
            "description": "another id of the vulnerability (repeatable)",
            "parser": true
          },
          {
            "flags": "--timestamp <ISO8601>",
            "description": "when the event happened (default now)"
          },
          {
            "flags": "--dir <DIR>",
            "description": "advisories directory",
            "fields": {
              "defaultValue": "os/advisories"
            }
          },
          {
            "flags": "--json",
            "description": "print the resulting advisories file as JSON"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "update",
        "description": "append an event to a package's existing advisory for a vulnerability (the latest event is its current state), validated and written atomically",
        "arguments": [
          {
            "usage": "<package>",
            "description": "origin package name (os/advisories/<package>.yaml)"
          },
          {
            "usage": "<vulnerability>",
            "description": "vulnerability id (CVE-2024-1234, GHSA-…)"
          }
        ],
        "options": [
          {
            "flags": "--type <TYPE>",
            "description": "event type: detected, affected, fixed, not-affected, false-positive, pending-upstream, fix-not-planned",
            "fields": {
              "mandatory": true
            }
          },
          {
            "flags": "--fixed-version <VERSION>",
            "description": "apk version that fixes it (--type fixed)"
          },
          {
            "flags": "--evidence <TEXT>",
            "description": "where the fix is shown (--type fixed)"
          },
          {
            "flags": "--justification <NAME>",
            "description": "OpenVEX justification (--type not-affected): component_not_present, vulnerable_code_not_present, vulnerable_code_not_in_execute_path, vulnerable_code_cannot_be_controlled_by_adversary, inline_mitigations_already_exist"
          },
          {
            "flags": "--impact <TEXT>",
            "description": "impact statement (--type not-affected)"
          },
          {
            "flags": "--reason <TEXT>",
            "description": "why (--type false-positive, fix-not-planned)"
          },
          {
            "flags": "--note <TEXT>",
            "description": "note (--type detected, affected, pending-upstream)"
          },
          {
            "flags": "--scanner <NAME>",
            "description": "scanner that found it (--type detected)"
          },
          {
            "flags": "--alias <ID>",
            "description": "another id of the vulnerability (repeatable)",
            "parser": true
          },
          {
            "flags": "--timestamp <ISO8601>",
            "description": "when the event happened (default now)"
          },
          {
            "flags": "--dir <DIR>",
            "description": "advisories directory",
            "fields": {
              "defaultValue": "os/advisories"
            }
          },
          {
            "flags": "--json",
            "description": "print the resulting advisories file as JSON"
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "derive",
        "description": "add a fixed event, at the built version, for every CVE the Debian changelog of each Kiln OS recipe's source names at or below the Debian version it builds (the changelog line is the evidence); files change only when an event is added",
        "arguments": [
          {
            "usage": "[dir]",
            "description": "advisories directory",
            "fields": {
              "defaultValue": "os/advisories"
            }
          }
        ],
        "options": [
          {
            "flags": "--os-dir <DIR>",
            "description": "Kiln OS tree whose packages/*.yaml recipes are read",
            "fields": {
              "defaultValue": "os"
            }
          },
          {
            "flags": "--debian-source-cache <DIR>",
            "description": "verified Debian sources as kiln os build keeps them (default: $XDG_CACHE_HOME/kiln/debian-sources)"
          },
          {
            "flags": "--debian-tracker <FILE|URL>",
            "description": "also derive from Debian's security tracker data: data/CVE/list, data/DSA/list or data/DLA/list (repeatable); a fixed version at or below the Debian version built gives a fixed event, <not-affected> with a stated reason a not-affected event; the tracker line is the evidence",
            "parser": true
          },
          {
            "flags": "--debian-release <CODENAME>",
            "description": "Debian release the recipes build from, whose tracker lines apply (else the unstable line)",
            "fields": {
              "defaultValue": "bookworm"
            }
          },
          {
            "flags": "--dry-run",
            "description": "report what would be added without writing"
          },
          {
            "flags": "--json",
            "description": "print what was added as JSON"
          }
        ],
        "action": true,
        "lazy": true
      }
    ]
  },
  {
    "name": "comply",
    "description": "check images against hardening rules and write OSCAL compliance evidence (NIST SP 800-53 rev 5)",
    "commands": [
      {
        "name": "check",
        "description": "run the hardening checks on an image (non-root, no shell/package manager/compiler, no setuid, no world-writable, no secrets, accounts, os-release, CA bundle, zoneinfo, SBOM; signature and attestations for registry images); exit 1 when a high or critical check fails",
        "arguments": [
          {
            "usage": "<image>",
            "description": "OCI image layout directory, docker-archive tarball (kiln image build output), or a registry reference (registry/repo:tag)"
          }
        ],
        "options": [
          {
            "flags": "--sbom <FILE>",
            "description": "SPDX or CycloneDX JSON SBOM of the image, for the sbom-packages check (repeatable: one per architecture)",
            "parser": true
          },
          {
            "flags": "--platform <PLATFORM>",
            "description": "check only the image of this platform (linux/amd64, amd64, x86_64)"
          },
          {
            "flags": "--name <REF>",
            "description": "the image's name (registry/repo:tag) when the source does not record it; a name ending in -dev marks a dev variant"
          },
          {
            "flags": "--allow-insecure-registry",
            "description": "allow plain HTTP to a registry that is not on loopback"
          },
          {
            "flags": "--vuln-db <PATH>",
            "description": "vulnerability index (vuln.sqlite, or the directory holding it: kiln vuln db update) for the vulnerabilities-within-sla check"
          },
          {
            "flags": "--advisories <DIR>",
            "description": "Kiln advisories directory: a finding's first advisory event starts its SLA clock (default: the index's publication date)"
          },
          {
            "flags": "--sla <LIST>",
            "description": "days allowed per severity (default critical=7,high=14,medium=30,low=30; none and unknown as low unless given, as kiln vuln sla)"
          },
          {
            "flags": "-X, --repository <URL>",
            "description": "apk repository (https://, file:// or a path) whose signed index the installed packages are traced to, for packages-signed (repeatable)",
            "parser": true
          },
          {
            "flags": "-k, --keyring <PATH>",
            "description": "trusted public key file, directory of keys or key URL for --repository (repeatable)",
            "parser": true
          },
          {
            "flags": "--cache-dir <DIR>",
            "description": "cache for repository indexes (default $XDG_CACHE_HOME/kiln)"
          },
          {
            "flags": "--rebuilt <PATH>",
            "description": "a rebuild of the image (OCI layout or docker archive, e.g. kiln image reproduce output) to compare digests with, for the reproducible check"
          },
          {
            "flags": "--json",
            "description": "print [{\"image\", \"checks\": [...], \"counts\", \"isBlocking\"}] on stdout"
          },
          {
            "flags": "--attest",
            "description": "registry images: attach the results as signed in-toto attestations (hardening-checks/v1 and oscal-assessment-results/v1 predicates)"
          },
          {
            "flags": "--key <PATH>",
            "description": "--attest: cosign.key or PEM private key (without it, keyless: Fulcio); without --attest: cosign.pub verifying registry signatures and SBOM and provenance attestations (signature-attached, sbom-attached, provenance-attached) and, with --reproduce, the provenance"
          },
          {
            "flags": "--verify-key <PATH>",
            "description": "cosign.pub the checks verify registry signatures and attestations (and, with --reproduce, the provenance) with; what --key is without --attest, for when --key is the signing key (repeatable)",
            "parser": true
          },
          {
            "flags": "--policy <FILE>",
            "description": "compliance policy (YAML or JSON: require: all, checks: [...], controls: [...], allow-dev): exit 1 unless every requirement is met, instead of the high/critical rule"
          },
          {
            "flags": "--tlog-upload [BOOL]",
            "description": "upload to the transparency log (keyless, or with --rekor-url); --tlog-upload=false to skip",
            "fields": {
              "defaultValue": true
            },
            "parser": true
          },
          {
            "flags": "--new-bundle-format [BOOL]",
            "description": "true: store only a Sigstore bundle referrer; false: only the .att tag; unset: .att tag plus a bundle where the referrers API exists",
            "parser": true
          },
          {
            "flags": "--fulcio-url <URL>",
            "description": "keyless: Fulcio server",
            "fields": {
              "defaultValue": "https://fulcio.sigstore.dev"
            }
          },
          {
            "flags": "--rekor-url <URL>",
            "description": "Rekor server for the transparency-log entry (default for keyless: https://rekor.sigstore.dev)"
          },
          {
            "flags": "--rekor-entry-type <KIND>",
            "description": "Rekor entry kind for the signed envelope",
            "fields": {
              "defaultValue": "dsse",
              "argChoices": [
                "dsse",
                "intoto"
              ]
            },
            "parser": true
          },
          {
            "flags": "--identity-token <TOKEN>",
            "description": "keyless: OIDC identity token (default: $SIGSTORE_ID_TOKEN)"
          },
          {
            "flags": "-y, --yes",
            "description": "do not prompt for confirmation (accepted for cosign compatibility)"
          },
          {
            "flags": "--reproduce",
            "description": "registry images: rebuild the image from its SLSA provenance (verified with --key cosign.pub, --verify-key or a keyless identity) for the reproducible check, as kiln image reproduce does"
          },
          {
            "flags": "--certificate-identity <SAN>",
            "description": "keyless: the signing certificate's identity (email or URI) must equal this"
          },
          {
            "flags": "--certificate-identity-regexp <RE>",
            "description": "keyless: the identity must match this regular expression"
          },
          {
            "flags": "--certificate-oidc-issuer <URL>",
            "description": "keyless: the OIDC issuer in the certificate must equal this"
          },
          {
            "flags": "--certificate-oidc-issuer-regexp <RE>",
            "description": "keyless: the issuer must match this regular expression"
          },
          {
            "flags": "--trusted-root <FILE>",
            "description": "Sigstore trusted root JSON (Fulcio CAs, Rekor and CT log keys): required for keyless; with --key, log entries in bundles are checked against its Rekor keys"
          },
          {
            "flags": "--insecure-ignore-tlog [BOOL]",
            "description": "keyless: do not require a transparency-log entry (the certificate is then checked at the current time); --key never requires one",
            "parser": true
          },
          {
            "flags": "--insecure-ignore-sct [BOOL]",
            "description": "do not require a certificate transparency SCT",
            "parser": true
          }
        ],
        "action": true,
        "lazy": true
      },
      {
        "name": "report",
        "description": "run the hardening checks and write OSCAL component-definition.json, assessment-results.json, poam.json (when a check failed or a CVE is open within its SLA), summary.md/summary.html, FedRAMP Moderate/High baseline coverage (coverage.json, coverage.md) and a customer-responsibility matrix (responsibility.json, .csv, .md)",
        "arguments": [
          {
            "usage": "<image>",
            "description": "OCI image layout directory, docker-archive tarball (kiln image build output), or a registry reference (registry/repo:tag)"
          }
        ],
        "options": [
          {
            "flags": "--sbom <FILE>",
            "description": "SPDX or CycloneDX JSON SBOM of the image, for the sbom-packages check (repeatable: one per architecture)",
            "parser": true
          },
          {
            "flags": "--platform <PLATFORM>",
            "description": "check only the image of this platform (linux/amd64, amd64, x86_64)"
          },
          {
            "flags": "--name <REF>",
            "description": "the image's name (registry/repo:tag) when the source does not record it; a name ending in -dev marks a dev variant"
          },
          {
            "flags": "--allow-insecure-registry",
            "description": "allow plain HTTP to a registry that is not on loopback"
          },
          {
            "flags": "--vuln-db <PATH>",
            "description": "vulnerability index (vuln.sqlite, or the directory holding it: kiln vuln db update) for the vulnerabilities-within-sla check"
          },
          {
            "flags": "--advisories <DIR>",
            "description": "Kiln advisories directory: a finding's first advisory event starts its SLA clock (default: the index's publication date)"
          },
          {
            "flags": "--sla <LIST>",
            "description": "days allowed per severity (default critical=7,high=14,medium=30,low=30; none and unknown as low unless given, as kiln vuln sla)"
          },
          {
            "flags": "-X, --repository <URL>",
            "description": "apk repository (https://, file:// or a path) whose signed index the installed packages are traced to, for packages-signed (repeatable)",
            "parser": true
          },
          {
            "flags": "-k, --keyring <PATH>",
            "description": "trusted public key file, directory of keys or key URL for --repository (repeatable)",
            "parser": true
          },
          {
            "flags": "--cache-dir <DIR>",
            "description": "cache for repository indexes (default $XDG_CACHE_HOME/kiln)"
          },
          {
            "flags": "--rebuilt <PATH>",
            "description": "a rebuild of the image (OCI layout or docker archive, e.g. kiln image reproduce output) to compare digests with, for the reproducible check"
          },
          {
            "flags": "--out <DIR>",
            "description": "directory to write the documents in (created when missing; Kiln's files in it are replaced, and a poam.json or summary an earlier run left that this run does not write is removed)",
            "fields": {
              "mandatory": true
            }
          },
          {
            "flags": "--format <LIST>",
            "description": "human summary formats: markdown (summary.md), html (summary.html, self-contained), comma-separated",
            "fields": {
              "defaultValue": "markdown,html"
            }
          },
          {
            "flags": "--json",
            "description": "print {\"files\": {...}, \"images\": [{\"image\", \"counts\", \"isBlocking\"}]} on stdout"
          },
          {
            "flags": "--key <PATH>",
            "description": "public key file (cosign.pub); may hold several keys; repeatable",
            "parser": true
          },
          {
            "flags": "--certificate-identity <SAN>",
            "description": "keyless: the signing certificate's identity (email or URI) must equal this"
          },
          {
            "flags": "--certificate-identity-regexp <RE>",
            "description": "keyless: the identity must match this regular expression"
          },
          {
            "flags": "--certificate-oidc-issuer <URL>",
            "description": "keyless: the OIDC issuer in the certificate must equal this"
          },
          {
            "flags": "--certificate-oidc-issuer-regexp <RE>",
            "description": "keyless: the issuer must match this regular expression"
          },
          {
            "flags": "--trusted-root <FILE>",
            "description": "Sigstore trusted root JSON (Fulcio CAs, Rekor and CT log keys): required for keyless; with --key, log entries in bundles are checked against its Rekor keys"
          },
          {
            "flags": "--insecure-ignore-tlog [BOOL]",
            "description": "keyless: do not require a transparency-log entry (the certificate is then checked at the current time); --key never requires one",
            "parser": true
          },
          {
            "flags": "--insecure-ignore-sct [BOOL]",
            "description": "do not require a certificate transparency SCT",
            "parser": true
          }
        ],
        "action": true,
        "lazy": true
      }
    ]
  },
  {
    "name": "catalog",
    "description": "the web catalog: images, packages, vulnerabilities, history, signatures and comparisons, with a JSON API",
    "commands": [
      {
        "name": "serve",
        "description": "serve the web catalog (images, packages, vulnerabilities, history, signatures, comparison; JSON under /api/) beside the registry API on one listener (docs/catalog.md)",
        "options": [
          {
            "flags": "--config <FILE>",
            "description": "registry YAML config file (docs/registry.md)"
          },
          {
            "flags": "--listen <HOST:PORT>",
            "description": "listen address for the registry and the catalog (default 127.0.0.1:5000)"
          },
          {
            "flags": "--data-dir <DIR>",
            "description": "registry storage, metadata and generated keys (default $XDG_DATA_HOME/kiln/registry)"
          },
          {
            "flags": "--log-level <LEVEL>",
            "description": "trace, debug, info, warn, error or silent"
          },
          {
            "flags": "--key <FILE>",
            "description": "cosign public key whose signatures and attestations the catalog shows as verified (repeatable); without one nothing is shown as verified",
            "parser": true
          },
          {
            "flags": "--vuln-db <FILE>",
            "description": "vulnerability index to scan images against (kiln vuln db update; opened read-only)"
          },
          {
            "flags": "--history <FILE>",
            "description": "the factory's history database (kiln factory run), for each image's timeline and CVE chart; opened read-only"
          },
          {
            "flags": "--compare <NAME=IMAGE>",
            "description": "an image the comparison page may show: a registry reference or an OCI layout (repeatable)",
            "parser": true
          }
        ],
        "action": true,
        "lazy": true
      }
    ]
  },
  {
    "name": "generate-key-pair",
    "description": "generate a cosign-compatible key pair: <prefix>.key (scrypt + secretbox encrypted, password from COSIGN_PASSWORD or a prompt) and <prefix>.pub",
    "options": [
      {
        "flags": "--output-key-prefix <PREFIX>",
        "description": "file name prefix of the key pair",
        "fields": {
          "defaultValue": "cosign"
        }
      },
      {
        "flags": "--json",
        "description": "print {\"privateKey\",\"publicKey\"} paths on stdout"
      }
    ],
    "action": true,
    "lazy": true
  },
  {
    "name": "sign",
    "description": "sign images like cosign: simple-signing payload in the sha256-<digest>.sig tag, and a Sigstore bundle referrer where the registry supports the referrers API",
    "arguments": [
      {
        "usage": "[images...]",
        "description": "image references (tag or digest); tags are resolved to a digest first"
      }
    ],
    "options": [
      {
        "flags": "--key <PATH>",
        "description": "cosign.key (encrypted; password from COSIGN_PASSWORD or a prompt) or a PEM private key; without it, keyless signing"
      },
      {
        "flags": "-a, --annotations <KEY=VALUE>",
        "description": "extra key=value stored in the signed payload (repeatable)",
        "parser": true
      },
      {
        "flags": "--recursive",
        "description": "for an index, also sign each platform manifest"
      },
      {
        "flags": "--tlog-upload [BOOL]",
        "description": "upload to the transparency log (keyless, or with --rekor-url); --tlog-upload=false to skip",
        "fields": {
          "defaultValue": true
        },
        "parser": true
      },
      {
        "flags": "--new-bundle-format [BOOL]",
        "description": "true: store only a Sigstore bundle referrer; false: only the .sig tag; unset: .sig tag plus a bundle where the referrers API exists",
        "parser": true
      },
      {
        "flags": "--fulcio-url <URL>",
        "description": "keyless: Fulcio server",
        "fields": {
          "defaultValue": "https://fulcio.sigstore.dev"
        }
      },
      {
        "flags": "--rekor-url <URL>",
        "description": "Rekor server for the transparency-log entry (default for keyless: https://rekor.sigstore.dev)"
      },
      {
        "flags": "--rekor-entry-type <KIND>",
        "description": "Rekor entry kind for the signed envelope",
        "fields": {
          "defaultValue": "dsse",
          "argChoices": [
            "dsse",
            "intoto"
          ]
        },
        "parser": true
      },
      {
        "flags": "--identity-token <TOKEN>",
        "description": "keyless: OIDC identity token (default: $SIGSTORE_ID_TOKEN)"
      },
      {
        "flags": "-y, --yes",
        "description": "do not prompt for confirmation (accepted for cosign compatibility)"
      },
      {
        "flags": "--json",
        "description": "print the signed digests and where their signatures went as JSON"
      },
      {
        "flags": "--allow-insecure-registry",
        "description": "allow plain HTTP to registries that are not on loopback (loopback always uses HTTP)"
      }
    ],
    "action": true,
    "lazy": true
  },
  {
    "name": "verify",
    "description": "verify cosign signatures of images (sha256-<digest>.sig and Sigstore bundle referrers) with --key or a keyless identity; exits 1 unless at least one signature verifies",
    "arguments": [
      {
        "usage": "[images...]",
        "description": "image references"
      }
    ],
    "options": [
      {
        "flags": "--key <PATH>",
        "description": "public key file (cosign.pub); may hold several keys; repeatable",
        "parser": true
      },
      {
        "flags": "--certificate-identity <SAN>",
        "description": "keyless: the signing certificate's identity (email or URI) must equal this"
      },
      {
        "flags": "--certificate-identity-regexp <RE>",
        "description": "keyless: the identity must match this regular expression"
      },
      {
        "flags": "--certificate-oidc-issuer <URL>",
        "description": "keyless: the OIDC issuer in the certificate must equal this"
      },
      {
        "flags": "--certificate-oidc-issuer-regexp <RE>",
        "description": "keyless: the issuer must match this regular expression"
      },
      {
        "flags": "--trusted-root <FILE>",
        "description": "Sigstore trusted root JSON (Fulcio CAs, Rekor and CT log keys): required for keyless; with --key, log entries in bundles are checked against its Rekor keys"
      },
      {
        "flags": "--insecure-ignore-tlog [BOOL]",
        "description": "keyless: do not require a transparency-log entry (the certificate is then checked at the current time); --key never requires one",
        "parser": true
      },
      {
        "flags": "--insecure-ignore-sct [BOOL]",
        "description": "do not require a certificate transparency SCT",
        "parser": true
      },
      {
        "flags": "-a, --annotations <KEY=VALUE>",
        "description": "require key=value in the signed payload (repeatable)",
        "parser": true
      },
      {
        "flags": "-o, --output <FORMAT>",
        "description": "json (default, the verified payloads like cosign) or text",
        "fields": {
          "defaultValue": "json"
        }
      },
      {
        "flags": "--json",
        "description": "print one JSON document with each image's verified signatures"
      },
      {
        "flags": "--allow-insecure-registry",
        "description": "allow plain HTTP to registries that are not on loopback (loopback always uses HTTP)"
      }
    ],
    "action": true,
    "lazy": true
  },
  {
    "name": "attest",
    "description": "attach a signed in-toto attestation (DSSE) to images: sha256-<digest>.att layers, and a Sigstore bundle referrer where the referrers API exists",
    "arguments": [
      {
        "usage": "[images...]",
        "description": "image references"
      }
    ],
    "options": [
      {
        "flags": "--predicate <FILE>",
        "description": "predicate file (JSON; \"-\" reads stdin); for --type custom any text",
        "fields": {
          "mandatory": true
        }
      },
      {
        "flags": "--type <TYPE>",
        "description": "slsaprovenance1, slsaprovenance, spdxjson, cyclonedx, openvex, vuln, link, custom, or a predicate type URI",
        "fields": {
          "defaultValue": "custom"
        }
      },
      {
        "flags": "--key <PATH>",
        "description": "cosign.key or PEM private key; without it, keyless (Fulcio)"
      },
      {
        "flags": "--replace",
        "description": "replace existing .att layers of the same predicate type (and attest even when the same key already attested the same predicate)"
      },
      {
        "flags": "--recursive",
        "description": "for an index, also attest each platform manifest"
      },
      {
        "flags": "--tlog-upload [BOOL]",
        "description": "upload to the transparency log (keyless, or with --rekor-url); --tlog-upload=false to skip",
        "fields": {
          "defaultValue": true
        },
        "parser": true
      },
      {
        "flags": "--new-bundle-format [BOOL]",
        "description": "true: store only a Sigstore bundle referrer; false: only the .att tag; unset: .att tag plus a bundle where the referrers API exists",
        "parser": true
      },
      {
        "flags": "--fulcio-url <URL>",
        "description": "keyless: Fulcio server",
        "fields": {
          "defaultValue": "https://fulcio.sigstore.dev"
        }
      },
      {
        "flags": "--rekor-url <URL>",
        "description": "Rekor server for the transparency-log entry (default for keyless: https://rekor.sigstore.dev)"
      },
      {
        "flags": "--rekor-entry-type <KIND>",
        "description": "Rekor entry kind for the signed envelope",
        "fields": {
          "defaultValue": "dsse",
          "argChoices": [
            "dsse",
            "intoto"
          ]
        },
        "parser": true
      },
      {
        "flags": "--identity-token <TOKEN>",
        "description": "keyless: OIDC identity token (default: $SIGSTORE_ID_TOKEN)"
      },
      {
        "flags": "-y, --yes",
        "description": "do not prompt for confirmation (accepted for cosign compatibility)"
      },
      {
        "flags": "--json",
        "description": "print where each attestation went as JSON"
      },
      {
        "flags": "--allow-insecure-registry",
        "description": "allow plain HTTP to registries that are not on loopback (loopback always uses HTTP)"
      }
    ],
    "action": true,
    "lazy": true
  },
  {
    "name": "verify-attestation",
    "description": "verify in-toto attestations of images with --key or a keyless identity; prints one DSSE envelope per verified attestation (like cosign); exits 1 unless one verifies",
    "arguments": [
      {
        "usage": "[images...]",
        "description": "image references"
      }
    ],
    "options": [
      {
        "flags": "--key <PATH>",
        "description": "public key file (cosign.pub); may hold several keys; repeatable",
        "parser": true
      },
      {
        "flags": "--certificate-identity <SAN>",
        "description": "keyless: the signing certificate's identity (email or URI) must equal this"
      },
      {
        "flags": "--certificate-identity-regexp <RE>",
        "description": "keyless: the identity must match this regular expression"
      },
      {
        "flags": "--certificate-oidc-issuer <URL>",
        "description": "keyless: the OIDC issuer in the certificate must equal this"
      },
      {
        "flags": "--certificate-oidc-issuer-regexp <RE>",
        "description": "keyless: the issuer must match this regular expression"
      },
      {
        "flags": "--trusted-root <FILE>",
        "description": "Sigstore trusted root JSON (Fulcio CAs, Rekor and CT log keys): required for keyless; with --key, log entries in bundles are checked against its Rekor keys"
      },
      {
        "flags": "--insecure-ignore-tlog [BOOL]",
        "description": "keyless: do not require a transparency-log entry (the certificate is then checked at the current time); --key never requires one",
        "parser": true
      },
      {
        "flags": "--insecure-ignore-sct [BOOL]",
        "description": "do not require a certificate transparency SCT",
        "parser": true
      },
      {
        "flags": "--type <TYPE>",
        "description": "only this predicate type (cosign name or URI); default: any type"
      },
      {
        "flags": "--json",
        "description": "print one JSON document with each verified statement"
      },
      {
        "flags": "--allow-insecure-registry",
        "description": "allow plain HTTP to registries that are not on loopback (loopback always uses HTTP)"
      }
    ],
    "action": true,
    "lazy": true
  },
  {
    "name": "download",
    "description": "download attestations or SBOMs attached to an image (like cosign download)",
    "commands": [
      {
        "name": "attestation",
        "description": "print each attached attestation envelope as one JSON line (digest-checked, not signature-verified: use verify-attestation for that)",
        "arguments": [
          {
            "usage": "<image>",
            "description": "image reference"
          }
        ],
        "options": [
          {
            "flags": "--predicate-type <TYPE>",
            "description": "only this predicate type (cosign name or URI)"
          },
          {
            "flags": "--allow-insecure-registry",
            "description": "allow plain HTTP to registries that are not on loopback (loopback always uses HTTP)"
          }
        ],
        "action": true
      },
      {
        "name": "sbom",
        "description": "print the image's SBOM: from SPDX/CycloneDX attestations (verified when --key is given) or the deprecated .sbom tag",
        "arguments": [
          {
            "usage": "<image>",
            "description": "image reference"
          }
        ],
        "options": [
          {
            "flags": "--key <PATH>",
            "description": "verify the SBOM attestation with this public key first (repeatable)",
            "parser": true
          },
          {
            "flags": "--output-file <FILE>",
            "description": "write the SBOM to FILE instead of stdout"
          },
          {
            "flags": "--allow-insecure-registry",
            "description": "allow plain HTTP to registries that are not on loopback (loopback always uses HTTP)"
          }
        ],
        "action": true
      }
    ],
    "lazy": true
  },
  {
    "name": "tree",
    "description": "show the supply-chain artifacts attached to an image: .sig/.att/.sbom tags and OCI referrers",
    "arguments": [
      {
        "usage": "<image>",
        "description": "image reference"
      }
    ],
    "options": [
      {
        "flags": "--json",
        "description": "print the tree as JSON"
      },
      {
        "flags": "--allow-insecure-registry",
        "description": "allow plain HTTP to registries that are not on loopback (loopback always uses HTTP)"
      }
    ],
    "action": true,
    "lazy": true
  },
  {
    "name": "policy",
    "description": "check images against a supply-chain policy",
    "commands": [
      {
        "name": "verify",
        "description": "check images against a policy file: which keys or keyless identities must have signed, which attestation types must be present and how old they may be; exits 1 listing every failed requirement",
        "arguments": [
          {
            "usage": "<images...>",
            "description": "image references"
          }
        ],
        "options": [
          {
            "flags": "--policy <FILE>",
            "description": "policy file (YAML or JSON); key and trusted-root paths in it are relative to it",
            "fields": {
              "mandatory": true
            }
          },
          {
            "flags": "--json",
            "description": "print the report (every requirement with pass/fail and why) as JSON"
          },
          {
            "flags": "--allow-insecure-registry",
            "description": "allow plain HTTP to registries that are not on loopback (loopback always uses HTTP)"
          }
        ],
        "action": true
      }
    ],
    "lazy": true
  }
];
