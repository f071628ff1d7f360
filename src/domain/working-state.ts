// A run's working copy as stored: what db/ keeps and experiments/working-state.ts builds and restores.

/** Path (or backup name) → sha256 of its content, the key of its blob in the artifact store. */
export interface StateManifest {
  files: Record<string, string>;
  backups: Record<string, string>;
}
