// A prepared solver universe as one binary file (like libsolv's .solv files or apt's pkgcache.bin):
// the names, packages, dependencies and discovery graph of an opened repository universe as typed
// arrays, plus every package record as JSON read only when asked for. Loading it skips parsing the
// index text and building the universe, which is most of a one-shot resolve. Pure: bytes in and out.
//
// Layout: magic (8 bytes) | header length (u32 LE) | body length (u32 LE) | header JSON | sections,
// each 8-aligned | SHA-256 of the body (everything before it, 32 bytes) | records.
// The header lists every section's kind, offset and element count, the string-table sizes and
// whatever the caller keys the image with (`meta`). The records (three fifths of the file) come
// last, outside the body: a reader reads the body, then only the records a solve asks for, each
// checked against its own SHA-256 (a body section) and against its package.
import { createHash } from 'node:crypto';
import type { PackageRecord } from '../format/record.ts';
import { ApkError } from '../errors.ts';
import { Database } from './database.ts';
import type { DiscoveryGraph, RepoTag, Repository, StringTable, UniverseParts } from './database.ts';

const MAGIC = Buffer.from('KILNUNV\u0001', 'latin1');
const DIGEST_BYTES = 32;
/** Bytes before the header: magic, header length, body length. */
export const UNIVERSE_IMAGE_PREFIX_BYTES = MAGIC.length + 8;
/** Bumped whenever the layout or the meaning of a field changes: older images are then rebuilt. */
export const UNIVERSE_IMAGE_FORMAT = 5;

/** The file this code was loaded from (with the compiled or bundled CLI, the file that holds the
 *  solver too): images record which build made them, as what they store is computed by that code. */
export const UNIVERSE_CODE_URL = import.meta.url;

type ArrayKind = 'i32' | 'f64' | 'u8';
type TypedArray = Int32Array | Float64Array | Uint8Array;

const PART_ARRAYS = {
  nameBucket: 'i32', nameFlags: 'u8', providerStart: 'i32', providerPackage: 'i32', providerVersion: 'i32',
  dependentStart: 'i32', dependentPackage: 'i32', iifDependentStart: 'i32', iifDependentPackage: 'i32', rdependStart: 'i32', rdependName: 'i32', reverseIifNames: 'i32',
  packageName: 'i32', packageVersion: 'i32', packageIdentity: 'i32', packageArch: 'i32', packageInstalledSize: 'f64', packageSize: 'f64',
  packagePriority: 'i32', packageRepos: 'i32', packageFlags: 'u8', dependStart: 'i32', dependRef: 'i32', provideStart: 'i32', provideRef: 'i32',
  installIfStart: 'i32', installIfRef: 'i32', depName: 'i32', depOp: 'i32', depVersion: 'i32', depTag: 'i32', depBroken: 'u8',
} as const satisfies Record<string, ArrayKind>;

const GRAPH_ARRAYS = {
  providerStart: 'i32', providerPackage: 'i32', nameHasOwnProvider: 'u8', rinstallIfStart: 'i32', rinstallIfName: 'i32', packageName: 'i32',
  dependStart: 'i32', dependName: 'i32', provideStart: 'i32', provideName: 'i32', installIfStart: 'i32', installIfName: 'i32',
  packageNoInstallIf: 'u8', packageAvailable: 'u8',
} as const satisfies Record<string, ArrayKind>;

type PartArrayName = keyof typeof PART_ARRAYS;
type GraphArrayName = keyof typeof GRAPH_ARRAYS;

interface Header {
  format: number;
  meta: unknown;
  arches: string[];
  /** How many entries the newline-separated `strings` and `names` sections hold. */
  stringCount: number;
  /** Bytes of records after the body's digest (the file's end). */
  recordBytes: number;
  nameCount: number;
  repoTags: RepoTag[];
  repos: Repository[];
  availableRepos: number;
  compat: number;
  linkVersion: number;
  graphNameCount: number;
  /** [section name, kind, byte offset from the file start, element count]. */
  sections: Array<[string, ArrayKind, number, number]>;
}

const BYTES: Record<ArrayKind, number> = { i32: 4, f64: 8, u8: 1 };

function invalid(where: string, message: string): ApkError {
  return new ApkError('APK_UNIVERSE_IMAGE_INVALID', `${where}: ${message}`, { detail: { file: where } });
}

