// Structured outputs of the IdeaAgent. Each zod schema is both the JSON schema sent to the model
// (strict mode) and the validator of what comes back.
import { z } from 'zod';

const text = z.string().min(1).max(4000);

export const analysisSchema = z.object({
  taskDefinition: z.object({
    problem: text,
    inputs: text,
    outputs: text,
    datasets: z.array(z.string().max(300)).max(20),
    metrics: z.array(z.string().max(300)).max(20),
  }),
  gaps: z
    .array(z.object({ gap: text, evidence: text }))
    .min(1)
    .max(10),
  keywords: z.array(z.string().min(1).max(100)).min(1).max(10),
});
export type Analysis = z.infer<typeof analysisSchema>;

const score = z.number().min(1).max(10);

export const ideaSchema = z.object({
  title: z.string().min(1).max(300),
  problem: text,
  motivation: text,
  hypothesis: text,
  experimentPlan: z.object({
    steps: z.array(z.string().min(1).max(1000)).min(1).max(20),
    dataset: text,
    model: text,
    metric: text,
    baseline: text,
    expectedOutcome: text,
    /**
     * Pretrained models or datasets from the Hugging Face Hub the plan needs, retrieved before the agent starts
     * (a person approving the idea can change the list). Null or absent: none.
     */
    hub: z
      .array(z.object({ kind: z.enum(['model', 'dataset']), id: z.string().min(1).max(200) }))
      .max(5)
      .nullish(),
  }),
  noveltyScore: score,
  feasibilityScore: score,
  rationale: text,
});
export type Idea = z.infer<typeof ideaSchema>;

export const ideasSchema = z.object({ ideas: z.array(ideaSchema).min(1).max(10) });

export const reviewSchema = z.object({
  rankings: z
    .array(
      z.object({
        index: z.number().int().min(0),
        score: score,
        critique: text,
      }),
    )
    .min(1),
});
export type IdeaReview = { score: number | null; critique: string };

/** A JSON schema accepted by strict structured outputs. */
export function toStrictJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-7' }) as Record<string, unknown>;
  return rest;
}
