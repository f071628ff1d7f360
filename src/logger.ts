import pino, { type Logger } from 'pino';
import type { Config } from './config';

export type { Logger };

export function createLogger(config: Pick<Config, 'LOG_LEVEL'>, name = 'mlr'): Logger {
  return pino({ name, level: config.LOG_LEVEL });
}
