import { describe, expect, it } from 'vitest';
import { SignError } from './errors.ts';
import { trustMaterialFromTrustedRoot } from './trust-root.ts';

function failure(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('trustMaterialFromTrustedRoot', () => {
  it('refuses a trusted root with neither certificate authorities nor transparency logs', () => {
    const error = failure(() => trustMaterialFromTrustedRoot({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] }, 'root.json'));
    expect(error).toBeInstanceOf(SignError);
    expect(error).toMatchObject({ code: 'TRUST_ROOT_INVALID', message: 'root.json: no certificate authorities and no transparency logs', detail: { source: 'root.json' } });
    expect((error as SignError).cause).toBeUndefined();
  });

  it('wraps a document the Sigstore library cannot read, keeping its error as the cause', () => {
    const error = failure(() => trustMaterialFromTrustedRoot({ tlogs: [{ publicKey: { rawBytes: 'AAAA', keyDetails: 'NOPE' } }] }, 'broken.json'));
    expect(error).toBeInstanceOf(SignError);
    expect(error).toMatchObject({ code: 'TRUST_ROOT_INVALID', message: 'broken.json: Unrecognized enum value NOPE for enum PublicKeyDetails', detail: { source: 'broken.json' } });
    expect((error as SignError).cause).toBeInstanceOf(Error);
  });
});
