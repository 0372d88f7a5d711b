// Pure: the NIST SP 800-53 rev 5 controls Kiln's hardening checks give evidence for, with the
// catalog's own titles, and the CIS Docker Benchmark image items each check corresponds to.
// Control ids are OSCAL's (lower case, enhancements `ac-6.9`); a test checks every id against the
// official rev 5 catalog (test/fixtures/compliance/).

/** The controls cited by any check, id → catalog title. */
export const CONTROL_TITLES = {
  'ac-6': 'Least Privilege',
  'au-8': 'Time Stamps',
  'cm-6': 'Configuration Settings',
  'cm-7': 'Least Functionality',
  'cm-8': 'System Component Inventory',
  'cm-14': 'Signed Components',
  'ia-5': 'Authenticator Management',
  'ra-5': 'Vulnerability Monitoring and Scanning',
  'sa-10': 'Developer Configuration Management',
  'sa-11': 'Developer Testing and Evaluation',
  'sc-12': 'Cryptographic Key Establishment and Management',
  'sc-13': 'Cryptographic Protection',
  'sc-17': 'Public Key Infrastructure Certificates',
  'si-2': 'Flaw Remediation',
  'si-7': 'Software, Firmware, and Information Integrity',
  'sr-3': 'Supply Chain Controls and Processes',
  'sr-4': 'Provenance',
  'sr-11': 'Component Authenticity',
} as const;

/** A control id Kiln cites. */
export type ControlId = keyof typeof CONTROL_TITLES;

/** The label NIST prints for a control id (`ac-6` → `AC-6`, `ac-6.9` → `AC-6(9)`). */
export function controlLabel(id: string): string {
  const [base, enhancement] = id.split('.');
  return `${base!.toUpperCase()}${enhancement ? `(${enhancement})` : ''}`;
}
