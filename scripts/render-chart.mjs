// Reads a Vega-Lite spec (JSON) on stdin and writes the chart as SVG. vega is an ES module with
// top-level await, which CommonJS cannot require, so charts are rendered in this small process.
import { View, parse } from 'vega';
import { compile } from 'vega-lite';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
try {
  const spec = compile(JSON.parse(Buffer.concat(chunks).toString('utf8'))).spec;
  const view = new View(parse(spec), { renderer: 'none' });
  process.stdout.write(await view.toSVG());
  view.finalize();
} catch (err) {
  process.stderr.write(String(err?.stack ?? err));
  process.exit(2);
}
