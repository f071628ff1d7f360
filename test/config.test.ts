import fs from 'node:fs';
import path from 'node:path';
import { configSchema, hashToken, loadConfig, modelConfigProblem, modelFor, parseApiTokens } from '../src/config';

describe('loadConfig', () => {
  it('applies defaults to an empty environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ PORT: 8080, MLR_MAX_UPLOAD_MB: 20, MLR_DEFAULT_IDEA_COUNT: 3, apiUsers: [] });
    expect(path.isAbsolute(c.MLR_DATA_DIR)).toBe(true);
  });

  it('names every wrong variable in one message', () => {
    let message = '';
    try {
      loadConfig({ PORT: 'eighty', MLR_TEMPORAL_UI: 'yes', MLR_MODEL_PRICES: '{oops', DATABASE_URL: 'not a url' });
    } catch (err) {
      message = (err as Error).message;
    }
    for (const name of ['PORT', 'MLR_TEMPORAL_UI', 'MLR_MODEL_PRICES', 'DATABASE_URL']) expect(message).toContain(name);
  });

  it('parses booleans strictly, so "false" is false', () => {
    expect(loadConfig({ MLR_TEMPORAL_UI: 'false' }).MLR_TEMPORAL_UI).toBe(false);
    expect(loadConfig({ MLR_TEMPORAL_UI: '1' }).MLR_TEMPORAL_UI).toBe(true);
  });

  it('uses per-role models over the default', () => {
    const c = loadConfig({ MLR_MODEL: 'base', MLR_MODEL_REVIEW: 'critic' });
    expect([modelFor(c, 'analysis'), modelFor(c, 'review')]).toEqual(['base', 'critic']);
  });

  it('parses users from MLR_API_TOKENS and keeps only the hashes of their tokens', () => {
    const c = loadConfig({
      MLR_API_TOKENS: ' alice=tok-a-0123456789 , bob=tok-b-0123456789:admin, bare-token-0123456789,,',
    });
    expect(c.apiUsers).toEqual([
      { name: 'alice', admin: false, tokenHash: hashToken('tok-a-0123456789') },
      { name: 'bob', admin: true, tokenHash: hashToken('tok-b-0123456789') },
      { name: 'default', admin: false, tokenHash: hashToken('bare-token-0123456789') },
    ]);
    expect(JSON.stringify(c)).not.toMatch(/tok-a|tok-b|bare-token/);
  });

  it('reads every entry with "=" as name=token, so a padded base64 token is given with its name', () => {
    const padded = 'q8Zk3nV1bW9yZXNlY3JldA==';
    expect(parseApiTokens(`default=${padded}:admin`)).toEqual([
      { name: 'default', admin: true, tokenHash: hashToken(padded) },
    ]);
  });

  it.each([
    [
      'a bare base64 token ending in "=" (once read as user <prefix> with the secret "=")',
      'q8Zk3nV1bW9yZXNl==',
      /entry 1: its token has 1 characters; at least 16/,
    ],
    ['the same as an admin', 'q8Zk3nV1bW9yZXNl==:admin', /entry 1: its token has 1 characters/],
    ['"=" with no name before it', '=q8Zk3nV1bW9yZXNlY3JldA', /entry 1 has "=" without a user name/],
    ['a name that is no user name', 'a b=q8Zk3nV1bW9yZXNlY3JldA', /entry 1 has "=" without a user name/],
    ['a short token', 'alice=short', /entry 1: its token has 5 characters; at least 16/],
    ['a token with a space', 'alice=0123456789 abcdefgh', /printable ASCII without spaces/],
    ['one token for two users', 'alice=0123456789abcdef,bob=0123456789abcdef', /entry 2 repeats the token/],
  ])('refuses %s at start-up, naming the entry and never its token', (_, tokens, message) => {
    expect(() => loadConfig({ MLR_API_TOKENS: tokens })).toThrow(message);
    try {
      loadConfig({ MLR_API_TOKENS: tokens });
    } catch (err) {
      expect((err as Error).message).not.toContain('q8Zk3nV1');
      expect((err as Error).message).not.toContain('0123456789');
    }
  });

  it('refuses an OIDC issuer without an audience, which would accept tokens made for other applications', () => {
    expect(() => loadConfig({ MLR_OIDC_ISSUER: 'https://id.example' })).toThrow(
      /MLR_OIDC_AUDIENCE: MLR_OIDC_ISSUER needs/,
    );
    expect(loadConfig({ MLR_OIDC_ISSUER: 'https://id.example', MLR_OIDC_AUDIENCE: 'mlr' }).MLR_OIDC_AUDIENCE).toBe(
      'mlr',
    );
  });

  it('explains what to set when no model is configured', () => {
    expect(modelConfigProblem(loadConfig({}))).toMatch(/set MLR_MODEL/);
    expect(modelConfigProblem(loadConfig({ MLR_MODEL: 'm' }))).toMatch(/OPENAI_API_KEY .* or OPENAI_BASE_URL/);
    expect(
      modelConfigProblem(loadConfig({ MLR_MODEL: 'm', OPENAI_BASE_URL: 'http://localhost:8000/v1' })),
    ).toBeUndefined();
  });

  it('runs experiments as Jobs only with an object store to move code and results through', () => {
    expect(() => loadConfig({ MLR_EXECUTOR: 'kubernetes' })).toThrow(/MLR_S3_ENDPOINT: .*need an object store/);
    expect(() => loadConfig({ MLR_ARTIFACTS: 's3' })).toThrow(/MLR_S3_ENDPOINT/);
    const c = loadConfig({ MLR_EXECUTOR: 'kubernetes', MLR_S3_ENDPOINT: 'http://127.0.0.1:9000' });
    expect(c).toMatchObject({
      MLR_K8S_NAMESPACE: 'mlr-experiments',
      MLR_K8S_NODE_SELECTOR: {},
      MLR_K8S_TOLERATIONS: [],
    });
  });

  it('parses node selectors and tolerations as JSON and names a bad one', () => {
    const c = loadConfig({
      MLR_K8S_NODE_SELECTOR: '{"pool":"a100"}',
      MLR_K8S_TOLERATIONS: '[{"key":"nvidia.com/gpu","operator":"Exists","effect":"NoSchedule"}]',
    });
    expect(c.MLR_K8S_NODE_SELECTOR).toEqual({ pool: 'a100' });
    expect(c.MLR_K8S_TOLERATIONS).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(() => loadConfig({ MLR_K8S_TOLERATIONS: '[{"key":"x","effect":"Sometimes"}]' })).toThrow(
      /MLR_K8S_TOLERATIONS/,
    );
    expect(() => loadConfig({ MLR_K8S_NODE_SELECTOR: '{oops' })).toThrow(/MLR_K8S_NODE_SELECTOR: not valid JSON/);
    expect(() => loadConfig({ MLR_K8S_NAMESPACE: 'Not_A_Namespace' })).toThrow(/MLR_K8S_NAMESPACE/);
  });

  it("takes a claim name and an index URL for tasks' environments on a cluster, and names a bad one", () => {
    const c = loadConfig({
      MLR_K8S_ENVS_CLAIM: 'mlr-envs',
      MLR_K8S_ENV_INDEX_URL: 'https://pypi.mirror.example/simple',
    });
    expect(c).toMatchObject({
      MLR_K8S_ENVS_CLAIM: 'mlr-envs',
      MLR_K8S_ENV_INDEX_URL: 'https://pypi.mirror.example/simple',
      MLR_K8S_ENV_BUILD_TIMEOUT_S: 3600,
    });
    expect(loadConfig({}).MLR_K8S_ENVS_CLAIM).toBeUndefined();
    expect(() => loadConfig({ MLR_K8S_ENVS_CLAIM: 'Envs_Volume' })).toThrow(/MLR_K8S_ENVS_CLAIM/);
    expect(() => loadConfig({ MLR_K8S_ENV_INDEX_URL: 'pypi.mirror.example' })).toThrow(/MLR_K8S_ENV_INDEX_URL/);
    expect(() => loadConfig({ MLR_K8S_ENV_BUILD_TIMEOUT_S: '5' })).toThrow(/MLR_K8S_ENV_BUILD_TIMEOUT_S/);
  });

  it('is documented variable for variable in the README table', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    const documented = new Set([...readme.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]));
    const keys = Object.keys((configSchema as unknown as { in: { shape: object } }).in.shape);
    expect(keys.filter((k) => !documented.has(k))).toEqual([]);
  });
});
