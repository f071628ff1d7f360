// Where the CLI finds the server and the token: flags, then MLR_URL / MLR_TOKEN, then a config file
// ($MLR_CONFIG, or ~/.config/mlr/config.json: {"url": "...", "token": "..."}), then the local default URL.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { CliError, EXIT } from './errors';

export interface Settings {
  url: string;
  token: string | undefined;
  json: boolean;
}

const fileSchema = z.object({ url: z.string().url().optional(), token: z.string().min(1).optional() }).strict();

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.MLR_CONFIG ?? path.join(env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), 'mlr', 'config.json');
}

function readFile(file: string, explicit: boolean): z.infer<typeof fileSchema> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return {};
    throw new CliError(EXIT.usage, 'BadConfig', `cannot read the config file ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(EXIT.usage, 'BadConfig', `${file} is not JSON; write {"url": "...", "token": "..."}`);
  }
  const result = fileSchema.safeParse(parsed);
  if (!result.success) {
    throw new CliError(
      EXIT.usage,
      'BadConfig',
      `${file}: ${result.error.issues.map((i) => `${i.path.join('.') || 'file'}: ${i.message}`).join('; ')}`,
    );
  }
  return result.data;
}

/** The token in a file (or on stdin for "-"): trimmed, and refused when empty. */
function readTokenFile(file: string): string {
  let token: string;
  try {
    token = fs.readFileSync(file === '-' ? 0 : file, 'utf8').trim();
  } catch (err) {
    throw new CliError(EXIT.usage, 'BadTokenFile', `cannot read the token from ${file}: ${(err as Error).message}`);
  }
  if (!token) throw new CliError(EXIT.usage, 'BadTokenFile', `${file} holds no token`);
  return token;
}

export function resolveSettings(
  flags: { url?: string; token?: string; tokenFile?: string; json?: boolean; config?: string },
  env: NodeJS.ProcessEnv = process.env,
): Settings {
  if (flags.token !== undefined)
    throw new CliError(
      EXIT.usage,
      'TokenInArguments',
      '--token would show the token to every user of this machine (in ps); use --token-file FILE (or - for stdin), MLR_TOKEN, or the config file',
    );
  const file = readFile(flags.config ?? configPath(env), Boolean(flags.config ?? env.MLR_CONFIG));
  const url = (flags.url ?? env.MLR_URL ?? file.url ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new CliError(EXIT.usage, 'BadUrl', `${url} is not an http(s) URL (--url, MLR_URL or the config file)`);
  }
  const token = flags.tokenFile !== undefined ? readTokenFile(flags.tokenFile) : (env.MLR_TOKEN ?? file.token);
  return { url, token, json: Boolean(flags.json) };
}
