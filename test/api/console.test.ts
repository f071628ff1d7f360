/// <reference lib="dom" />
// The web console in a real browser (Debian's Chromium, driven by puppeteer-core; nothing downloaded) against
// the real stack: sign in, drop a paper, start a run, wait for ideas, revise, approve, follow the experiment
// live, open the executions' log and diff, and read the validated report with its chart. Screenshots of the
// main pages are written to test-results/screenshots (MLR_SCREENSHOTS to move them).
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { startFakeModel, type FakeModel } from '../support/fake-model';
import { startFakeScholar, type FakeScholar } from '../support/fake-scholar';
import { AUTH, TOKEN, createHarness, type Harness } from '../support/harness';
import { buildConsole } from '../../src/api/console-assets';
import { SAMPLE_PAPER, getRun } from '../support/api';
import { ROOT } from '../support/paths';
import { completedIrisStarter, SCALED_TRAIN } from '../support/train-scripts';

const SHOTS = process.env.MLR_SCREENSHOTS ?? path.join(ROOT, 'test-results', 'screenshots');
const CHROMIUM = process.env.MLR_CHROMIUM ?? '/usr/bin/chromium';

let model: FakeModel;
let scholar: FakeScholar;
let h: Harness;
let base: string;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: run npm test as root (it installs it) or set MLR_CHROMIUM`);
  }
  model = await startFakeModel();
  scholar = await startFakeScholar();
  h = await createHarness({
    OPENAI_BASE_URL: model.baseUrl,
    SEMANTIC_SCHOLAR_BASE_URL: scholar.baseUrl,
    MLR_VALIDATION_SEEDS: '4',
  });
  await h.startWorker();
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  fs.mkdirSync(SHOTS, { recursive: true });
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // As root (CI) Chromium's own sandbox cannot start; the page only ever loads this local server.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1366, height: 900 });
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  page.on('console', (msg) => {
    if (/Content.Security.Policy|Uncaught/i.test(msg.text())) pageErrors.push(msg.text());
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
  await model?.close();
  await scholar?.close();
});

const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
const text = (selector: string) => page.$eval(selector, (el) => (el as HTMLElement).innerText);
const waitText = (needle: string, timeout = 60_000) =>
  page.waitForFunction((n: string) => document.body.innerText.includes(n), { timeout, polling: 100 }, needle);

describe('the web console', () => {
  it('is served without a token, under a strict content security policy, and answers 304 when unchanged', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    const script = /src="(\/console\/app\.js\?v=[0-9a-f]+)"/.exec(html)![1]!;
    const js = await fetch(`${base}${script}`);
    expect(js.headers.get('content-type')).toContain('javascript');
    expect((await js.text()).length).toBeGreaterThan(1000);
    const again = await fetch(`${base}/console/app.css`, { headers: { 'if-none-match': js.headers.get('etag')! } });
    expect(again.status).toBe(304);
    // The data is not: the page's API calls need the token.
    expect((await fetch(`${base}/v1/runs`)).status).toBe(401);
  });

  it('says why when the console cannot be built, and answers 404 for the diff of an execution that is not there', async () => {
    await expect(buildConsole(path.join(ROOT, 'console', 'src', 'no-such-entry.tsx'))).rejects.toThrow(
      /Could not resolve/,
    );
    const paper = await h.app.inject({
      method: 'POST',
      url: '/v1/papers',
      headers: AUTH,
      payload: { content: SAMPLE_PAPER, format: 'markdown' },
    });
    const run = await h.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: AUTH,
      payload: { paperId: paper.json().id, until: 'approved' },
    });
    const missing = await h.app.inject({
      method: 'GET',
      url: `/v1/runs/${run.json().id}/experiments/00000000-0000-4000-8000-000000000000/diff`,
      headers: AUTH,
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('NotFound');
    await h.app.inject({ method: 'POST', url: `/v1/runs/${run.json().id}/cancel`, headers: AUTH });
  });

  it('takes a paper from upload to a validated report in a real browser', async () => {
    await page.goto(`${base}/`);
    await page.waitForSelector('#token');
    await shot('1-sign-in');

    // A wrong token: the API's own words, and no way in.
    await page.type('#token', 'not-a-token');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[role=alert]');
    expect(await text('[role=alert]')).toContain('Unauthorized');
    await page.$eval('#token', (el) => ((el as HTMLInputElement).value = ''));
    await page.type('#token', TOKEN);
    await page.keyboard.press('Enter');
    await page.waitForSelector('header.top nav');

    // Papers: a file dropped on the zone is uploaded, and its extracted sections are shown.
    await page.click('nav a[href="#/papers"]');
    await page.waitForSelector('[data-testid=dropzone]');
    await page.evaluate((content: string) => {
      const dt = new DataTransfer();
      dt.items.add(new File([content], 'scaling.md', { type: 'text/markdown' }));
      const zone = document.querySelector('[data-testid=dropzone]')!;
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, SAMPLE_PAPER);
    await page.waitForSelector('.paper-section');
    expect(await text('h1')).toContain('Scaling Features for Tabular Classifiers');
    expect(await page.$$eval('.paper-section', (els) => els.length)).toBeGreaterThanOrEqual(3);
    await shot('2-paper');

    // Start a supervised run with two ideas; the page follows it to its ideas.
    await page.$eval('form[aria-label="Start a run"] input[type=number]', (el) => {
      const input = el as HTMLInputElement;
      input.value = '2';
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await page.click('form[aria-label="Start a run"] button[type=submit]');
    await page.waitForFunction(() => /^#\/runs\/[0-9a-f-]{36}$/.test(location.hash));
    const runId = (await page.evaluate(() => location.hash)).split('/')[2]!;
    // Marks this document: if the page were reloaded to show progress, the mark would be gone.
    await page.evaluate(() => ((window as unknown as { mark: number }).mark = 1));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=idea]').length === 2, {
      timeout: 60_000,
    });
    await waitText('Round 1');
    expect(await text('#main')).toContain('Classify tabular records into classes'); // the task definition
    expect(await text('#main')).toContain('No study of feature scaling'); // a gap
    expect(await text('#main')).toContain('A shared classic'); // related work
    await page.waitForFunction(() => document.querySelector('[data-testid=inbox-count]')?.textContent === '1', {
      timeout: 10_000,
    });
    await shot('3-ideas');

    // Revise with feedback: a second round of ideas replaces the first, without reloading the page.
    await page.type('#revise-feedback', 'Prefer ideas that keep the model linear.');
    await page.click('form[aria-label="Revise or reject"] button[type=submit]');
    await waitText('Round 2');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=idea] button').length === 2, {
      timeout: 60_000,
    });
    await shot('4-revised');
    expect(
      model
        .requestsFor('research_ideas')
        .at(-1)!
        .messages.map((m) => m.content)
        .join('\n'),
    ).toContain('Prefer ideas that keep the model linear.');

    // Approve the second idea; the agent's steps then arrive on the open page.
    model.enqueue('agent', { tool: 'write_file', args: { file_name: 'train.py', content: SCALED_TRAIN } });
    model.enqueue('agent', { tool: 'execute_script', args: { script_name: 'train.py' } });
    model.enqueue('agent', { tool: 'final_answer', args: { final_answer: 'Scaled the features.' } });
    const second = await page.$$('[data-testid=idea]');
    await (await second[1]!.$('button'))!.click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=steps] li').length >= 3, {
      timeout: 90_000,
    });
    expect(await text('[data-testid=steps]')).toContain('execute_script');
    await shot('5-experiment');

    await page.waitForFunction(() => document.querySelector('h1 .badge')?.textContent === 'succeeded', {
      timeout: 180_000,
      polling: 250,
    });
    expect(await page.evaluate(() => (window as unknown as { mark?: number }).mark)).toBe(1);
    const run = await getRun(h.app, runId);
    expect(run.selectedIdeaId).toBe(run.ideas.filter((i: { round: number }) => i.round === 1)[1].id);

    // An execution's log and its diff against the starter, fetched when opened.
    await page.waitForSelector('[data-testid=executions]');
    const candidate = await page.$$eval('[data-testid=executions] tbody tr', (rows) =>
      rows.findIndex((r) => r.textContent?.startsWith('candidate')),
    );
    expect(candidate).toBeGreaterThanOrEqual(0);
    const row = (await page.$$('[data-testid=executions] tbody tr'))[candidate]!;
    const [log, diff] = await row.$$('details summary');
    // Opened one after the other, each by its own element: the first one's text arriving moves the page, and a
    // click by coordinates could then land beside the second.
    await diff!.evaluate((el) => (el as HTMLElement).click());
    await row.waitForSelector('pre.diff');
    await log!.evaluate((el) => (el as HTMLElement).click());
    await row.waitForSelector('pre.log');
    expect(await row.$eval('pre.diff', (el) => el.textContent)).toContain('StandardScaler');
    expect(await row.$eval('pre.log', (el) => el.textContent)).toContain('val_accuracy');

    // The report, standing on its own in a sandboxed frame, with its chart drawn inline.
    const frameHandle = await page.waitForSelector('iframe[data-testid=report]', { timeout: 30_000 });
    const srcdoc = await frameHandle!.evaluate((el) => (el as HTMLIFrameElement).srcdoc);
    expect(srcdoc).toContain('<svg');
    expect(srcdoc).not.toContain('<img');
    const frame = await frameHandle!.contentFrame();
    await frame.waitForSelector('svg');
    expect(await frame.$$eval('svg', (els) => els.length)).toBeGreaterThan(0);
    await frameHandle!.evaluate((el) => el.scrollIntoView());
    await page.waitForFunction(() => document.querySelector<HTMLElement>('iframe.report')!.offsetHeight > 700);
    await frameHandle!.screenshot({ path: path.join(SHOTS, '6-report.png') });
    expect(await text('header.top nav')).not.toMatch(/Inbox\s*1/);

    // The runs list shows it, and the inbox is empty.
    await page.click('nav a[href="#/runs"]');
    await page.waitForSelector(`[data-run="${runId}"]`);
    expect(await text(`[data-run="${runId}"]`)).toContain('succeeded');
    await shot('7-runs');
    await page.click('nav a[href="#/inbox"]');
    await waitText('Nothing is waiting on you.');

    // A campaign over the same paper: its page shows progress, spend and the leaderboard.
    const campaign = await h.app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: AUTH,
      payload: { name: 'Scaling sweep', paperIds: [run.paperId], until: 'approved', ideaCount: 1, budget: { usd: 1 } },
    });
    expect(campaign.json()).toMatchObject({ name: 'Scaling sweep' });
    expect(campaign.statusCode).toBe(201);
    await page.click('nav a[href="#/campaigns"]');
    await page.waitForSelector(`a[href="#/campaigns/${campaign.json().id}"]`);
    await page.click(`a[href="#/campaigns/${campaign.json().id}"]`);
    await page.waitForSelector('[data-testid=leaderboard] tbody tr', { timeout: 60_000 });
    expect(await text('h1')).toContain('Scaling sweep');
    await shot('8-campaign');
    expect(pageErrors).toEqual([]);
    const res = await h.app.inject({ method: 'GET', url: `/v1/runs/${runId}/report`, headers: AUTH });
    expect(res.statusCode).toBe(200);
  }, 420_000);

  it("shows a benchmark's success rate per task with its interval, the overall line and the chart", async () => {
    // The unfinished iris starter, completed by the agent: one run, a success against the fixed baseline.
    const complete = completedIrisStarter();
    model.enqueue('agent', { tool: 'write_file', args: { file_name: 'train.py', content: complete } });
    model.enqueue('agent', { tool: 'final_answer', args: { final_answer: 'Wrote the model.' } });
    const created = await h.app.inject({
      method: 'POST',
      url: '/v1/benchmarks',
      headers: AUTH,
      payload: {
        name: 'Iris check',
        tasks: ['iris-incomplete'],
        profile: 'copilot',
        runsPerTask: 1,
        validationSeeds: 4,
        budget: { usd: 10 },
      },
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    for (let i = 0; i < 600; i++) {
      const view = await h.app.inject({ method: 'GET', url: `/v1/benchmarks/${id}`, headers: AUTH });
      if (view.json().status === 'completed') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    // Signed in as the console keeps it (this tab's session), then loaded afresh on the campaigns page.
    await page.goto(`${base}/#/campaigns`);
    await page.evaluate((t: string) => sessionStorage.setItem('mlr.token', t), TOKEN);
    await page.reload();
    await page.waitForSelector(`a[href="#/campaigns/${id}"]`);
    expect(await text('table.list tbody')).toContain('Iris check · benchmark');
    await page.click(`a[href="#/campaigns/${id}"]`);
    await page.waitForSelector('[data-testid=benchmark] tr[data-task="iris-incomplete"]');
    const row = await text('[data-testid=benchmark] tr[data-task="iris-incomplete"]');
    // 1 of 1 under upstream's rule; Wilson's 95% interval for 1/1 is [20.7%, 100%].
    expect(row).toMatch(/1 \/ 1\s+100% \[21%, 100%\]/);
    expect(await text('[data-testid=benchmark] tr[data-task="overall"]')).toContain('1 / 1');
    expect(await text('h1 + p')).toContain('benchmark · 1 task × 1 run · profile copilot');
    await page.waitForSelector('img.chart[alt^="Success rate"]');
    await shot('9-benchmark');
    expect(pageErrors).toEqual([]);
  }, 300_000);
});
