// The four ways to ask for a structured answer, and how each answer is read back: pure, no server.
import {
  actionOf,
  actionSchema,
  grammarSafe,
  probeAnswered,
  replyJson,
  structuredFields,
} from '../../src/clients/structured-modes';

const spec = { name: 'score', schema: { type: 'object', properties: { n: { type: 'integer' } } } };
const messages = [{ role: 'user' as const, content: 'Rate it.' }];

describe('structured request fields', () => {
  it.each([
    [
      'json_schema',
      { response_format: { type: 'json_schema', json_schema: { name: 'score', strict: true, schema: spec.schema } } },
    ],
    ['json_object', { response_format: { type: 'json_object', schema: { title: 'score', ...spec.schema } } }],
    [
      'tools',
      {
        tools: [
          { type: 'function', function: { name: 'score', description: 'Give the answer.', parameters: spec.schema } },
        ],
        tool_choice: { type: 'function', function: { name: 'score' } },
      },
    ],
  ] as const)('in %s mode carry the schema where that mode reads it', (mode, expected) => {
    const fields = structuredFields(mode, spec, messages);
    expect(fields).toEqual({ messages, ...expected });
  });

  it('in prompt mode append an instruction that names and spells out the schema, and nothing else', () => {
    const fields = structuredFields('prompt', spec, messages);
    expect(Object.keys(fields)).toEqual(['messages']);
    expect(fields.messages.slice(0, 1)).toEqual(messages);
    expect(fields.messages[1]!.content).toContain(`"score":\n${JSON.stringify(spec.schema)}`);
  });

  it('never name tool_choice "required", which llama.cpp ignores', () => {
    expect(JSON.stringify(structuredFields('tools', spec, messages))).not.toContain('required');
  });
});

describe('reading a reply', () => {
  it.each([
    ['json_schema', { content: '{"n": 3}' }, '{"n": 3}'],
    ['json_object', { content: '{"n": 3}' }, '{"n": 3}'],
    [
      'tools',
      { content: null, tool_calls: [{ type: 'function', function: { name: 'score', arguments: '{"n":3}' } }] },
      '{"n":3}',
    ],
    ['tools', { content: 'no call' }, ''],
    ['prompt', { content: 'Sure! ```json\n{"n": {"x": 1}}\n``` Hope that helps.' }, '{"n": {"x": 1}}'],
    ['prompt', { content: 'no JSON at all' }, 'no JSON at all'],
    ['prompt', { content: '} backwards {' }, '} backwards {'],
  ] as const)('in %s mode takes the JSON text from %j', (mode, message, json) => {
    expect(replyJson(mode, message)).toBe(json);
  });

  it('counts a probe as answered only when JSON of its shape came back', () => {
    expect(probeAnswered('json_object', { content: '{"ok": true}' })).toBe(true);
    expect(probeAnswered('json_object', { content: '{"ok": "yes"}' })).toBe(false);
    expect(probeAnswered('json_schema', { content: 'Yes, water is wet.' })).toBe(false);
    expect(probeAnswered('tools', { content: '' })).toBe(false);
  });
});

describe('an agent step as a structured answer', () => {
  const tools = [
    {
      name: 'list_files',
      description: 'List',
      parameters: { type: 'object', properties: { dir: { type: 'string' } } },
    },
    { name: 'final_answer', description: 'Done', parameters: { type: 'object', properties: {} } },
  ];

  it('offers one alternative per tool, each naming its tool', () => {
    const schema = actionSchema(tools).schema as { anyOf: Array<{ properties: { tool: { enum: string[] } } }> };
    expect(schema.anyOf.map((a) => a.properties.tool.enum)).toEqual([['list_files'], ['final_answer']]);
  });

  it('reads the tool, its arguments and the thought', () => {
    expect(actionOf('{"thought": "look first", "tool": "list_files", "args": {"dir": "."}}', tools)).toEqual({
      name: 'list_files',
      arguments: '{"dir":"."}',
      thought: 'look first',
    });
  });

  it.each(['{"tool": "rm_rf", "args": {}}', '{"args": {}}', 'null', '[1]', 'not json'])(
    'reads no tool call from %s',
    (json) => {
      expect(actionOf(json, tools)).toBeUndefined();
    },
  );
});

describe('a schema for a grammar-constrained server', () => {
  it('loses string bounds and patterns, keeps its shape, and keeps fields named like keywords', () => {
    const schema = {
      type: 'object',
      properties: {
        title: { type: 'string', minLength: 1, maxLength: 2000 },
        pattern: { type: 'string', pattern: '^a+$' },
        tags: { type: 'array', items: { type: 'string', format: 'uri', maxLength: 50 }, maxItems: 5 },
      },
      required: ['title', 'pattern', 'tags'],
    };
    expect(grammarSafe(schema)).toEqual({
      type: 'object',
      properties: {
        title: { type: 'string' },
        pattern: { type: 'string' },
        tags: { type: 'array', items: { type: 'string' }, maxItems: 5 },
      },
      required: ['title', 'pattern', 'tags'],
    });
  });

  it('is what json_object and tools modes send, and json_schema mode does not', () => {
    const bounded = { name: 'n', schema: { type: 'object', properties: { s: { type: 'string', maxLength: 9 } } } };
    expect(JSON.stringify(structuredFields('json_object', bounded, messages))).not.toContain('maxLength');
    expect(JSON.stringify(structuredFields('tools', bounded, messages))).not.toContain('maxLength');
    expect(JSON.stringify(structuredFields('json_schema', bounded, messages))).toContain('maxLength');
  });
});
