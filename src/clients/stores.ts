// The artifact store and object store the configuration asks for; called by the entry points (worker,
// API server, npm start) so both sides read logs and blobs from the same place.
import path from 'node:path';
import type { Config } from '../config';
import { createFsArtifactStore, type ArtifactStore } from '../experiments/artifacts';
import { createS3Store, type S3Store } from './s3';

export function s3StoreFrom(config: Config): S3Store {
  return createS3Store({
    endpoint: config.MLR_S3_ENDPOINT,
    publicEndpoint: config.MLR_S3_PUBLIC_ENDPOINT,
    region: config.MLR_S3_REGION,
    bucket: config.MLR_S3_BUCKET,
    accessKeyId: config.MLR_S3_ACCESS_KEY_ID,
    secretAccessKey: config.MLR_S3_SECRET_ACCESS_KEY,
    forcePathStyle: config.MLR_S3_FORCE_PATH_STYLE,
  });
}

/** `MLR_ARTIFACTS=s3`: the S3 store; otherwise files under MLR_DATA_DIR/artifacts. */
export function artifactStoreFrom(config: Config, s3?: S3Store): ArtifactStore {
  if (config.MLR_ARTIFACTS === 's3') return (s3 ?? s3StoreFrom(config)).artifacts;
  return createFsArtifactStore(path.join(config.MLR_DATA_DIR, 'artifacts'));
}
