import type { HistoryReason, ImageHistoryEntry } from '../../factory/index.ts';
import type { ChartView, HistoryEntryView, PackageView, SeverityTally, VulnerabilityView } from './model.ts';
import { emptyTally, severityName, tallyTotal } from './model.ts';

// Pure: the parts of the image page made from documents — SBOM packages, scanner findings, factory
// history — and the CVE chart's geometry.

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' && value !== 'NOASSERTION' && value !== 'NONE' ? value : undefined;
}

const APK_PURL = /^pkg:apk\/[^/]+\/([^@?#]+)@([^?#]+)(?:\?([^#]*))?/;

function purlOf(refs: unknown): string | undefined {
  if (!Array.isArray(refs)) return undefined;
  for (const ref of refs) if (isObject(ref) && ref.referenceType === 'purl' && typeof ref.referenceLocator === 'string') return ref.referenceLocator;
  return undefined;
}

function upstreamOf(purl: string | undefined): string | undefined {
  const query = purl ? APK_PURL.exec(purl)?.[3] : undefined;
  const upstream = query ? new URLSearchParams(query).get('upstream') : null;
  return upstream ? upstream.replace(/@.*$/, '') : undefined;
}

/** The apk packages an SPDX 2.x or CycloneDX 1.x JSON SBOM lists, with licence and source package,
 *  sorted by name; an unknown document gives none. */
export function sbomPackageViews(document: unknown): PackageView[] {
  if (!isObject(document)) return [];
  const found = new Map<string, PackageView>();
  const add = (purl: string | undefined, license: string | undefined, source: string | undefined) => {
    const match = purl ? APK_PURL.exec(purl) : null;
    if (!match) return;
    const name = decodeURIComponent(match[1]!);
    const version = decodeURIComponent(match[2]!);
    found.set(`${name}@${version}`, { name, version, ...(license ? { license } : {}), ...((source ?? upstreamOf(purl)) ? { source: source ?? upstreamOf(purl)! } : {}) });
  };
  if (Array.isArray(document.packages)) {
    for (const pkg of document.packages) {
      if (!isObject(pkg)) continue;
      const sourceInfo = text(pkg.sourceInfo);
      const origin = sourceInfo ? /^built (?:package )?from(?: origin)?:?\s+([^\s;]+)/i.exec(sourceInfo)?.[1] : undefined;
      add(purlOf(pkg.externalRefs), text(pkg.licenseDeclared) ?? text(pkg.licenseConcluded), origin);
    }
  }
  if (Array.isArray(document.components)) {
    for (const component of document.components) {
      if (!isObject(component)) continue;
      const licenses = Array.isArray(component.licenses)
        ? component.licenses
            .map((entry) => (isObject(entry) ? (text(entry.expression) ?? (isObject(entry.license) ? (text(entry.license.id) ?? text(entry.license.name)) : undefined)) : undefined))
            .filter((value): value is string => value !== undefined)
        : [];
      const properties = Array.isArray(component.properties) ? component.properties.filter(isObject) : [];
      const origin = text(properties.find((property) => property.name === 'kiln:apk:origin' || property.name === 'aquasecurity:trivy:SrcName')?.value);
      add(text(component.purl), licenses.join(' AND ') || undefined, origin);
    }
  }
  return [...found.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : 1));
}

/** A scanner finding or suppressed match, as the scanner reports it. */
export interface FindingInput {
  id: string;
  aliases: string[];
  package: string;
  version: string;
  severity: string;
  fixedVersion?: string;
  suppressed?: string;
  summary?: string;
}

/** Vulnerability rows: open findings (`affected`, with the fixed version when one exists) then
 *  matches a feed or advisory says do not apply (`not_affected`, with its justification); worst
 *  first, then by id. */
export function vulnerabilityViews(findings: readonly FindingInput[], suppressed: readonly FindingInput[]): VulnerabilityView[] {
  const rank = (severity: string) => ['critical', 'high', 'medium', 'low', 'unknown'].indexOf(severityName(severity));
  const view = (finding: FindingInput, status: VulnerabilityView['status']): VulnerabilityView => ({
    id: finding.id,
    aliases: finding.aliases,
    package: finding.package,
    version: finding.version,
    severity: severityName(finding.severity),
    status,
    ...(finding.fixedVersion ? { fixedVersion: finding.fixedVersion } : {}),
    ...(finding.suppressed ? { justification: finding.suppressed } : {}),
    ...(finding.summary ? { summary: finding.summary } : {}),
  });
  const order = (a: VulnerabilityView, b: VulnerabilityView) => rank(a.severity) - rank(b.severity) || (a.id < b.id ? -1 : a.id > b.id ? 1 : a.package < b.package ? -1 : 1);
  return [...findings.map((finding) => view(finding, 'affected')).sort(order), ...suppressed.map((finding) => view(finding, 'not_affected')).sort(order)];
}

/** Open findings by severity, each vulnerability id counted once. */
export function tallyFindings(findings: readonly FindingInput[]): SeverityTally {
  const tally = emptyTally();
  const seen = new Set<string>();
  for (const finding of findings) {
    if (seen.has(finding.id)) continue;
    seen.add(finding.id);
    tally[severityName(finding.severity)]++;
  }
  return tally;
}

/** Why a digest was published, in words. */
export function reasonText(reason: HistoryReason): string {
  switch (reason.kind) {
    case 'first-build':
      return 'first build';
    case 'package-version':
      return reason.from ? `${reason.package} ${reason.from} → ${reason.to}` : `${reason.package} ${reason.to} added`;
    case 'advisory':
      return `advisory ${reason.id}`;
    case 'config':
      return `configuration: ${reason.detail}`;
  }
}

/** The factory's history as shown, newest first. */
export function historyViews(entries: readonly ImageHistoryEntry[]): HistoryEntryView[] {
  return entries
    .map((entry) => ({
      digest: entry.digest,
      publishedAt: entry.publishedAt,
      tags: entry.tags,
      reasons: [...(entry.reattested ? [entry.attestations === 0 ? 'same digest: scanned again (unsigned: nothing attested)' : 'same digest: a new scan result and OpenVEX attested'] : []), ...entry.reasons.map(reasonText)],
      packageChanges: [
        ...entry.packages.added.map((pkg) => `+ ${pkg.name} ${pkg.version}`),
        ...entry.packages.removed.map((pkg) => `− ${pkg.name} ${pkg.version}`),
        ...entry.packages.upgraded.map((pkg) => `${pkg.name} ${pkg.from} → ${pkg.to}`),
      ],
      cvesFixed: entry.cves.fixed,
      cvesIntroduced: entry.cves.introduced,
      open: { ...emptyTally(), ...entry.cves.open },
    }))
    .reverse();
}

/** Lays out the CVE-count-over-time chart: one point per digest, in time order, x spaced evenly
 *  (digests, not days, are what the reader compares), y the open findings of that digest. Digests
 *  without counts are left out of the line. */
export function cveChart(entries: ReadonlyArray<{ digest: string; at: string; open?: SeverityTally }>, width = 640, height = 200): ChartView {
  const pad = { left: 40, top: 12, right: 16, bottom: 28 };
  const counted = entries.filter((entry) => entry.open !== undefined).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const totals = counted.map((entry) => tallyTotal(entry.open!));
  const max = Math.max(1, ...totals);
  const step = max <= 5 ? 1 : Math.ceil(max / 4);
  const top = Math.ceil(max / step) * step;
  const plotWidth = width - pad.left - pad.right;
  const plotHeight = height - pad.top - pad.bottom;
  const yOf = (value: number) => Math.round((pad.top + plotHeight - (value / top) * plotHeight) * 10) / 10;
  const points = counted.map((entry, index) => ({
    x: Math.round((pad.left + (counted.length === 1 ? plotWidth / 2 : (index / (counted.length - 1)) * plotWidth)) * 10) / 10,
    y: yOf(totals[index]!),
    digest: entry.digest,
    at: entry.at,
    total: totals[index]!,
  }));
  const ticks: ChartView['ticks'] = [];
  for (let value = 0; value <= top; value += step) ticks.push({ value, y: yOf(value) });
  return { width, height, pad, points, ticks, max: top };
}