/** Encodes a database opened from repositories (plus its records, by package id) as an image. */
export function encodeUniverseImage(db: Database, meta: unknown): Buffer {
  const parts = db.toParts();
  // What a reader trusts the digest for is checked here, value by value.
  checkUniverseParts(parts, 'universe image being written', true);
  const arrays: Array<[string, ArrayKind, TypedArray]> = [];
  for (const [name, kind] of Object.entries(PART_ARRAYS)) arrays.push([name, kind, parts[name as PartArrayName]]);
  for (const [name, kind] of Object.entries(GRAPH_ARRAYS)) arrays.push([`graph.${name}`, kind, parts.graph[name as GraphArrayName]]);
  for (const [name, list] of [['strings', stringList(parts.strings)], ['names', stringList(parts.names)]] as const) {
    const packed = packStrings(list, name);
    arrays.push([name, 'u8', packed.bytes], [`${name}.starts`, 'i32', packed.starts]);
  }
  // Records as JSON texts, one per package, each with its SHA-256 in the body.
  const records = db.packageList.map((pkg) => Buffer.from(JSON.stringify(pkg.record), 'utf8'));
  const recordStarts = new Int32Array(records.length + 1);
  const recordDigests = new Uint8Array(records.length * DIGEST_BYTES);
  records.forEach((record, id) => {
    recordStarts[id + 1] = recordStarts[id]! + record.length;
    recordDigests.set(createHash('sha256').update(record).digest(), id * DIGEST_BYTES);
  });
  arrays.push(['records.starts', 'i32', recordStarts], ['records.digests', 'u8', recordDigests]);
  const header: Header = {
    format: UNIVERSE_IMAGE_FORMAT, meta, arches: parts.arches, stringCount: parts.strings.length, nameCount: parts.names.length, recordBytes: recordStarts[records.length]!,
    repoTags: parts.repoTags, repos: parts.repos, availableRepos: parts.availableRepos, compat: parts.compat, linkVersion: parts.linkVersion, graphNameCount: parts.graph.nameCount, sections: [],
  };
  // Offsets depend on the header's length, which depends on the offsets: lay out with a header
  // length padded to a multiple of 4096, then grow that until the header fits.
  let room = 4096;
  for (;;) {
    let at = align(UNIVERSE_IMAGE_PREFIX_BYTES + room);
    // A section equal to one laid out before it (the discovery graph repeats some tables) shares its bytes.
    const laid: Array<{ kind: ArrayKind; bytes: Buffer; offset: number }> = [];
    header.sections = arrays.map(([name, kind, array]) => {
      const bytes = Buffer.from(array.buffer, array.byteOffset, array.byteLength);
      const same = laid.find((earlier) => earlier.kind === kind && earlier.bytes.equals(bytes));
      if (same) return [name, kind, same.offset, array.length];
      laid.push({ kind, bytes, offset: at });
      const entry: [string, ArrayKind, number, number] = [name, kind, at, array.length];
      at = align(at + array.byteLength);
      return entry;
    });
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    if (json.length > room) {
      room = Math.ceil(json.length / 4096) * 4096;
      continue;
    }
    const out = Buffer.alloc(at + DIGEST_BYTES + header.recordBytes);
    MAGIC.copy(out, 0);
    out.writeUInt32LE(json.length, MAGIC.length);
    out.writeUInt32LE(at, MAGIC.length + 4);
    json.copy(out, UNIVERSE_IMAGE_PREFIX_BYTES);
    header.sections.forEach(([, , offset], i) => {
      const array = arrays[i]![2];
      Buffer.from(array.buffer, array.byteOffset, array.byteLength).copy(out, offset);
    });
    createHash('sha256').update(out.subarray(0, at)).digest().copy(out, at);
    records.forEach((record, id) => record.copy(out, at + DIGEST_BYTES + recordStarts[id]!));
    return out;
  }
}

/**
 * How many bytes of an image to read before decoding it (its body and the body's digest), from its
 * first UNIVERSE_IMAGE_PREFIX_BYTES bytes. The records after them are read on demand.
 */
