// A report's text comes from papers and models: opened anywhere, its HTML loads nothing from outside.
import { REPORT_CSP, renderHtml } from '../../src/validation/report';

const RUN = '0306869c-56c5-4779-9aa3-4f74fcdba8e2';

describe('the HTML report', () => {
  it('shows images from the text as their alt text and inlines only its own chart', () => {
    const markdown = [
      '# Idea',
      'See ![tracking pixel](https://attacker.example/p.gif?run=1) and ![local](/etc/passwd).',
      `![Per-seed accuracy](/v1/runs/${RUN}/report/chart.svg)`,
    ].join('\n');
    const html = renderHtml(markdown, 'Idea', '<svg id="chart"></svg>');
    expect(html).not.toMatch(/<img|attacker\.example|\/etc\/passwd/);
    expect(html).toContain('[image: tracking pixel]');
    expect(html).toContain('<figure><svg id="chart"></svg></figure>');
    // Without a chart to put in, its reference is text too.
    expect(renderHtml(markdown, 'Idea')).not.toContain('<img');
  });

  it('carries its policy in its own head, so a saved copy opened from disk fetches nothing', () => {
    const html = renderHtml('# T\n\nbody', '<T>');
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">`);
    expect(REPORT_CSP).toMatch(/default-src 'none'/);
    expect(html).toContain('<title>&lt;T&gt;</title>');
  });
});
