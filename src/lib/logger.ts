/** Logging port: services log static lower-case phrases with fields; only edges create pino. */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** A logger that drops everything, for tests and library callers that do not log. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** Progress of long work, reported by services to whichever edge shows it. */
export interface Progress {
  phase: string;
  done: number;
  total?: number;
  item?: string;
}

