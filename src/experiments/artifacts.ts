import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface StoredArtifact {
  uri: string;
  sha256: string;
  bytes: number;
}

/**
 * Where large things go (logs, file blobs); Postgres and workflow history keep only the returned
 * reference. The filesystem store lives under the data directory; an S3-compatible store can implement
 * the same two methods.
 */
export interface ArtifactStore {
  put(key: string, data: Buffer | string): Promise<StoredArtifact>;
  get(uri: string): Promise<Buffer>;
  /** The URI `put(key)` returns, for content-addressed keys whose URI is not stored anywhere. */
  uri(key: string): string;
}

export function createFsArtifactStore(root: string): ArtifactStore {
  const resolve = (key: string) => {
    const abs = path.resolve(root, key);
    if (!abs.startsWith(path.resolve(root) + path.sep)) throw new Error(`artifact key ${key} escapes the store`);
    return abs;
  };
  return {
    async put(key, data) {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      const abs = resolve(key);
      await fs.promises.mkdir(path.dirname(abs), { recursive: true });
      const tmp = `${abs}.${process.pid}.tmp`;
      await fs.promises.writeFile(tmp, buf);
      await fs.promises.rename(tmp, abs);
      return { uri: `file:${key}`, sha256: createHash('sha256').update(buf).digest('hex'), bytes: buf.length };
    },
    uri: (key) => `file:${key}`,
    async get(uri) {
      if (!uri.startsWith('file:')) throw new Error(`not a file-store uri: ${uri}`);
      return fs.promises.readFile(resolve(uri.slice('file:'.length)));
    },
  };
}
