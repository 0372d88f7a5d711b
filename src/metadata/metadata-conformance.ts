// The shared test suite every MetadataStore driver must pass unchanged (SQLite and PostgreSQL).
// Imported only from driver tests: it uses vitest.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Digest } from '../lib/index.ts';
import { MetadataError } from './errors.ts';
import type { ManifestRecord, MetadataStore } from './port.ts';
import { MediaTypes } from '../oci/index.ts';

/** How the suite makes and disposes of a fresh, empty store for each case. */
interface MetadataHarness {
  create(): Promise<MetadataStore>;
  cleanup(store: MetadataStore): Promise<void>;
  /** Closes and reopens the same database (a restart); optional for in-memory drivers. */
  reopen?(store: MetadataStore): Promise<MetadataStore>;
}

const d = (seed: string): Digest => `sha256:${createHash('sha256').update(seed).digest('hex')}`;

function manifest(repository: string, seed: string, extra: Partial<ManifestRecord> = {}): ManifestRecord {
  return { repository, digest: d(seed), mediaType: MediaTypes.ociManifest, size: 100, blobs: [], children: [], createdAt: 1000, ...extra };
}

/** Registers the metadata conformance cases under `describe(name)`. */
export function runMetadataConformance(name: string, harness: MetadataHarness): void {
  const withStore = (body: (store: MetadataStore) => Promise<MetadataStore | void>) => async () => {
    let store = await harness.create();
    try {
      store = (await body(store)) ?? store;
    } finally {
      await harness.cleanup(store);
    }
  };

  describe(`MetadataStore conformance: ${name}`, () => {
    it('links, finds and unlinks blobs per repository', withStore(async (store) => {
      expect(await store.repositoryExists('a/b')).toBe(false);
      await store.linkBlob('a/b', d('x'), 5, 10);
      expect(await store.blobLink('a/b', d('x'))).toEqual({ repository: 'a/b', digest: d('x'), size: 5, linkedAt: 10 });
      expect(await store.blobLink('other', d('x'))).toBeUndefined();
      expect(await store.repositoryExists('a/b')).toBe(true);
      expect(await store.isBlobReferenced(d('x'))).toBe(true);
      await store.linkBlob('a/b', d('x'), 5, 20);
      expect((await store.blobLink('a/b', d('x')))?.linkedAt).toBe(20);
      expect(await store.unlinkBlob('a/b', d('x'))).toEqual({ unlinked: true });
      expect(await store.unlinkBlob('a/b', d('x'))).toEqual({ unlinked: false });
      expect(await store.isBlobReferenced(d('x'))).toBe(false);
    }));

    it('keeps a blob link while a manifest of the repository lists the blob, and names that manifest', withStore(async (store) => {
      await store.linkBlob('r', d('config'), 1, 1);
      await store.linkBlob('r', d('layer'), 1, 1);
      await store.linkBlob('other', d('config'), 1, 1);
      const image = manifest('r', 'image', { blobs: [d('config'), d('layer')] });
      await store.putManifest(image, ['v1'], 2);
      expect(await store.unlinkBlob('r', d('config'))).toEqual({ unlinked: false, referencedBy: image.digest });
      expect(await store.unlinkBlob('r', d('layer'))).toEqual({ unlinked: false, referencedBy: image.digest });
      expect(await store.blobLink('r', d('config'))).toEqual({ repository: 'r', digest: d('config'), size: 1, linkedAt: 1 });
      // Only manifests of the same repository hold a link.
      expect(await store.unlinkBlob('other', d('config'))).toEqual({ unlinked: true });
      expect(await store.deleteManifest('r', image.digest)).toBe(true);
      expect(await store.unlinkBlob('r', d('config'))).toEqual({ unlinked: true });
      expect(await store.unlinkBlob('r', d('layer'))).toEqual({ unlinked: true });
      expect(await store.listAllBlobLinks()).toEqual([]);
    }));

    it('never moves an immutable tag: creates it once, re-puts the same digest, refuses another and stores nothing', withStore(async (store) => {
      const first = manifest('r', 'first');
      const second = manifest('r', 'second');
      expect(await store.putManifest(first, ['v1', 'latest'], 1, { immutableTags: ['v1'] })).toEqual({ missingBlobs: [], missingManifests: [], immutableTagsMoved: [] });
      expect(await store.putManifest(first, ['v1'], 2, { immutableTags: ['v1'] })).toEqual({ missingBlobs: [], missingManifests: [], immutableTagsMoved: [] });
      expect(await store.putManifest(second, ['v1', 'latest'], 3, { immutableTags: ['v1'] })).toEqual({ missingBlobs: [], missingManifests: [], immutableTagsMoved: ['v1'] });
      // All or nothing: the mutable tag did not move either, and the manifest was not stored.
      expect(await store.resolveTag('r', 'v1')).toBe(first.digest);
      expect(await store.resolveTag('r', 'latest')).toBe(first.digest);
      expect(await store.getManifest('r', second.digest)).toBeUndefined();
      // Without the option the same tag moves (immutability is the caller's policy, not the store's).
      expect((await store.putManifest(second, ['v1'], 4)).immutableTagsMoved).toEqual([]);
      expect(await store.resolveTag('r', 'v1')).toBe(second.digest);
    }));

    it('deletes a tag only while it points at the same digest and was set before the cut-off', withStore(async (store) => {
      const first = manifest('r', 'first');
      const second = manifest('r', 'second');
      await store.putManifest(first, ['t'], 10);
      await store.putManifest(second, [], 10);
      expect(await store.deleteTagIfUnchanged('r', 't', second.digest, 100)).toBe(false);
      expect(await store.deleteTagIfUnchanged('r', 't', first.digest, 10)).toBe(false);
      expect(await store.resolveTag('r', 't')).toBe(first.digest);
      expect(await store.deleteTagIfUnchanged('r', 't', first.digest, 11)).toBe(true);
      expect(await store.resolveTag('r', 't')).toBeUndefined();
      expect(await store.deleteTagIfUnchanged('r', 't', first.digest, 11)).toBe(false);
    }));

    it('lists the repositories that link a blob, sorted and paged', withStore(async (store) => {
      for (const repository of ['b/two', 'a', 'b/one', 'c']) await store.linkBlob(repository, d('shared'), 3, 1);
      await store.linkBlob('z', d('other'), 3, 1);
      expect(await store.blobRepositories(d('shared'), { limit: 10 })).toEqual(['a', 'b/one', 'b/two', 'c']);
      expect(await store.blobRepositories(d('shared'), { limit: 2 })).toEqual(['a', 'b/one']);
      expect(await store.blobRepositories(d('shared'), { last: 'b/one', limit: 10 })).toEqual(['b/two', 'c']);
      await store.unlinkBlob('c', d('shared'));
      expect(await store.blobRepositories(d('shared'), { last: 'b/one', limit: 10 })).toEqual(['b/two']);
      expect(await store.blobRepositories(d('nothing'), { limit: 10 })).toEqual([]);
    }));

    it('stores a manifest only when its blobs and children are present', withStore(async (store) => {
      const image = manifest('r', 'image', { blobs: [d('config'), d('layer')] });
      expect(await store.putManifest(image, ['v1'], 1)).toEqual({ missingBlobs: [d('config'), d('layer')], missingManifests: [], immutableTagsMoved: [] });
      expect(await store.getManifest('r', image.digest)).toBeUndefined();
      expect(await store.resolveTag('r', 'v1')).toBeUndefined();
      await store.linkBlob('r', d('config'), 1, 1);
      await store.linkBlob('r', d('layer'), 1, 1);
      expect(await store.putManifest(image, ['v1', 'latest'], 2)).toEqual({ missingBlobs: [], missingManifests: [], immutableTagsMoved: [] });
      const stored = await store.getManifest('r', image.digest);
      expect(stored?.blobs.slice().sort()).toEqual([d('config'), d('layer')].sort());
      expect(await store.resolveTag('r', 'latest')).toBe(image.digest);
      const index = manifest('r', 'index', { mediaType: MediaTypes.ociIndex, children: [image.digest, d('absent')] });
      expect(await store.putManifest(index, [], 3)).toEqual({ missingBlobs: [], missingManifests: [d('absent')], immutableTagsMoved: [] });
      expect(await store.getManifest('r', index.digest)).toBeUndefined();
      expect(await store.putManifest({ ...index, children: [image.digest] }, ['multi'], 3)).toEqual({ missingBlobs: [], missingManifests: [], immutableTagsMoved: [] });
      expect((await store.getManifest('r', index.digest))?.children).toEqual([image.digest]);
      expect(await store.getManifest('elsewhere', image.digest)).toBeUndefined();
    }));

    it('moves, lists and deletes tags; deleting a manifest removes its tags', withStore(async (store) => {
      const one = manifest('r', 'one');
      const two = manifest('r', 'two');
      await store.putManifest(one, ['b', 'a', 'C', 'a-1'], 1);
      await store.putManifest(two, ['b'], 2);
      expect(await store.resolveTag('r', 'b')).toBe(two.digest);
      expect(await store.listTags('r', { limit: 100 })).toEqual(['C', 'a', 'a-1', 'b']);
      expect(await store.listTags('r', { limit: 2 })).toEqual(['C', 'a']);
      expect(await store.listTags('r', { last: 'a', limit: 2 })).toEqual(['a-1', 'b']);
      expect(await store.listTags('r', { last: 'aa', limit: 10 })).toEqual(['b']);
      expect(await store.deleteTag('r', 'b')).toBe(true);
      expect(await store.deleteTag('r', 'b')).toBe(false);
      expect(await store.getManifest('r', two.digest)).toEqual(two);
      expect(await store.deleteManifest('r', one.digest)).toBe(true);
      expect(await store.listTags('r', { limit: 100 })).toEqual([]);
      expect(await store.deleteManifest('r', one.digest)).toBe(false);
    }));

    it('indexes referrers by subject with artifact type and annotations', withStore(async (store) => {
      const subject = d('subject');
      const sig = manifest('r', 'sig', { subject, artifactType: 'application/x-sig', annotations: { a: '1' }, createdAt: 1 });
      const sbom = manifest('r', 'sbom', { subject, artifactType: 'application/x-sbom', createdAt: 2 });
      await store.putManifest(sig, [], 1);
      await store.putManifest(sbom, [], 2);
      await store.putManifest(manifest('other', 'sig', { subject }), [], 3);
      const referrers = await store.listReferrers('r', subject);
      expect(referrers.map((record) => [record.digest, record.artifactType, record.annotations])).toEqual([
        [sig.digest, 'application/x-sig', { a: '1' }],
        [sbom.digest, 'application/x-sbom', undefined],
      ]);
      await store.deleteManifest('r', sig.digest);
      expect((await store.listReferrers('r', subject)).map((record) => record.digest)).toEqual([sbom.digest]);
      expect(await store.listReferrers('r', d('nothing'))).toEqual([]);
    }));

    it('keeps upload sessions with compare-and-set offsets across a reopen', withStore(async (store) => {
      await store.createUpload({ id: 'u1', repository: 'r', offset: 0, createdAt: 5, updatedAt: 5 });
      const duplicate = await store.createUpload({ id: 'u1', repository: 'r', offset: 0, createdAt: 5, updatedAt: 5 }).catch((error: unknown) => error);
      expect(duplicate).toBeInstanceOf(MetadataError);
      expect((duplicate as MetadataError).code).toBe('METADATA_UPLOAD_EXISTS');
      expect(await store.advanceUpload('u1', 0, 100, 6)).toBe(true);
      expect(await store.advanceUpload('u1', 0, 50, 7)).toBe(false);
      if (harness.reopen) store = await harness.reopen(store);
      expect(await store.getUpload('u1')).toEqual({ id: 'u1', repository: 'r', offset: 100, createdAt: 5, updatedAt: 6 });
      expect((await store.listUploads()).map((upload) => upload.id)).toEqual(['u1']);
      expect(await store.repositoryExists('r')).toBe(true);
      expect(await store.deleteUpload('u1')).toBe(true);
      expect(await store.getUpload('u1')).toBeUndefined();
      expect(await store.advanceUpload('u1', 100, 200, 8)).toBe(false);
      return store;
    }));

    it('lists repositories sorted and paginated', withStore(async (store) => {
      for (const repo of ['b', 'a/x', 'c', 'a']) await store.linkBlob(repo, d(repo), 1, 1);
      expect(await store.listRepositories({ limit: 10 })).toEqual(['a', 'a/x', 'b', 'c']);
      expect(await store.listRepositories({ last: 'a/x', limit: 1 })).toEqual(['b']);
    }));

    it('deletes only unused manifests and blob links in garbage collection', withStore(async (store) => {
      await store.linkBlob('r', d('layer'), 1, 1);
      await store.linkBlob('r', d('loose'), 1, 1);
      await store.linkBlob('r', d('fresh'), 1, 500);
      const child = manifest('r', 'child', { blobs: [d('layer')], createdAt: 1 });
      const index = manifest('r', 'idx', { children: [child.digest], createdAt: 1 });
      const tagged = manifest('r', 'tagged', { createdAt: 1 });
      const referrer = manifest('r', 'ref', { subject: tagged.digest, createdAt: 1 });
      const orphanReferrer = manifest('r', 'orphan-ref', { subject: d('gone'), createdAt: 1 });
      for (const record of [child, index, tagged, referrer, orphanReferrer]) await store.putManifest(record, record === tagged ? ['t'] : [], 1);
      expect(await store.deleteManifestIfUnused('r', child.digest, 100)).toBe(false);
      expect(await store.deleteManifestIfUnused('r', tagged.digest, 100)).toBe(false);
      expect(await store.deleteManifestIfUnused('r', referrer.digest, 100)).toBe(false);
      expect(await store.deleteManifestIfUnused('r', index.digest, 1)).toBe(false);
      expect(await store.deleteManifestIfUnused('r', index.digest, 100)).toBe(true);
      expect(await store.deleteManifestIfUnused('r', orphanReferrer.digest, 100)).toBe(true);
      expect(await store.unlinkBlobIfUnused('r', d('layer'), 100)).toBe(false);
      expect(await store.unlinkBlobIfUnused('r', d('fresh'), 100)).toBe(false);
      expect(await store.unlinkBlobIfUnused('r', d('loose'), 100)).toBe(true);
      expect(await store.deleteManifestIfUnused('r', child.digest, 100)).toBe(true);
      expect(await store.unlinkBlobIfUnused('r', d('layer'), 100)).toBe(true);
      expect((await store.listAllManifests()).map((record) => record.digest).sort()).toEqual([tagged.digest, referrer.digest].sort());
      expect((await store.listAllTags()).map((tag) => tag.tag)).toEqual(['t']);
      expect((await store.listAllBlobLinks()).map((link) => link.digest)).toEqual([d('fresh')]);
    }));
  });
}
