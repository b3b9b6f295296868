// Drives the console in a real (headless) Chromium as an agent would: sign in, go available,
// accept the customer's conversation, read it, reply, see the reply sent, wrap up.
//
//   SWITCHBOARD_URL  the host's base URL (it serves the console at /console/)
//   AGENT_TOKEN      the agent's bearer token
//   CUSTOMER_ID      the customer whose conversation is waiting or offered
//   REPLY_TEXT       what the agent answers
//   CUSTOMER_TEXT    optional: a message of the customer the transcript must show
//   CHROMIUM         optional: the browser binary (default /usr/bin/chromium)
//   STEP_TIMEOUT_MS  optional: how long each step may take (default 30000)
//
// Exits 0 when every step passed; otherwise prints what the page showed, saves a screenshot to
// /tmp/switchboard-console-failure.png and exits 1.

import { chromium } from 'playwright-core';

const SCREENSHOT = '/tmp/switchboard-console-failure.png';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`agent.mjs: the environment variable ${name} is required`);
    process.exit(1);
  }
  return value;
}

const baseUrl = required('SWITCHBOARD_URL').replace(/\/+$/, '');
const agentToken = required('AGENT_TOKEN');
const customerId = required('CUSTOMER_ID');
const replyText = required('REPLY_TEXT');
const customerText = process.env.CUSTOMER_TEXT || '';
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const stepTimeout = Number(process.env.STEP_TIMEOUT_MS || 30000);

/** A CSS attribute value, quoted. */
const q = (value) => JSON.stringify(String(value));

const seen = { console: [], pageErrors: [], failedResponses: [] };
let currentStep = 'launching Chromium';

async function step(name, action) {
  currentStep = name;
  const started = Date.now();
  await action();
  console.log(`ok   ${name} (${Date.now() - started} ms)`);
}

async function main(page) {
  page.setDefaultTimeout(stepTimeout);
  const tid = (id) => page.getByTestId(id);

  await step('open the console', async () => {
    const response = await page.goto(`${baseUrl}/console/`);
    if (!response || !response.ok()) {
      throw new Error(`GET ${baseUrl}/console/ answered ${response ? response.status() : 'nothing'}`);
    }
    await tid('token-input').waitFor();
  });

  await step('sign in with the agent token', async () => {
    await tid('token-input').fill(agentToken);
    await tid('sign-in').click();
    await tid('agent-view').or(tid('admin-view')).or(tid('sign-in-error')).first().waitFor();
    if (await tid('sign-in-error').isVisible()) {
      throw new Error(`sign-in refused: ${await tid('sign-in-error').innerText()}`);
    }
    if (await tid('admin-view').isVisible()) throw new Error('the token opened the admin view, not the agent view');
  });

  await step('set presence available', async () => {
    await tid('presence-select').selectOption('available');
    // data-presence is the presence the host confirmed.
    await page.locator('[data-testid="agent-view"][data-presence="available"]').waitFor();
  });

  const accept = page
    .locator(
      `:is([data-testid="offer"], [data-testid="queue-entry"])[data-customer-id=${q(customerId)}] [data-testid="accept"]`,
    )
    .first();
  await step(`wait for ${customerId}'s conversation (offered or waiting)`, async () => {
    await accept.waitFor();
  });

  const pane = page.locator(`[data-testid="interaction"][data-customer-id=${q(customerId)}]`);
  await step('accept it', async () => {
    await accept.click();
    const refused = tid('action-error');
    await pane.getByTestId('reply-text').or(refused).first().waitFor();
    if (await refused.isVisible()) throw new Error(`accepting failed: ${await refused.innerText()}`);
  });

  await step("the transcript shows the customer's message", async () => {
    const inbound = pane.locator('[data-testid="message"][data-direction="inbound"][data-author="customer"]');
    const wanted = customerText ? inbound.filter({ hasText: customerText }) : inbound;
    await wanted.first().waitFor();
    const text = (await wanted.first().getByTestId('message-text').innerText()).trim();
    if (!text) throw new Error("the customer's message has no text in the transcript");
  });

  await step('send the reply', async () => {
    await pane.getByTestId('reply-text').fill(replyText);
    await pane.getByTestId('send').click();
    const sent = pane
      .locator('[data-testid="message"][data-author="agent"]')
      .filter({ hasText: replyText })
      .first();
    const refused = pane.getByTestId('send-error');
    await sent.or(refused).first().waitFor();
    if (await refused.isVisible()) throw new Error(`the host refused the reply: ${await refused.innerText()}`);
  });

  await step('the reply shows status sent', async () => {
    const reply = pane
      .locator('[data-testid="message"][data-author="agent"]')
      .filter({ hasText: replyText })
      .first();
    const deadline = Date.now() + stepTimeout;
    let status = '';
    while (Date.now() < deadline) {
      status = (await reply.getAttribute('data-status')) ?? '';
      // A later status (delivered, read) means it was sent too.
      if (status === 'sent' || status === 'delivered' || status === 'read') return;
      if (status === 'failed') {
        const error = await reply.getByTestId('message-error').innerText().catch(() => '');
        throw new Error(`the reply failed: ${error}`);
      }
      await page.waitForTimeout(200);
    }
    throw new Error(`the reply's status stayed ${JSON.stringify(status)}`);
  });

  await step('wrap up with code resolved', async () => {
    await pane.getByTestId('wrapup-code').selectOption('resolved');
    await pane.getByTestId('wrapup-notes').fill('handled in the console browser test');
    await pane.getByTestId('wrapup-submit').click();
    const refused = pane.getByTestId('wrapup-error');
    await pane.getByTestId('wrapup-done').or(refused).first().waitFor();
    if (await refused.isVisible()) throw new Error(`wrap-up refused: ${await refused.innerText()}`);
    await pane.locator('[data-testid="wrapup-entry"][data-code="resolved"]').waitFor();
  });
}

