// Public API of apk packages, indexes, keys and the installed database (re-exported by index.ts).
export { parseRecords, formatRecord, formatRecords, emptyRecord, applyRecordField } from './format/record.ts';
export type { PackageRecord, ParseRecordsOptions } from './format/record.ts';
