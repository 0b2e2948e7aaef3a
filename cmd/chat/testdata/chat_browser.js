// Drives the chat page in headless Chromium with playwright-core, for browser_test.go:
//
//   NODE_PATH=<node_modules> CHAT_CHROMIUM=<chromium binary> CHAT_LONG_TEXT=<text> node chat_browser.js <page URL> [screenshot.png]
//
// alice and bob join in two browser contexts, alice says hello, bob says CHAT_LONG_TEXT (long
// enough for the server to compress it), bob leaves (his page closes). bob opens the page at
// CHAT_BOB_URL if set (the same server through a relay, say), else at the page URL. Every wait is
// bounded. On success it prints one JSON object on stdout: the message texts each page showed at
// each step, alice's page protocol, and each page's WebSocket URL and negotiated extensions. On
// failure it prints the error and both pages' messages on stderr and exits 1.
//
// For an https:// page with a test certificate, CHAT_CERT_SPKI holds the base64 SHA-256 of the
// certificate's public key (SubjectPublicKeyInfo): Chromium accepts that key alone
// (--ignore-certificate-errors-spki-list), for the page and its wss:// connection alike.
'use strict';
const { chromium } = require('playwright-core');

const url = process.argv[2];
const screenshot = process.argv[3] || '';
const bobURL = process.env.CHAT_BOB_URL || url;
const longText = process.env.CHAT_LONG_TEXT;
if (!longText) throw new Error('CHAT_LONG_TEXT is not set');
const timeout = 5000; // every single wait
const spki = process.env.CHAT_CERT_SPKI || '';
const chromiumPath = process.env.CHAT_CHROMIUM;
if (!chromiumPath) throw new Error('CHAT_CHROMIUM names no Chromium binary');

async function messages(page) {
  return page.$$eval('#messages > div', divs => divs.map(d => d.textContent));
}

async function waitMessage(page, text) {
  await page.waitForFunction(
    t => Array.from(document.querySelectorAll('#messages > div'), d => d.textContent).includes(t),
    text, { timeout });
}

async function join(browser, nick, pageURL) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  await page.goto(pageURL, { timeout });
  await page.fill('#nickname', nick);
  await page.click('#join button');
  await waitMessage(page, nick + ' entered');
  return { context, page };
}

async function main() {
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ...(spki ? ['--ignore-certificate-errors-spki-list=' + spki] : [])],
    timeout: 15000,
  });
  const out = {};
  let alice, bob;
  try {
    alice = await join(browser, 'alice', url);
    bob = await join(browser, 'bob', bobURL);
    await waitMessage(alice.page, 'bob entered');

    await alice.page.fill('#text', 'hello');
    await alice.page.press('#text', 'Enter');
    await waitMessage(bob.page, '[alice] hello');
    await waitMessage(alice.page, '[alice] hello');
    await bob.page.fill('#text', longText);
    await bob.page.press('#text', 'Enter');
    await waitMessage(alice.page, '[bob] ' + longText);
    await waitMessage(bob.page, '[bob] ' + longText);
    out.aliceBeforeLeave = await messages(alice.page);
    out.bob = await messages(bob.page);
    out.bobStatus = await bob.page.textContent('#status');
    // After joining, the nickname form is gone and the message form is shown.
    out.formsAfterJoin = [await alice.page.isVisible('#join'), await alice.page.isVisible('#send')];
    out.textCleared = (await alice.page.inputValue('#text')) === '';
    out.pageProtocol = await alice.page.evaluate(() => location.protocol);
    // The page's top-level let socket: its URL and the extensions the server accepted.
    const socketOf = page => page.evaluate(() => ({ url: socket.url, extensions: socket.extensions }));
    out.aliceSocket = await socketOf(alice.page);
    out.bobSocket = await socketOf(bob.page);

    await bob.context.close();
    bob = null;
    await waitMessage(alice.page, 'bob left');
    out.alice = await messages(alice.page);
    if (screenshot) await alice.page.screenshot({ path: screenshot, fullPage: true, timeout });
    console.log(JSON.stringify(out));
  } catch (err) {
    for (const [name, who] of [['alice', alice], ['bob', bob]]) {
      if (who) out[name] = await messages(who.page).catch(e => String(e));
    }
    console.error(String(err && err.stack || err));
    console.error('messages so far: ' + JSON.stringify(out));
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

main().catch(err => { console.error(String(err && err.stack || err)); process.exit(1); });
