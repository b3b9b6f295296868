// Drives the console in headless Chromium as two agents and a supervisor would: alice reads the
// participant data and sees the customer's photo and invoice, sends the customer a file with her reply, and transfers the conversation to
// bob with a note; the supervisor watches it live; bob sees the note, accepts, sees the file,
// reads the customer's earlier interaction and finds the conversation by searching; the admin
// sees every queue live.
//
//   SWITCHBOARD_URL   the host's base URL (it serves the console at /console/)
//   ALICE_TOKEN, BOB_TOKEN, SUPERVISOR_TOKEN, ADMIN_TOKEN
//   CUSTOMER_ID       the customer whose conversation waits in billing, topic `billing`
//   SEARCH_TEXT       a word of the customer's first message
//   EARLIER_TEXT      the customer's message in an earlier interaction
//   CHROMIUM          optional: the browser binary (default /usr/bin/chromium)
//   STEP_TIMEOUT_MS   optional: how long each step may take (default 30000)
//
// Exits 0 when every step passed; otherwise prints what the pages showed, saves screenshots to
// /tmp/switchboard-staff-*.png and exits 1. On success it saves the screenshots too
// (/tmp/switchboard-staff-{alice,bob,supervisor}.png), for the record.

import { chromium } from 'playwright-core';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`staff.mjs: the environment variable ${name} is required`);
    process.exit(1);
  }
  return value;
}

const baseUrl = required('SWITCHBOARD_URL').replace(/\/+$/, '');
const tokens = {
  alice: required('ALICE_TOKEN'),
  bob: required('BOB_TOKEN'),
  supervisor: required('SUPERVISOR_TOKEN'),
  admin: required('ADMIN_TOKEN'),
};
const customerId = required('CUSTOMER_ID');
const searchText = required('SEARCH_TEXT');
const earlierText = required('EARLIER_TEXT');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const stepTimeout = Number(process.env.STEP_TIMEOUT_MS || 30000);
const NOTE = 'Wants the invoice corrected; label attached';
const REPLY = 'Here is your return label.';
// A 1x1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

const q = (value) => JSON.stringify(String(value));
const pages = {};
const seen = [];
let currentStep = 'launching Chromium';

async function step(name, action) {
  currentStep = name;
  const started = Date.now();
  await action();
  console.log(`ok   ${name} (${Date.now() - started} ms)`);
}

async function signIn(browser, who, view) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  page.setDefaultTimeout(stepTimeout);
  page.on('pageerror', (e) => seen.push(`${who}: page error ${e}`));
  page.on('response', (r) => {
    if (r.status() >= 400) seen.push(`${who}: ${r.status()} ${r.request().method()} ${r.url().replace(/token=[^&]*/, 'token=…')}`);
  });
  pages[who] = page;
  await page.goto(`${baseUrl}/console/`);
  await page.getByTestId('token-input').fill(tokens[who]);
  await page.getByTestId('sign-in').click();
  await page.getByTestId(view).or(page.getByTestId('sign-in-error')).first().waitFor();
  if (await page.getByTestId('sign-in-error').isVisible()) {
    throw new Error(`${who}: sign-in refused: ${await page.getByTestId('sign-in-error').innerText()}`);
  }
  return page;
}

async function goAvailable(page) {
  await page.getByTestId('presence-select').selectOption('available');
  await page.locator('[data-testid="agent-view"][data-presence="available"]').waitFor();
}