export function universeImageLeadBytes(prefix: Uint8Array, where: string): number {
  if (prefix.length < UNIVERSE_IMAGE_PREFIX_BYTES || !Buffer.from(prefix.buffer, prefix.byteOffset, MAGIC.length).equals(MAGIC)) throw invalid(where, 'not a universe image');
  const bodyLength = Buffer.from(prefix.buffer, prefix.byteOffset, prefix.length).readUInt32LE(MAGIC.length + 4);
  if (bodyLength < UNIVERSE_IMAGE_PREFIX_BYTES) throw invalid(where, 'body length is out of range');
  return bodyLength + DIGEST_BYTES;
}

/** Reads `length` bytes of an image's records from `offset` (counted from the first record), for
 *  an image decoded from its lead bytes only; fewer bytes back means the file ends early. */
export type UniverseRecordReader = (offset: number, length: number) => Uint8Array;

function stringList(table: StringTable): string[] {
  return Array.from({ length: table.length }, (_, index) => table.at(index)!);
}

/**
 * A string table as UTF-8 with a newline before every entry and one at the end (index values never
 * contain a newline), plus the offset of each entry's leading newline. Entries are decoded when
 * first read, and a lookup by text is one native search of the bytes: a solve reads a few hundred
 * of an index's tens of thousands of strings.
 */
function packStrings(list: readonly string[], what: string): { bytes: Buffer; starts: Int32Array } {
  for (const item of list) if (item.includes('\n')) throw new RangeError(`${what}: ${JSON.stringify(item)} contains a newline`);
  const bytes = Buffer.from(`\n${list.map((item) => `${item}\n`).join('')}`, 'utf8');
  const starts = new Int32Array(list.length + 1);
  for (let i = 0, at = 0; i < list.length; i++) {
    starts[i] = at;
    at += 1 + Buffer.byteLength(list[i]!, 'utf8');
  }
  starts[list.length] = bytes.length - 1;
  return { bytes, starts };
}

/** A packed string table read in place (see packStrings). */
class PackedStrings implements StringTable {
  private readonly decoded: Array<string | undefined>;
  constructor(
    private readonly bytes: Buffer,
    private readonly starts: Int32Array,
  ) {
    this.decoded = new Array<string | undefined>(starts.length - 1);
  }
  get length(): number {
    return this.starts.length - 1;
  }
  at(index: number): string | undefined {
    if (!(index >= 0 && index < this.length)) return undefined;
    return (this.decoded[index] ??= this.bytes.toString('utf8', this.starts[index]! + 1, this.starts[index + 1]!));
  }
  indexOf(text: string): number {
    if (text.includes('\n')) return -1;
    const at = this.bytes.indexOf(`\n${text}\n`, 0, 'utf8');
    if (at < 0) return -1;
    // The entry whose leading newline is at `at`: a binary search of the offsets.
    let low = 0;
    let high = this.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const start = this.starts[middle]!;
      if (start === at) return middle;
      if (start < at) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }
}

function align(offset: number): number {
  return Math.ceil(offset / 8) * 8;
}

/** What a decoded image gives: the caller's key material and the opened database. */
export interface DecodedUniverseImage {
  meta: unknown;
  db: Database;
}

/**
 * Decodes an image: checks its body's digest, its format and the shape of every table (a damaged
 * or foreign file is an APK_UNIVERSE_IMAGE_INVALID error, never a wrong universe; the values in
 * the tables were checked as the image was written), then opens the database.
 * `bytes` is the whole file, or its lead bytes (universeImageLeadBytes) with `readRecords` to read
 * the rest. Records are read, checked and parsed when first asked for.
 */
export function decodeUniverseImage(bytes: Uint8Array, where: string, readRecords?: UniverseRecordReader): DecodedUniverseImage {
  try {
    return decodeImage(bytes, where, readRecords);
  } catch (error) {
    if (error instanceof ApkError) throw error;
    // A shape the checks did not foresee is still a bad image, not a crash.
    throw new ApkError('APK_UNIVERSE_IMAGE_INVALID', `${where}: not a readable universe image (${(error as Error).message})`, { cause: error, detail: { file: where } });
  }
}

