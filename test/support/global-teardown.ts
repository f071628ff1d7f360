export default async function globalTeardown(): Promise<void> {
  const stack = (globalThis as Record<string, unknown>).__MLR_STACK__ as
    { pg: { stop(): Promise<void> }; temporal: { stop(): Promise<void> } } | undefined;
  await stack?.temporal.stop();
  await stack?.pg.stop();
}
