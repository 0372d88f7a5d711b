import { describe, expect, it } from 'vitest';
import { signDelivery, toCloudEvent, verifyDelivery } from './cloudevent.ts';

const digest = `sha256:${'a'.repeat(64)}` as const;

describe('toCloudEvent', () => {
  it('wraps a push as a structured CloudEvents 1.0 event with the registry data', () => {
    const event = toCloudEvent({ type: 'manifest.pushed', repository: 'team/app', digest, tags: ['v1'], mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 42, actor: 'alice', requestId: 'r1', time: Date.UTC(2026, 0, 2, 3, 4, 5) }, 'id-1', 'http://registry:5000');
    expect(event).toEqual({
      specversion: '1.0',
      id: 'id-1',
      source: 'http://registry:5000',
      type: 'dev.kiln.registry.manifest.pushed',
      subject: `team/app@${digest}`,
      time: '2026-01-02T03:04:05.000Z',
      datacontenttype: 'application/json',
      data: { repository: 'team/app', digest, tags: ['v1'], mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 42, actor: 'alice', requestId: 'r1' },
    });
    expect(toCloudEvent({ type: 'tag.deleted', repository: 'team/app', tag: 'old', time: 0 }, 'id-2', 's')).toMatchObject({ type: 'dev.kiln.registry.tag.deleted', subject: 'team/app:old' });
  });
});

describe('delivery signatures', () => {
  const secret = 'a-secret-of-enough-length';
  const body = '{"specversion":"1.0"}';

  it('verifies what it signed, within the tolerance, and nothing else', () => {
    const header = signDelivery(secret, 1_000_000, body);
    expect(header).toMatch(/^t=1000000,v1=[0-9a-f]{64}$/);
    expect(verifyDelivery(secret, header, body, 1_000_100)).toBe(true);
    expect(verifyDelivery(secret, header, `${body} `, 1_000_100)).toBe(false);
    expect(verifyDelivery('another-secret-of-length', header, body, 1_000_100)).toBe(false);
    // A replay outside the window, and a timestamp changed without re-signing, are refused.
    expect(verifyDelivery(secret, header, body, 1_000_301)).toBe(false);
    expect(verifyDelivery(secret, header.replace('t=1000000', 't=1000200'), body, 1_000_200)).toBe(false);
    expect(verifyDelivery(secret, 'garbage', body, 1_000_000)).toBe(false);
  });
});