function decodeImage(bytes: Uint8Array, where: string, readRecords: UniverseRecordReader | undefined): DecodedUniverseImage {
  const bodyEnd = universeImageLeadBytes(bytes, where) - DIGEST_BYTES;
  if (bytes.length < bodyEnd + DIGEST_BYTES) throw invalid(where, 'the file ends before its digest');
  // Typed-array views need aligned offsets: work on a copy when the bytes do not start on 8.
  const data = bytes.byteOffset % 8 === 0 ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length) : Buffer.from(bytes);
  const headerLength = data.readUInt32LE(MAGIC.length);
  if (UNIVERSE_IMAGE_PREFIX_BYTES + headerLength > bodyEnd) throw invalid(where, 'header runs past the end');
  if (!createHash('sha256').update(data.subarray(0, bodyEnd)).digest().equals(data.subarray(bodyEnd, bodyEnd + DIGEST_BYTES))) throw invalid(where, 'digest does not match its content');
  let header: Header;
  try {
    header = JSON.parse(data.toString('utf8', UNIVERSE_IMAGE_PREFIX_BYTES, UNIVERSE_IMAGE_PREFIX_BYTES + headerLength)) as Header;
  } catch (cause) {
    throw invalid(where, `header is not JSON (${(cause as Error).message})`);
  }
  if (header?.format !== UNIVERSE_IMAGE_FORMAT || !Array.isArray(header.sections)) throw invalid(where, `format ${String(header?.format)}, expected ${UNIVERSE_IMAGE_FORMAT}`);
  const sections = new Map<string, TypedArray>();
  for (const entry of header.sections) {
    if (!Array.isArray(entry) || entry.length !== 4 || typeof entry[0] !== 'string' || !Object.hasOwn(BYTES, entry[1])) throw invalid(where, 'a section entry is malformed');
    const [name, kind, offset, count] = entry;
    const size = BYTES[kind];
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(count) || offset < 0 || count < 0 || offset % size !== 0 || offset + count * size > bodyEnd) {
      throw invalid(where, `section ${name} lies outside the file`);
    }
    const at = data.byteOffset + offset;
    sections.set(name, kind === 'i32' ? new Int32Array(data.buffer, at, count) : kind === 'f64' ? new Float64Array(data.buffer, at, count) : new Uint8Array(data.buffer, at, count));
  }
  const section = <T extends TypedArray>(name: string, kind: ArrayKind): T => {
    const array = sections.get(name);
    const expected = kind === 'i32' ? Int32Array : kind === 'f64' ? Float64Array : Uint8Array;
    if (!(array instanceof expected)) throw invalid(where, `section ${name} is missing`);
    return array as T;
  };
  const parts = {} as UniverseParts;
  for (const [name, kind] of Object.entries(PART_ARRAYS)) (parts as unknown as Record<string, TypedArray>)[name] = section(name, kind);
  const graph = { version: header.linkVersion, availableRepos: header.availableRepos, nameCount: header.graphNameCount } as DiscoveryGraph;
  for (const [name, kind] of Object.entries(GRAPH_ARRAYS)) (graph as unknown as Record<string, TypedArray>)[name] = section(`graph.${name}`, kind);
  const table = (name: string, count: number): PackedStrings => {
    const bytes = section<Uint8Array>(name, 'u8');
    const starts = section<Int32Array>(`${name}.starts`, 'i32');
    checkOffsets(starts, count, Math.max(0, bytes.length - 1), `${name}.starts`, where, false);
    if (bytes[bytes.length - 1] !== NEWLINE) throw invalid(where, `${name}: the table does not end with a newline`);
    return new PackedStrings(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), starts);
  };
  Object.assign(parts, {
    arches: header.arches, repoTags: header.repoTags, repos: header.repos,
    strings: table('strings', header.stringCount),
    names: table('names', header.nameCount),
    availableRepos: header.availableRepos, compat: header.compat, linkVersion: header.linkVersion, graph,
  });
  checkUniverseParts(parts, where, false);
  const record = recordSource(data, bodyEnd + DIGEST_BYTES, header, section, parts.packageName.length, where, readRecords);
  const db = Database.fromParts(parts, (id) => {
    const pkg = db.packageAt(id);
    const found = record(id);
    if (found === null || typeof found !== 'object' || found.identity !== pkg.identity || found.name !== pkg.name.name || found.version !== pkg.version) {
      throw invalid(where, `record of package ${id} does not describe ${pkg.name.name}-${pkg.version}`);
    }
    return found;
  });
  return { meta: header.meta, db };
}

