import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

// Test helper: validators for NIST's OSCAL 1.1.2 JSON schemas (test/fixtures/schemas/oscal/), set up
// as the fixture README says (ajv 8 draft-07, ajv-formats, strict off, Unicode regular expressions).

const schemas = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'schemas', 'oscal');
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => void;

/** One validator per OSCAL model Kiln writes. */
export function oscalValidators(): { componentDefinition: ValidateFunction; assessmentResults: ValidateFunction; poam: ValidateFunction } {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const load = (name: string) => ajv.compile(JSON.parse(readFileSync(join(schemas, name), 'utf8')) as object);
  return { componentDefinition: load('oscal_component_schema.json'), assessmentResults: load('oscal_assessment-results_schema.json'), poam: load('oscal_poam_schema.json') };
}

/** The first few errors of a failed validation, for assertion messages. */
export function schemaErrors(validate: ValidateFunction): string {
  return JSON.stringify((validate.errors ?? []).slice(0, 5));
}
