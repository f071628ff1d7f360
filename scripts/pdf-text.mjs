// Reads a PDF on stdin and prints its text as JSON {title, pages, text}. Runs in its own process so a
// hostile or broken PDF can only crash or exhaust this child, never the API.
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

const maxPages = Number(process.argv[2]) || 300;
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const data = new Uint8Array(Buffer.concat(chunks));
try {
  const doc = await getDocument({ data, useSystemFonts: false, isEvalSupported: false, verbosity: 0 }).promise;
  if (doc.numPages > maxPages) {
    process.stderr.write(`the PDF has ${doc.numPages} pages; at most ${maxPages} are read`);
    process.exit(3);
  }
  const pages = [];
  for (let n = 1; n <= doc.numPages; n++) {
    const page = await doc.getPage(n);
    const content = await page.getTextContent();
    let line = '';
    const lines = [];
    for (const item of content.items) {
      if (!('str' in item)) continue;
      line += item.str;
      if (item.hasEOL) {
        lines.push(line);
        line = '';
      }
    }
    if (line) lines.push(line);
    pages.push(lines.join('\n'));
  }
  const meta = await doc.getMetadata().catch(() => undefined);
  const title = typeof meta?.info?.Title === 'string' ? meta.info.Title : undefined;
  process.stdout.write(JSON.stringify({ title, pages: doc.numPages, text: pages.join('\n\n') }));
} catch (err) {
  process.stderr.write(String(err?.message ?? err));
  process.exit(2);
}
