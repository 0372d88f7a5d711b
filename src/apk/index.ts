export { ApkError, apkErrorCodes } from './errors.ts';
export type { ApkErrorCode } from './errors.ts';
export { parseRecords, formatRecord, formatRecords, emptyRecord, applyRecordField } from './format/record.ts';
export type { PackageRecord, ParseRecordsOptions } from './format/record.ts';
