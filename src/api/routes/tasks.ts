// The task library as the service sees it: the tasks a run or a benchmark may name, and the folders it refuses
// with the reason (a task that says nowhere how it is scored, a bad task.json or requirements.txt).
import { inspectTasks } from '../../tasks/library';
import type { RouteDeps } from '../types';
import { errorResponses, freeObject } from '../schemas';
import type { RoutePlugin } from '../types';

export const taskRoutes: RoutePlugin<RouteDeps> = async (app, { config }) => {
  app.get(
    '/v1/tasks',
    {
      schema: {
        summary: 'The task library: runnable tasks, and refused folders with what to add',
        response: {
          200: {
            type: 'object',
            properties: {
              items: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    name: { type: 'string' },
                    domain: { type: 'string' },
                    metric: { type: 'string' },
                    direction: { type: 'string' },
                    source: { type: 'string', description: 'task.json, or the table of upstream tasks' },
                    tags: { type: 'array', items: { type: 'string' } },
                    resources: freeObject,
                    ownEnvironment: { type: 'boolean', description: 'runs in a venv of its own requirements' },
                  },
                },
              },
              refused: {
                type: 'array',
                items: { type: 'object', properties: { id: { type: 'string' }, reason: { type: 'string' } } },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async () => {
      const { tasks, refused } = inspectTasks(config.MLR_TASKS_DIR);
      return {
        items: tasks.map((t) => ({
          id: t.id,
          name: t.name,
          domain: t.domain,
          metric: t.metric,
          direction: t.direction,
          source: t.source,
          tags: t.tags,
          resources: t.resources,
          ownEnvironment: Boolean(t.envRequirements),
        })),
        refused: refused.map((r) => ({ id: r.taskId, reason: r.message })),
      };
    },
  );
};
