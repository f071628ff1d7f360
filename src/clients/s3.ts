// The S3-compatible object store (@aws-sdk/client-s3: MinIO, versitygw, Ceph, GCS interoperability, AWS):
// artifacts (logs, blobs) and the transfers to and from experiment pods by presigned URL.
import fs from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ArtifactStore } from '../experiments/artifacts';
import { TooLargeError, type TransferStore } from '../experiments/executor/kubernetes';

export interface S3Settings {
  endpoint?: string;
  region: string;
  bucket: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Path-style addressing (MinIO, versitygw); virtual-hosted style for AWS. */
  forcePathStyle: boolean;
  /** Where pods reach the store, when it differs from where the worker does (an in-cluster Service name). */
  publicEndpoint?: string;
}

function client(s: S3Settings, endpoint = s.endpoint): S3Client {
  return new S3Client({
    region: s.region,
    endpoint,
    forcePathStyle: s.forcePathStyle,
    // Presigned PUT URLs must carry only X-Amz-* (an empty-body CRC breaks uploads to some servers).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(s.accessKeyId && s.secretAccessKey
      ? { credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey } }
      : {}),
  });
}

const missing = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
};

export interface S3Store {
  /** Logs and blobs, as `s3:<key>` URIs. */
  artifacts: ArtifactStore;
  /** Workspaces to pods and results back, by presigned URL. */
  transfer: TransferStore;
  /** Creates the bucket if it is not there (the embedded setup; production buckets are provisioned). */
  ensureBucket(): Promise<void>;
}

export function createS3Store(s: S3Settings): S3Store {
  const s3 = client(s);
  const signer = client(s, s.publicEndpoint ?? s.endpoint);
  const Bucket = s.bucket;
  const getKey = async (Key: string, maxBytes?: number): Promise<Buffer | undefined> => {
    try {
      const res = await s3.send(new GetObjectCommand({ Bucket, Key }));
      if (maxBytes !== undefined && (res.ContentLength ?? 0) > maxBytes) {
        (res.Body as { destroy?: () => void } | undefined)?.destroy?.();
        throw new TooLargeError(`${Key} is ${res.ContentLength} bytes, more than ${maxBytes}`);
      }
      return Buffer.from(await res.Body!.transformToByteArray());
    } catch (err) {
      if (missing(err)) return undefined;
      throw err;
    }
  };
  /** Streams an object into a file, counting the bytes that arrive rather than trusting its length. */
  const downloadKey = async (Key: string, file: string, maxBytes: number): Promise<boolean> => {
    let res;
    try {
      res = await s3.send(new GetObjectCommand({ Bucket, Key }));
    } catch (err) {
      if (missing(err)) return false;
      throw err;
    }
    const body = res.Body as Readable;
    if ((res.ContentLength ?? 0) > maxBytes) {
      body.destroy();
      throw new TooLargeError(`${Key} is ${res.ContentLength} bytes, more than ${maxBytes}`);
    }
    let seen = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        seen += chunk.length;
        if (seen > maxBytes) done(new TooLargeError(`${Key} sent more than ${maxBytes} bytes`));
        else done(null, chunk);
      },
    });
    try {
      await pipeline(body, counter, fs.createWriteStream(file, { flags: 'wx', mode: 0o600 }));
    } catch (err) {
      await fs.promises.rm(file, { force: true });
      throw err;
    }
    return true;
  };
  const putKey = (Key: string, Body: Buffer) => s3.send(new PutObjectCommand({ Bucket, Key, Body }));
  return {
    async ensureBucket() {
      try {
        await s3.send(new HeadBucketCommand({ Bucket }));
      } catch {
        await s3.send(new CreateBucketCommand({ Bucket }));
      }
    },
    artifacts: {
      uri: (key) => `s3:${key}`,
      async put(key, data) {
        const buf = typeof data === 'string' ? Buffer.from(data) : data;
        await putKey(key, buf);
        return { uri: `s3:${key}`, sha256: createHash('sha256').update(buf).digest('hex'), bytes: buf.length };
      },
      async get(uri) {
        if (!uri.startsWith('s3:')) throw new Error(`not an S3 artifact uri: ${uri}`);
        const found = await getKey(uri.slice(3));
        if (!found) throw new Error(`artifact ${uri} not found`);
        return found;
      },
    },
    transfer: {
      async put(key, body) {
        await putKey(key, body);
      },
      get: (key, maxBytes) => getKey(key, maxBytes),
      download: (key, file, maxBytes) => downloadKey(key, file, maxBytes),
      async presignGet(key, ttlSeconds) {
        return getSignedUrl(signer, new GetObjectCommand({ Bucket, Key: key }), { expiresIn: ttlSeconds });
      },
      async presignPut(key, ttlSeconds) {
        return getSignedUrl(signer, new PutObjectCommand({ Bucket, Key: key }), { expiresIn: ttlSeconds });
      },
      async remove(keys) {
        if (keys.length === 0) return;
        await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
      },
    },
  };
}
