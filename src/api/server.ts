import { Pool } from 'pg';
import { artifactStoreFrom } from '../clients/stores';
import { connectClient, createRunGateway } from '../clients/temporal';
import { ConfigError, loadConfig, type Config } from '../config';
import { prepareSchema } from '../db/migrate';
import { createLogger, type Logger } from '../logger';
import { buildApp, defaultRunTimeouts, type AppDeps } from './app';
import { createJobCluster, loadKubeConfig } from '../clients/kubernetes';
import { liveLog } from '../experiments/executor/kubernetes';
import { startSweeper } from './sweeper';

export interface ApiHandle {
  url: string;
  close(): Promise<void>;
}

/** With MLR_EXECUTOR=kubernetes, running executions' logs come from their pods. */
export function liveLogFrom(config: Config): AppDeps['liveLog'] {
  if (!config.executors.includes('kubernetes')) return undefined;
  const cluster = createJobCluster(loadKubeConfig(config.MLR_K8S_KUBECONFIG), config.MLR_K8S_NAMESPACE);
  return (key) => liveLog(cluster, key);
}

/** Builds the API's real clients and listens; used by `npm run api` and by `npm start`. */
export async function startApi(
  config: Config,
  env: NodeJS.ProcessEnv,
  logger: Logger,
  opts: { databaseUrl: string; temporalAddress?: string },
): Promise<ApiHandle> {
  const pool = new Pool({ connectionString: opts.databaseUrl, max: 20 });
  // An idle client's error (e.g. a Postgres restart) must not crash the API; the pool replaces it.
  pool.on('error', (err) => logger.warn({ err }, 'idle Postgres connection failed'));
  await prepareSchema(pool, config.MLR_MIGRATE);
  const client = await connectClient(config, env, opts.temporalAddress);
  const app = await buildApp({
    config,
    db: pool,
    gateway: createRunGateway(client, config.MLR_TASK_QUEUE),
    runTimeouts: defaultRunTimeouts(config),
    logger: logger.child({ component: 'api' }),
    store: artifactStoreFrom(config),
    liveLog: liveLogFrom(config),
  });
  await app.listen({ port: config.PORT, host: config.HOST });
  const gateway = createRunGateway(client, config.MLR_TASK_QUEUE);
  const stopSweeper = startSweeper(pool, gateway, config.MLR_SWEEP_INTERVAL_MS, logger.child({ component: 'sweeper' }));
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  return {
    url: `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`,
    async close() {
      stopSweeper();
      await app.close();
      await client.connection.close();
      await pool.end();
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.DATABASE_URL)
    throw new ConfigError('DATABASE_URL is required for a standalone API (npm start embeds one)');
  if (config.apiUsers.length === 0 && !config.MLR_OIDC_ISSUER) {
    throw new ConfigError('MLR_API_TOKENS or MLR_OIDC_ISSUER is required for a standalone API: the API is never open');
  }
  const logger = createLogger(config, 'api');
  const api = await startApi(config, process.env, logger, { databaseUrl: config.DATABASE_URL });
  logger.info({ url: api.url }, 'API listening');
  const stop = () => {
    api.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
