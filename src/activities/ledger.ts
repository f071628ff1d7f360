// Metering: the one place model calls and executions reserve their estimated cost and settle what they
// measured. A refused reservation becomes a non-retryable ApplicationFailure that the workflow turns into a
// visible wait (awaiting_budget, or a durable timer for a busy execution slot); nothing was spent or written.
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { estimateTokens } from '../clients/llm';
import { defaultRunBudget, userQuota, type Config } from '../config';
import { extendReservation, reserve, settle, type Reservation } from '../db/ledger';
import type { Transactional } from '../db/types';
import { describeExhaustion, ZERO_SPEND, type Spend } from '../domain/budget';
import { ErrorType } from '../errors';

export interface MeterDeps {
  db: Transactional;
  config: Config;
}

const HOUR_MS = 3_600_000;

/** The USD a model call costs at the configured per-million-token prices (0 for a model without a price). */
export function costUsd(prices: Config['MLR_MODEL_PRICES'], model: string, prompt: number, completion: number): number {
  const price = prices[model];
  return price ? (prompt * price.prompt + completion * price.completion) / 1_000_000 : 0;
}

export function createMeter({ db, config }: MeterDeps) {
  async function reserveOrThrow(r: Reservation): Promise<void> {
    const out = await reserve(db, r, defaultRunBudget(config), {
      quota: userQuota(config),
      maxExecutions: config.MLR_MAX_EXECUTIONS_PER_USER,
    });
    if (out.ok) return;
    if ('quota' in out) {
      throw ApplicationFailure.create({
        type: ErrorType.UserQuotaExhausted,
        message: `${describeExhaustion(out.quota)} (MLR_USER_QUOTA_*); room again at ${out.quota.retryAt}`,
        nonRetryable: true,
        details: [out.quota],
      });
    }
    if ('exhausted' in out) {
      throw ApplicationFailure.create({
        type: ErrorType.BudgetExhausted,
        message: describeExhaustion(out.exhausted),
        nonRetryable: true,
        details: [out.exhausted],
      });
    }
    throw ApplicationFailure.create({
      type: ErrorType.ExecutionSlotBusy,
      message:
        out.busy.scope === 'user'
          ? `you run ${out.busy.running} of your ${out.busy.max} concurrent executions (MLR_MAX_EXECUTIONS_PER_USER)`
          : `the campaign runs ${out.busy.running} of its ${out.busy.max} concurrent executions`,
      nonRetryable: true,
      details: [out.busy],
    });
  }

  const computeSpend = (ms: number, gpus: number, cpus: number): Spend => {
    const gpuHours = (gpus * ms) / HOUR_MS;
    const cpuHours = (cpus * ms) / HOUR_MS;
    return {
      ...ZERO_SPEND,
      gpuHours,
      cpuHours,
      usd: gpuHours * config.MLR_GPU_HOUR_USD + cpuHours * config.MLR_CPU_HOUR_USD,
    };
  };

  return {
    /**
     * One model call: reserves the prompt's estimated tokens plus MLR_MODEL_RESERVE_TOKENS for the reply,
     * then settles the tokens and USD the endpoint reported (nothing, when it failed).
     */
    async modelCall<T extends { promptTokens: number; completionTokens: number }>(
      m: { runId: string; stage: string; model: string; prompt: unknown },
      call: () => Promise<T>,
    ): Promise<T> {
      const key = `model:${m.runId}:${randomUUID()}`;
      const prompt = estimateTokens(JSON.stringify(m.prompt));
      const reply = config.MLR_MODEL_RESERVE_TOKENS;
      await reserveOrThrow({
        key,
        runId: m.runId,
        kind: 'model',
        stage: m.stage,
        model: m.model,
        estimate: {
          ...ZERO_SPEND,
          tokens: prompt + reply,
          usd: costUsd(config.MLR_MODEL_PRICES, m.model, prompt, reply),
        },
        ttlMs: config.MLR_LLM_TIMEOUT_MS * 2,
      });
      let res: T;
      try {
        res = await call();
      } catch (err) {
        await settle(db, key, ZERO_SPEND);
        throw err;
      }
      const used = res.promptTokens + res.completionTokens;
      await settle(db, key, {
        ...ZERO_SPEND,
        tokens: used,
        usd: costUsd(config.MLR_MODEL_PRICES, m.model, res.promptTokens, res.completionTokens),
      });
      return res;
    },

    /** One execution: reserves its worst case (the timeout) and the campaign's job slot, settles wall time. */
    async execution<T extends { durationMs: number }>(
      e: { key: string; runId: string; stage: string; timeoutMs: number; gpus: number; cpus: number; maxJobs?: number },
      run: () => Promise<T>,
    ): Promise<T> {
      const key = `exec:${e.key}`;
      const ttlMs = e.timeoutMs + config.MLR_K8S_DEADLINE_MARGIN_S * 1000;
      await reserveOrThrow({
        key,
        runId: e.runId,
        kind: 'execution',
        stage: e.stage,
        estimate: computeSpend(e.timeoutMs, e.gpus, e.cpus),
        ttlMs,
        maxConcurrent: e.maxJobs,
      });
      // A Job can wait in a queue for longer than it may run: while this attempt lives, its reservation (and
      // its job slot) is renewed, so neither lapses and lets the budget or the window be spent twice. If the
      // worker dies, renewal stops and the reservation lapses one ttl later, as before.
      const renew = setInterval(
        () => void extendReservation(db, key, ttlMs).catch(() => undefined),
        Math.max(1000, Math.min(60_000, ttlMs / 3)),
      );
      let result: T;
      try {
        result = await run();
      } catch (err) {
        // Stopped before it measured anything (a refused sandbox, a cancelled activity): the reservation lapses
        // at its expiry if the worker dies here, and is released now otherwise.
        clearInterval(renew);
        await settle(db, key, ZERO_SPEND);
        throw err;
      }
      clearInterval(renew);
      await settle(db, key, computeSpend(result.durationMs, e.gpus, e.cpus));
      return result;
    },
  };
}

export type Meter = ReturnType<typeof createMeter>;
