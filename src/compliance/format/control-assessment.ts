import type { CheckResult } from './check-model.ts';
import type { ControlId } from './controls.ts';

// Pure: what the checks citing a control establish about it — the one rule the OSCAL findings, the
// baseline coverage, the responsibility matrix and policies share. A control is satisfied only when
// every check citing it ran and passed (not-applicable ones aside) and a pass can establish it; a
// check that did not run, or a pass that only supports the control (FIPS-configured for SC-13),
// leaves it partial, never satisfied.

/** `satisfied`: every citing check ran and passed, and one establishes it; `failed`: a citing check
 *  failed or was only allowed for a dev variant; `partial`: none failed, but a citing check did not
 *  run or the passes cannot establish it; `not-run`: no citing check ran. */
export type ControlState = 'satisfied' | 'failed' | 'partial' | 'not-run';

/** What a set of check results (one image's, or several images' together) says about a control. */
export interface ControlAssessment {
  state: ControlState;
  /** The results citing the control. */
  checks: CheckResult[];
  /** The results that failed or were only allowed. */
  failing: CheckResult[];
  /** Why the control is not established although nothing failed: each check not run, and what a
   *  passing check cannot establish. */
  gaps: string[];
}

const RAN = new Set(['pass', 'fail', 'allowed']);

/** Assesses one control from the results given. */
export function assessControl(control: ControlId | string, results: readonly CheckResult[]): ControlAssessment {
  const checks = results.filter((check) => (check.controls as readonly string[]).includes(control));
  const ran = checks.filter((check) => RAN.has(check.status));
  const failing = ran.filter((check) => check.status !== 'pass');
  const gaps = [
    ...checks.filter((check) => check.status === 'not-run').map((check) => `${check.id} did not run: ${check.summary}`),
    ...[...new Set(ran.filter((check) => check.status === 'pass').map((check) => check.cannotEstablish?.[control as ControlId]).filter((why): why is string => why !== undefined))],
  ];
  const state: ControlState = failing.length ? 'failed' : !ran.length ? 'not-run' : gaps.length ? 'partial' : 'satisfied';
  return { state, checks, failing, gaps };
}