async function main(browser) {
  let supervisor;
  await step('the supervisor signs in and sees billing waiting', async () => {
    supervisor = await signIn(browser, 'supervisor', 'supervisor-view');
    await supervisor.locator('[data-testid="supervisor-view"][data-stream="live"]').waitFor();
    await supervisor.locator('[data-testid="supervisor-queue"][data-queue="billing"][data-waiting="1"]').waitFor();
    const wait = await supervisor
      .locator('[data-testid="supervisor-queue"][data-queue="billing"] [data-testid="queue-longest-wait"]')
      .innerText();
    if (!/^\d+ (s|min)/.test(wait)) throw new Error(`the longest wait shows ${JSON.stringify(wait)}`);
  });

  let alice;
  const pane = () => alice.locator(`[data-testid="interaction"][data-customer-id=${q(customerId)}]`);
  await step('alice accepts the conversation', async () => {
    alice = await signIn(browser, 'alice', 'agent-view');
    await goAvailable(alice);
    const accept = alice
      .locator(`:is([data-testid="offer"], [data-testid="queue-entry"])[data-customer-id=${q(customerId)}] [data-testid="accept"]`)
      .first();
    await accept.click();
    await pane().getByTestId('reply-text').waitFor();
  });

  await step('the supervisor sees it answered, live', async () => {
    await supervisor.locator('[data-testid="supervisor-queue"][data-queue="billing"][data-waiting="0"][data-answered="1"]').waitFor();
    await supervisor.locator('[data-testid="supervisor-agent"][data-agent="alice"][data-held="1"]').waitFor();
  });

  await step('alice sees the participant data and dated timestamps', async () => {
    const topic = pane().locator('[data-testid="data-entry"][data-key="topic"]');
    await topic.waitFor();
    const text = await topic.innerText();
    if (!text.includes('billing')) throw new Error(`topic shows ${JSON.stringify(text)}`);
    const stamp = await pane().getByTestId('message-time').first().innerText();
    if (!stamp.includes(String(new Date().getFullYear()))) throw new Error(`a timestamp without a date: ${stamp}`);
  });

  await step("alice sees the customer's photo inline and invoice as a link", async () => {
    const customer = pane().locator('[data-testid="message"][data-author="customer"]').first();
    const img = customer.getByTestId('attachment-image');
    await img.waitFor();
    const src = await img.getAttribute('src');
    if (!src?.endsWith('/broken-box.jpg')) throw new Error(`the photo's src is ${src}`);
    const link = customer.getByTestId('attachment-link').filter({ hasText: 'invoice-88-431.pdf' });
    await link.waitFor();
    const href = await link.getAttribute('href');
    if (!href?.endsWith('/invoice-88-431.pdf')) throw new Error(`the invoice links to ${href}`);
  });

  await step('alice sends a file with her reply; it shows inline and goes out', async () => {
    await pane().getByTestId('reply-text').fill(REPLY);
    await pane().getByTestId('reply-files').setInputFiles({ name: 'label.png', mimeType: 'image/png', buffer: PNG });
    await pane().getByTestId('send').click();
    const sent = pane().locator('[data-testid="message"][data-author="agent"]').filter({ hasText: REPLY }).first();
    const refused = pane().getByTestId('send-error');
    await sent.or(refused).first().waitFor();
    if (await refused.isVisible()) throw new Error(`refused: ${await refused.innerText()}`);
    await sent.getByTestId('attachment-image').waitFor();
    await pane()
      .locator('[data-testid="message"][data-author="agent"][data-status="sent"]')
      .filter({ hasText: REPLY })
      .first()
      .waitFor();
    const loaded = await sent.getByTestId('attachment-image').evaluate((img) => img.complete && img.naturalWidth > 0);
    if (!loaded) throw new Error('the image did not load from the host');
  });

  let bob;
  await step('alice transfers it to bob with a note', async () => {
    bob = await signIn(browser, 'bob', 'agent-view');
    await goAvailable(bob);
    await pane().locator('[data-testid="transfer"] summary').click();
    await pane().getByTestId('transfer-to-agent').check();
    await pane().getByTestId('transfer-agent').fill('bob');
    await pane().getByTestId('transfer-note-input').fill(NOTE);
    await pane().getByTestId('transfer-submit').click();
    const refused = alice.getByTestId('transfer-error');
    await alice.getByTestId('agent-notice').or(refused).first().waitFor();
    if (await refused.isVisible()) throw new Error(`transfer refused: ${await refused.innerText()}`);
  });

  await step('bob is offered it with the note, and the supervisor sees the offer', async () => {
    const offer = bob.locator(`[data-testid="offer"][data-customer-id=${q(customerId)}]`);
    await offer.getByTestId('offer-transfer').filter({ hasText: NOTE }).waitFor();
    await supervisor.locator('[data-testid="supervisor-agent"][data-agent="bob"][data-offered="1"]').waitFor();
    await offer.getByTestId('accept').click();
  });

  await step('bob sees the note, the data and the file', async () => {
    const bobPane = bob.locator(`[data-testid="interaction"][data-customer-id=${q(customerId)}]`);
    await bobPane.getByTestId('transfer-note').filter({ hasText: NOTE }).waitFor();
    await bobPane.locator('[data-testid="data-entry"][data-key="topic"]').waitFor();
    await bobPane.getByTestId('attachment-image').first().waitFor();
    await supervisor.locator('[data-testid="supervisor-agent"][data-agent="bob"][data-held="1"]').waitFor();
  });

  await step("bob opens the customer's earlier interaction", async () => {
    const bobPane = bob.locator(`[data-testid="interaction"][data-customer-id=${q(customerId)}]`);
    const entry = bobPane.getByTestId('history-entry').first();
    await entry.getByTestId('history-open').click();
    await entry.locator('[data-testid="message-text"]').filter({ hasText: earlierText }).waitFor();
  });

  await step('bob finds it by searching', async () => {
    await bob.getByTestId('search-text').fill(searchText);
    await bob.getByTestId('search-submit').click();
    await bob.locator('[data-testid="search-hit"]').filter({ hasText: searchText }).first().waitFor();
  });

  await step("the admin's Live tab shows every queue", async () => {
    const admin = await signIn(browser, 'admin', 'admin-view');
    await admin.getByTestId('admin-tab-live').click();
    await admin.locator('[data-testid="supervisor-board"][data-stream="live"]').waitFor();
    await admin.locator('[data-testid="supervisor-queue"][data-queue="support"]').waitFor();
    await admin.locator('[data-testid="supervisor-agent"][data-agent="bob"][data-held="1"]').waitFor();
  });
}

async function shoot(suffix) {
  for (const [who, page] of Object.entries(pages)) {
    await page.screenshot({ path: `/tmp/switchboard-staff-${who}${suffix}.png`, fullPage: true, timeout: 5000 }).catch(() => {});
  }
}

let browser;
let exitCode = 0;
try {
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox'], headless: true });
  await main(browser);
  await shoot('');
  console.log('PASS the staff console test');
} catch (error) {
  console.error(`FAIL ${currentStep}: ${error instanceof Error ? error.message : error}`);
  for (const [who, page] of Object.entries(pages)) {
    const text = await page.locator('body').innerText({ timeout: 2000 }).catch((e) => `(unreadable: ${e.message})`);
    console.error(`--- ${who} ---\n${text.slice(0, 4000)}`);
  }
  await shoot('-failure');
  if (seen.length) console.error(`--- seen ---\n${seen.join('\n')}`);
  exitCode = 1;
} finally {
  await browser?.close().catch(() => {});
}
process.exit(exitCode);