/** Package `id`'s record, read from the bytes after the body (or through `readRecords`) and checked
 *  against its digest before it is parsed. */
function recordSource(
  data: Buffer, recordsAt: number, header: Header, section: <T extends TypedArray>(name: string, kind: ArrayKind) => T, packages: number, where: string,
  readRecords: UniverseRecordReader | undefined,
): (id: number) => PackageRecord {
  const total = header.recordBytes;
  if (!Number.isSafeInteger(total) || total < 0) throw invalid(where, 'record length is out of range');
  const starts = section<Int32Array>('records.starts', 'i32');
  checkOffsets(starts, packages, total, 'records.starts', where, false);
  const digests = section<Uint8Array>('records.digests', 'u8');
  checkLength(digests, packages * DIGEST_BYTES, 'records.digests', where);
  let read: UniverseRecordReader;
  if (data.length > recordsAt || !readRecords) {
    // The whole file is here: it must end with the last record.
    if (data.length !== recordsAt + total) throw invalid(where, `${data.length - recordsAt} bytes of records, expected ${total}`);
    read = (offset, length) => data.subarray(recordsAt + offset, recordsAt + offset + length);
  } else read = readRecords;
  return (id) => {
    const length = starts[id + 1]! - starts[id]!;
    if (!(length > 0)) throw invalid(where, `record of package ${id} has no bytes`);
    const text = read(starts[id]!, length);
    if (text.length !== length) throw invalid(where, `the file ends inside the record of package ${id}`);
    if (!createHash('sha256').update(text).digest().equals(digests.subarray(id * DIGEST_BYTES, (id + 1) * DIGEST_BYTES))) {
      throw invalid(where, `record of package ${id} does not match its digest`);
    }
    try {
      return JSON.parse(Buffer.from(text.buffer, text.byteOffset, text.length).toString('utf8')) as PackageRecord;
    } catch (cause) {
      throw invalid(where, `record of package ${id} is not JSON (${(cause as Error).message})`);
    }
  };
}

/** Offsets `start` for `count` entries: starts at 0, ends at `total` and, when scanned, never decreases. */
function checkOffsets(start: ArrayLike<number>, count: number, total: number, what: string, where: string, scan: boolean): void {
  if (start.length !== count + 1 || start[0] !== 0 || start[count] !== total) throw invalid(where, `${what}: offsets do not cover their list`);
  if (scan) for (let i = 0; i < count; i++) if (!(start[i]! <= start[i + 1]!)) throw invalid(where, `${what}: offsets decrease at ${i}`);
}

const NEWLINE = 0x0a;

/** Every value of `values` is an index below `limit` (or, with `negativeLimit`, a reference -1 - n with n below it). */
function checkIndexes(values: Int32Array, limit: number, what: string, where: string, negativeLimit = 0): void {
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (value >= limit || (value < 0 && -1 - value >= negativeLimit)) throw invalid(where, `${what}: entry ${i} refers to ${value}, out of range`);
  }
}

function checkLength(array: { length: number }, length: number, what: string, where: string): void {
  if (array.length !== length) throw invalid(where, `${what}: ${array.length} entries, expected ${length}`);
}

/**
 * The parts are consistent: what Database.fromParts relies on. Every count and table end always;
 * with `scan`, also every offset and reference in the tables (a pass over all of them). Images are
 * scanned as they are written; read back, the body's digest vouches that those values are the ones
 * scanned (the key holds the build that wrote them), so reading checks the shape alone.
 */