async function report(page, error) {
  console.error(`FAIL ${currentStep}: ${error instanceof Error ? error.message : error}`);
  if (page) {
    console.error(`--- page ${page.url()} ---`);
    const text = await page
      .locator('body')
      .innerText({ timeout: 2000 })
      .catch((e) => `(could not read the page: ${e.message})`);
    console.error(text.length > 6000 ? `${text.slice(0, 6000)}\n…` : text);
    try {
      await page.screenshot({ path: SCREENSHOT, fullPage: true, timeout: 5000 });
      console.error(`--- screenshot saved to ${SCREENSHOT}`);
    } catch (e) {
      console.error(`--- no screenshot: ${e.message}`);
    }
  }
  if (seen.failedResponses.length) console.error(`--- failed requests ---\n${seen.failedResponses.join('\n')}`);
  if (seen.pageErrors.length) console.error(`--- page errors ---\n${seen.pageErrors.join('\n')}`);
  if (seen.console.length) console.error(`--- browser console ---\n${seen.console.slice(-40).join('\n')}`);
}

let browser;
let page;
let exitCode = 0;
try {
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox'], headless: true });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') seen.console.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => seen.pageErrors.push(String(e)));
  page.on('response', (r) => {
    if (r.status() >= 400) seen.failedResponses.push(`${r.status()} ${r.request().method()} ${r.url().replace(/token=[^&]*/, 'token=…')}`);
  });
  page.on('requestfailed', (r) => {
    // An EventSource closed by the page is not a failure of the test.
    if (!r.url().includes('/events')) seen.failedResponses.push(`failed ${r.method()} ${r.url()}: ${r.failure()?.errorText}`);
  });
  await main(page);
  console.log('PASS the agent console test');
} catch (error) {
  await report(page, error);
  exitCode = 1;
} finally {
  await browser?.close().catch(() => {});
}
process.exit(exitCode);
