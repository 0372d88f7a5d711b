// The factory: daily rebuilds that publish only what changed, and the history of why.
export type { CveDiff, HistoryPackage, HistoryReason, HistoryUpgrade, ImageHistoryEntry, ImageHistoryReader, PackageDiff, SeverityCounts } from './format/history.ts';
export { diffCves, diffPackages } from './format/history.ts';