function checkUniverseParts(parts: UniverseParts, where: string, scan: boolean): void {
  const offsets = (start: Int32Array, count: number, total: number, what: string): void => checkOffsets(start, count, total, what, where, scan);
  const indexes = (values: Int32Array, limit: number, what: string, negativeLimit = 0): void => {
    if (scan) checkIndexes(values, limit, what, where, negativeLimit);
  };
  if (!Array.isArray(parts.arches) || !parts.arches.every((arch) => typeof arch === 'string')) throw invalid(where, 'architectures are not a list of strings');
  if (!Array.isArray(parts.repoTags) || parts.repoTags.length === 0 || !Array.isArray(parts.repos) || parts.repos.length > 32) throw invalid(where, 'repository tables are malformed');
  for (const tag of parts.repoTags) if (typeof tag?.tag !== 'string' || typeof tag.plain !== 'string' || !Number.isInteger(tag.allowedRepos)) throw invalid(where, 'repository tag is malformed');
  for (const repo of parts.repos) if (typeof repo?.key !== 'string' || !Number.isInteger(repo.tagMask)) throw invalid(where, 'repository is malformed');
  for (const value of [parts.availableRepos, parts.compat, parts.linkVersion]) if (!Number.isInteger(value)) throw invalid(where, 'database flags are malformed');
  const strings = parts.strings.length;
  const names = parts.names.length;
  const packages = parts.packageName.length;
  const deps = parts.depName.length;
  for (const [array, what] of [[parts.nameBucket, 'nameBucket'], [parts.nameFlags, 'nameFlags']] as const) checkLength(array, names, what, where);
  for (const [start, list, what] of [
    [parts.providerStart, parts.providerPackage, 'providers'], [parts.dependentStart, parts.dependentPackage, 'dependents'],
    [parts.iifDependentStart, parts.iifDependentPackage, 'install_if dependents'],
  ] as const) {
    offsets(start, names, list.length, what);
    indexes(list, packages, what);
  }
  offsets(parts.rdependStart, names, parts.rdependName.length, 'reverse dependencies');
  indexes(parts.rdependName, names, 'reverse dependencies');
  checkLength(parts.providerVersion, parts.providerPackage.length, 'provider versions', where);
  indexes(parts.providerVersion, strings, 'provider versions');
  indexes(parts.reverseIifNames, names, 'reverse install_if names');
  for (const [array, what] of [
    [parts.packageVersion, 'packageVersion'], [parts.packageIdentity, 'packageIdentity'], [parts.packageArch, 'packageArch'],
    [parts.packageInstalledSize, 'packageInstalledSize'], [parts.packageSize, 'packageSize'], [parts.packagePriority, 'packagePriority'],
    [parts.packageRepos, 'packageRepos'], [parts.packageFlags, 'packageFlags'],
  ] as const) checkLength(array, packages, what, where);
  indexes(parts.packageName, names, 'packageName');
  for (const [array, what] of [[parts.packageVersion, 'packageVersion'], [parts.packageIdentity, 'packageIdentity'], [parts.packageArch, 'packageArch']] as const) {
    indexes(array, strings, what);
  }
  for (const [start, refs, what] of [
    [parts.dependStart, parts.dependRef, 'depends'], [parts.provideStart, parts.provideRef, 'provides'], [parts.installIfStart, parts.installIfRef, 'install_if'],
  ] as const) {
    offsets(start, packages, refs.length, what);
    indexes(refs, deps, what, names);
  }
  for (const [array, what] of [[parts.depOp, 'depOp'], [parts.depVersion, 'depVersion'], [parts.depTag, 'depTag'], [parts.depBroken, 'depBroken']] as const) {
    checkLength(array, deps, what, where);
  }
  indexes(parts.depName, names, 'depName');
  indexes(parts.depVersion, strings, 'depVersion');
  indexes(parts.depTag, parts.repoTags.length, 'depTag');
  const graph = parts.graph;
  const graphNames = graph.nameCount;
  if (!Number.isInteger(graphNames) || graphNames < 0 || graphNames > names) throw invalid(where, 'graph name count is out of range');
  offsets(graph.providerStart, graphNames, graph.providerPackage.length, 'graph providers');
  indexes(graph.providerPackage, packages, 'graph providers');
  checkLength(graph.nameHasOwnProvider, graphNames, 'graph own providers', where);
  offsets(graph.rinstallIfStart, graphNames, graph.rinstallIfName.length, 'graph install_if links');
  indexes(graph.rinstallIfName, names, 'graph install_if links');
  checkLength(graph.packageName, packages, 'graph package names', where);
  indexes(graph.packageName, names, 'graph package names');
  for (const [start, list, what] of [
    [graph.dependStart, graph.dependName, 'graph depends'], [graph.provideStart, graph.provideName, 'graph provides'], [graph.installIfStart, graph.installIfName, 'graph install_if'],
  ] as const) {
    offsets(start, packages, list.length, what);
    indexes(list, names, what);
  }
  checkLength(graph.packageNoInstallIf, packages, 'graph install_if flags', where);
  checkLength(graph.packageAvailable, packages, 'graph availability', where);
}
