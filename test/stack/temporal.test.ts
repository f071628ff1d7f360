// The embedded Temporal dev server is started by the service with the service's secrets in its environment:
// none of them may reach it.
import fs from 'node:fs';
import path from 'node:path';
import { serverEnv, startTemporalDevServer, venvTemporal } from '../../src/stack/temporal';
import { ROOT, TEST_DATA } from '../support/paths';

describe('the embedded Temporal dev server', () => {
  it('keeps only PATH, HOME, TMPDIR, LANG and TZ of the environment', () => {
    const env = { PATH: '/bin', HOME: '/root', LANG: 'C', OPENAI_API_KEY: 'sk-x', TEMPORAL_ADDRESS: 'elsewhere:7233' };
    expect(serverEnv(env)).toEqual({ PATH: '/bin', HOME: '/root', LANG: 'C' });
  });

  it('runs without the secrets of the process that started it', async () => {
    process.env.OPENAI_API_KEY = 'sk-leak-check-value';
    process.env.MLR_API_TOKENS = 'alice=leak-check-token-0123456789';
    const stateDir = path.join(TEST_DATA, `temporal-env-${Date.now()}`);
    try {
      const server = await startTemporalDevServer({ binary: venvTemporal(ROOT), stateDir, ui: false, namespace: 'x' });
      try {
        const pid = fs.readFileSync(path.join(stateDir, 'temporal.pid'), 'utf8').trim();
        const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
        expect(environ.map((e) => e.split('=')[0]).sort()).toEqual(
          Object.keys(serverEnv()).sort(), // what the service had of the kept names, nothing more
        );
        expect(environ.join('\n')).not.toMatch(/leak-check/);
      } finally {
        await server.stop();
      }
    } finally {
      delete process.env.OPENAI_API_KEY;
      delete process.env.MLR_API_TOKENS;
    }
  });
});
