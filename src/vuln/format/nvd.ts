import { parseJsonBounded } from '../../lib/index.ts';
import { VulnError } from '../errors.ts';
import { cvss2BaseScore, cvss3BaseScore } from './cvss.ts';
import { cvss4Score } from './cvss4.ts';
import { emptyFeed, isCveId } from './model.ts';
import type { CpeRange, CvssScore, ParsedFeed } from './model.ts';

// Pure: NVD CVE API 2.0 JSON (a page of the API, or a feed file with the same shape): descriptions,
// CVSS v3.1 / v4.0 (and v3.0, v2.0) base scores with vectors, and CPE match ranges of vulnerable products.

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Splits a CPE 2.3 formatted string on unescaped colons. */
export function splitCpe(criteria: string): string[] | undefined {
  const parts: string[] = [];
  let current = '';
  for (let index = 0; index < criteria.length; index++) {
    const char = criteria[index]!;
    if (char === '\\' && index + 1 < criteria.length) {
      current += criteria[++index];
    } else if (char === ':') {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts.length === 13 && parts[0] === 'cpe' && parts[1] === '2.3' ? parts : undefined;
}

const METRICS: ReadonlyArray<[string, CvssScore['version'], (vector: string) => number | undefined]> = [
  ['cvssMetricV40', '4.0', cvss4Score],
  ['cvssMetricV31', '3.1', cvss3BaseScore],
  ['cvssMetricV30', '3.0', cvss3BaseScore],
  ['cvssMetricV2', '2.0', cvss2BaseScore],
];

/** Parses NVD CVE JSON 2.0; a CVE or configuration that is malformed is skipped with a warning
 *  naming the CVE and field. VULN_FEED_INVALID when there is no `vulnerabilities` list. */
export function parseNvd(text: string, options: { feed: string; source?: string }): ParsedFeed {
  const source = options.source ?? options.feed;
  let document: unknown;
  try {
    document = parseJsonBounded(text, source, { maxBytes: 1024 * 1024 * 1024 });
  } catch (error) {
    throw new VulnError('VULN_FEED_INVALID', `feed ${options.feed}: ${source} is not JSON`, { cause: error, detail: { feed: options.feed, source } });
  }
  if (!isObject(document) || !Array.isArray(document.vulnerabilities)) {
    throw new VulnError('VULN_FEED_INVALID', `feed ${options.feed}: ${source} is not NVD CVE JSON 2.0 (no "vulnerabilities" list)`, { detail: { feed: options.feed, source } });
  }
  const feed = emptyFeed();
  const warn = (record: string, field: string, message: string) => feed.warnings.push({ feed: options.feed, record, field, message });
  document.vulnerabilities.forEach((item, index) => {
    const cve = isObject(item) && isObject(item.cve) ? item.cve : undefined;
    if (!cve || typeof cve.id !== 'string' || !isCveId(cve.id)) {
      warn(`vulnerabilities[${index}]`, `vulnerabilities[${index}].cve.id`, 'missing or not a CVE id');
      return;
    }
    const id = cve.id;
    const cvss: CvssScore[] = [];
    const metrics = isObject(cve.metrics) ? cve.metrics : {};
    for (const [key, version, scoreOf] of METRICS) {
      const list = metrics[key];
      if (list === undefined) continue;
      if (!Array.isArray(list)) {
        warn(id, `metrics.${key}`, 'not a list');
        continue;
      }
      list.forEach((metric, metricIndex) => {
        const data = isObject(metric) && isObject(metric.cvssData) ? metric.cvssData : undefined;
        // NVD states the score; without one, the vector gives it.
        const score = typeof data?.baseScore === 'number' ? data.baseScore : typeof data?.vectorString === 'string' ? scoreOf(data.vectorString) : undefined;
        if (!data || score === undefined || typeof data.vectorString !== 'string' || score < 0 || score > 10) {
          warn(id, `metrics.${key}[${metricIndex}].cvssData`, 'needs a baseScore from 0 to 10 (or a vectorString that gives one) and a vectorString');
          return;
        }
        cvss.push({ version, score, vector: data.vectorString, ...(typeof (metric as { source?: unknown }).source === 'string' ? { source: (metric as { source: string }).source } : {}) });
      });
    }
    const descriptions = Array.isArray(cve.descriptions) ? cve.descriptions : [];
    const english = descriptions.find((entry): entry is { value: string } => isObject(entry) && entry.lang === 'en' && typeof entry.value === 'string');
    feed.vulnerabilities.push({
      id,
      aliases: [],
      ...(english ? { summary: english.value } : {}),
      ...(typeof cve.published === 'string' ? { published: cve.published } : {}),
      ...(typeof cve.lastModified === 'string' ? { modified: cve.lastModified } : {}),
      cvss,
    });
    const configurations = cve.configurations ?? [];
    if (!Array.isArray(configurations)) {
      warn(id, 'configurations', 'not a list');
      return;
    }
    configurations.forEach((configuration, configIndex) => {
      const nodes = isObject(configuration) ? configuration.nodes : undefined;
      if (!Array.isArray(nodes)) {
        warn(id, `configurations[${configIndex}].nodes`, 'not a list');
        return;
      }
      nodes.forEach((node, nodeIndex) => {
        if (!isObject(node) || node.negate === true || !Array.isArray(node.cpeMatch)) return;
        node.cpeMatch.forEach((match, matchIndex) => {
          const field = `configurations[${configIndex}].nodes[${nodeIndex}].cpeMatch[${matchIndex}]`;
          if (!isObject(match) || match.vulnerable !== true) return;
          const parts = typeof match.criteria === 'string' ? splitCpe(match.criteria) : undefined;
          if (!parts) {
            warn(id, `${field}.criteria`, `${JSON.stringify(match.criteria)} is not a CPE 2.3 name`);
            return;
          }
          if (parts[2] !== 'a') return; // operating systems and hardware are not packages
          // A CPE for software that runs on another (target_sw: a Jenkins plugin named git) is not
          // the distribution's package of that name.
          if (parts[10] !== undefined && parts[10] !== '*' && parts[10] !== '-') return;
          const range: CpeRange = { cve: id, vendor: parts[3]!, product: parts[4]! };
          if (parts[5] !== '*' && parts[5] !== '-' && parts[5] !== '') range.version = parts[5]!;
          for (const key of ['versionStartIncluding', 'versionStartExcluding', 'versionEndIncluding', 'versionEndExcluding'] as const) {
            const value = match[key];
            if (typeof value === 'string') range[`${key.slice(7, 8).toLowerCase()}${key.slice(8)}` as 'startIncluding'] = value;
          }
          feed.cpes.push(range);
        });
      });
    });
  });
  return feed;
}

/** Parses CISA's KEV catalog JSON (`vulnerabilities[].cveID`, `dateAdded`, `dueDate`,
 *  `knownRansomwareCampaignUse`). */
export function parseKev(text: string, options: { feed: string; source?: string }): ParsedFeed {
  const source = options.source ?? options.feed;
  let document: unknown;
  try {
    document = parseJsonBounded(text, source);
  } catch (error) {
    throw new VulnError('VULN_FEED_INVALID', `feed ${options.feed}: ${source} is not JSON`, { cause: error, detail: { feed: options.feed, source } });
  }
  if (!isObject(document) || !Array.isArray(document.vulnerabilities)) {
    throw new VulnError('VULN_FEED_INVALID', `feed ${options.feed}: ${source} is not a KEV catalog (no "vulnerabilities" list)`, { detail: { feed: options.feed, source } });
  }
  const feed = emptyFeed();
  document.vulnerabilities.forEach((entry, index) => {
    if (!isObject(entry) || typeof entry.cveID !== 'string' || !isCveId(entry.cveID)) {
      feed.warnings.push({ feed: options.feed, record: `vulnerabilities[${index}]`, field: `vulnerabilities[${index}].cveID`, message: 'missing or not a CVE id' });
      return;
    }
    if (typeof entry.dateAdded !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(entry.dateAdded)) {
      feed.warnings.push({ feed: options.feed, record: entry.cveID, field: `vulnerabilities[${index}].dateAdded`, message: 'missing or not a YYYY-MM-DD date' });
      return;
    }
    feed.kev.push({
      cve: entry.cveID,
      dateAdded: entry.dateAdded,
      ...(typeof entry.dueDate === 'string' ? { dueDate: entry.dueDate } : {}),
      ...(typeof entry.knownRansomwareCampaignUse === 'string' ? { knownRansomwareCampaignUse: entry.knownRansomwareCampaignUse } : {}),
    });
  });
  return feed;
}

/** Parses FIRST's EPSS CSV (`#model_version:…,score_date:…` comment, `cve,epss,percentile` header). */
export function parseEpss(text: string, options: { feed: string; source?: string }): ParsedFeed {
  const source = options.source ?? options.feed;
  const feed = emptyFeed();
  let sawHeader = false;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    if (!sawHeader) {
      if (line.replace(/\s/g, '') !== 'cve,epss,percentile') {
        throw new VulnError('VULN_FEED_INVALID', `feed ${options.feed}: ${source}:${index + 1}: expected the header "cve,epss,percentile"`, { detail: { feed: options.feed, source, line: index + 1 } });
      }
      sawHeader = true;
      return;
    }
    const [cve, epss, percentile] = line.split(',');
    const probability = Number(epss);
    const rank = Number(percentile);
    if (!cve || !isCveId(cve) || epss === undefined || percentile === undefined || !(probability >= 0 && probability <= 1) || !(rank >= 0 && rank <= 1)) {
      feed.warnings.push({ feed: options.feed, record: cve || `line ${index + 1}`, field: `${source}:${index + 1}`, message: 'expected CVE id, epss and percentile between 0 and 1' });
      return;
    }
    feed.epss.push({ cve, epss: probability, percentile: rank });
  });
  if (!sawHeader) throw new VulnError('VULN_FEED_INVALID', `feed ${options.feed}: ${source} is not an EPSS CSV (no header)`, { detail: { feed: options.feed, source } });
  return feed;
}
