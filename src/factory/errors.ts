import { KilnError } from '../lib/index.ts';
import type { ErrorCodeTable } from '../lib/index.ts';

/** Error codes of the factory (docs/errors/factory.md). */
export const factoryErrorCodes = {
  FACTORY_CONFIG_INVALID: 'the factory configuration is malformed or names something that does not exist (the file and field are named)',
  FACTORY_LOCKED: 'another factory run holds the state directory (its pid and start time are named; a lock left by a dead process is taken over)',
  FACTORY_LOCK_UNREADABLE: 'STATE/run.lock could not be read after several tries (an I/O error, or a lock left half-written); a step job that met it fails this attempt and is retried',
  FACTORY_LOCK_LOST: 'the run no longer holds STATE/run.lock (its host was suspended past the expiry and another run took it over, or it was removed): the run starts no further step and stops',
  FACTORY_UPDATE_FAILED: 'an update of one recipe could not be fetched or verified; the recipe is left unchanged and the run goes on',
  FACTORY_BUILD_FAILED: 'a package or image of the run did not build; what depends on it is skipped, the rest goes on',
  FACTORY_PUBLISH_FAILED: 'the registry refused an image, its tags or its signatures; that image\'s history is left unchanged',
  FACTORY_HISTORY_INVALID: 'the history database cannot be opened or holds an entry Kiln cannot read (the file is named)',
  FACTORY_SIGNING_UNAVAILABLE: 'the run has images to publish and cannot sign them (the keyless identity token is missing, no JWT or expired); it stops before building anything',
  FACTORY_NO_WORKER: 'a run with --queue saw none of its step jobs taken for the claim timeout while no step job of the queue ran; the waiting jobs are withdrawn from the queue and their steps failed',
  FACTORY_STEP_FAILED: 'a step run as a queue job used up its attempts (its workers died, or could not read the configuration or the run lock); the error of the last attempt is quoted',
  FACTORY_RUN_FAILED: 'a factory run finished with failures (each failed recipe, package or image is named in the report)',
} as const satisfies ErrorCodeTable<string>;

export type FactoryErrorCode = keyof typeof factoryErrorCodes;

/** A factory failure; `detail` names the recipe, package, image or file at fault. */
export class FactoryError extends KilnError<FactoryErrorCode> {}

// The queue, workers and serve keep their codes beside them; re-exported so docs/errors/factory-queue.md is checked too.
export { factoryQueueErrorCodes } from './queue/errors.ts';
