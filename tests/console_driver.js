// Drives the web console (docs/console.md) in Debian's headless Chromium
// with puppeteer-core, as a user would: tests/e2e/test_console.py runs it
// and checks what it prints (one JSON object of what each step saw).
//
// node console_driver.js CHROMIUM BASE_URL SHOTS_DIR [TOKEN_BASE_URL TOKEN]
//   BASE_URL: a daemon without --auth (the chamber "keep-1" of function
//   "keep" already running there); TOKEN_BASE_URL: one with --auth tokens.
const puppeteer = require("puppeteer-core");
const path = require("path");

const [chromium, base, shots, tokenBase, token] = process.argv.slice(2);
const WAIT = {timeout: 30000};
const XSS = "<img src=x onerror=alert('xss')><script>alert('xss2')</script>";
const out = {dialogs: [], pageErrors: [], failedRequests: []};

// What the page shows of one element: its text, or null when absent.
const text = (page, sel) => page.$eval(sel, (e) => e.textContent).catch(() => null);
const waitText = (page, sel, want) =>
  page.waitForFunction((s, w) => { const e = document.querySelector(s); return e && e.textContent.includes(w); },
                       WAIT, sel, want);
const waitCount = (page, sel, want, n) =>
  page.waitForFunction((s, w, n) => { const e = document.querySelector(s); return e && e.textContent.split(w).length - 1 >= n; },
                       WAIT, sel, want, n);
// Does anything overflow the window's width (a phone's: 390 px)?
const overflows = (page) => page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);

async function api(method, p, body, headers = {}) {
  const r = await fetch(base + p, {method, body: body && JSON.stringify(body), headers});
  return {status: r.status, text: await r.text()};
}

async function open(browser, url) {
  const page = await browser.newPage();
  await page.setViewport({width: 1280, height: 900});
  page.on("dialog", async (d) => {
    out.dialogs.push(`${d.type()}: ${d.message()}`);
    if (d.type() === "confirm") await d.accept(); else await d.dismiss();
  });
  page.on("pageerror", (e) => out.pageErrors.push(String(e.message || e)));
  page.on("response", (r) => { if (r.status() >= 500) out.failedRequests.push(`${r.status()} ${r.url()}`); });
  await page.goto(url, {waitUntil: "load"});
  return page;
}

async function createThroughTheForm(page, name, code) {
  await page.goto(`${base}/console/#/new`);
  await page.waitForSelector("#create-form", WAIT);
  await page.waitForSelector("#f-runtime option[value='python311']", WAIT);
  await page.$eval("#f-name", (e) => { e.value = ""; });
  await page.type("#f-name", name);
  await page.select("#f-runtime", "python311");
  await page.$eval("#f-handler", (e) => { e.value = "index.handler"; });
  await page.$eval("#f-code", (e, c) => { e.value = c; }, code);
  await page.click("#f-submit");
}

async function main() {
  const browser = await puppeteer.launch({executablePath: chromium, headless: true,
                                          args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]});
  try {
    // 1. The list, empty but for "keep" (the chamber's function).
    const page = await open(browser, `${base}/console/`);
    await page.waitForSelector("#functions tr[data-fn='keep']", WAIT);

    // 2. Create through the form; an invalid name first: refused, said, nothing run.
    await createThroughTheForm(page, XSS, "def handler(e, c):\n    return 1\n");
    await page.waitForFunction(() => document.querySelector("#error") &&
                                      document.querySelector("#error").textContent.length > 0, WAIT);
    out.badNameError = await text(page, "#error");
    const code = "def handler(event, context):\n" +
                 "    print('console says ' + event.get('who', '?'))\n" +
                 `    print(${JSON.stringify(XSS)})\n` +
                 "    return {'hello': event.get('who'), 'html': " + JSON.stringify(XSS) + "}\n";
    await createThroughTheForm(page, "hello", code);
    await waitText(page, "#fn-name", "hello");
    out.heading = await text(page, "#fn-name");
    out.config = await text(page, "#fn-config");

    // 3. Invoke with a JSON payload: the answer, its status, duration and log tail.
    await page.$eval("#payload", (e) => { e.value = '{"who": "console"}'; });
    await page.click("#invoke");
    await waitText(page, "#result-log", "REPORT RequestId");
    out.status = await text(page, "#result-status");
    out.duration = await text(page, "#result-duration");
    out.body = await text(page, "#result-body");
    out.resultLog = await text(page, "#result-log");

    // 4. The log follows: a call made elsewhere shows up in the open page.
    await waitText(page, "#logs", "console says console");
    const r = await api("POST", "/api/v1/functions/hello/invoke", {who: "curl"});
    out.otherCall = r.status;
    await waitCount(page, "#logs", "REPORT RequestId", 2); // (the other call's last line)
    out.logs = await text(page, "#logs");
    out.logsState = await text(page, "#logs-state");

    // 4b. The list, at once (its last minute is the last 60 s): its instances, last call and rate.
    await page.goto(`${base}/console/#/functions`);
    await page.waitForFunction(() => {
      // (refreshed every 5 s: until its instance is idle again after the other call)
      const r = document.querySelector("#functions tr[data-fn='hello']");
      return r && r.querySelector(".rate").textContent.startsWith("2/min") &&
             r.querySelector(".instances").textContent === "1 idle, 0 busy";
    }, WAIT);
    out.row = await page.$eval("#functions tr[data-fn='hello']", (tr) =>
      Object.fromEntries([".name", ".runtime", ".instances", ".last", ".rate"].map(
        (c) => [c, tr.querySelector(c).textContent])));
    await page.screenshot({path: path.join(shots, "functions.png"), fullPage: true});

    await page.goto(`${base}/console/#/fn/hello`);
    await waitCount(page, "#logs", "REPORT RequestId", 2);

    // 5. The chart: one bar a minute, the two lines.
    await page.waitForFunction(() => document.querySelectorAll("#chart rect.bar").length === 60 &&
                                     document.querySelector("#chart polyline.p50") &&
                                     document.querySelector("#chart polyline.p99"), WAIT);
    out.bars = await page.$$eval("#chart rect.bar", (b) => b.length);
    await page.waitForFunction(() => document.querySelectorAll("#instances tbody tr").length > 0, WAIT);
    out.instancesShown = await page.$$eval("#instances tbody tr", (rows) => rows.length);

    // 5b. Edit: a new timeout, through the form.
    await page.$eval("#e-timeout", (e) => { e.value = "12"; });
    await page.click("#e-submit");
    await waitText(page, "#notice", "Saved"); // (it said "Created hello." until then)
    out.editNotice = await text(page, "#notice");
    out.timeoutAfterEdit = JSON.parse((await api("GET", "/api/v1/functions/hello")).text).timeout_s;

    // 7. Nothing of the hostile text became markup; it shows as text.
    await page.goto(`${base}/console/#/functions`);
    await page.waitForSelector("#functions tr[data-fn='hello']", WAIT);
    await page.goto(`${base}/console/#/fn/hello`);
    await waitText(page, "#logs", XSS);
    await page.waitForSelector("#chart circle.dot.p99", WAIT);
    out.injectedOnFunctionPage = await page.evaluate(() =>
      document.querySelectorAll("img[src='x'], body script:not([src])").length);
    await page.screenshot({path: path.join(shots, "function.png"), fullPage: true});

    // 7b. A function's own 401 is its result, not the daemon asking for a token.
    await api("POST", "/api/v1/functions", {name: "deny", runtime: "python311", handler: "index.handler",
      code: "def handler(e, c):\n    return {'statusCode': 401, 'body': 'not you'}\n"});
    await page.goto(`${base}/console/#/fn/deny`);
    await page.waitForSelector("#invoke", WAIT);
    await page.click("#invoke");
    await waitText(page, "#result-body", "not you");
    out.deny = {status: await text(page, "#result-status"),
                tokenFormShown: await page.$eval("#token-form", (f) => !f.hidden)};
    await api("DELETE", "/api/v1/functions/deny");

    // 8. Chambers: the running one, destroyed from the page.
    await page.goto(`${base}/console/#/chambers`);
    await page.waitForSelector("#chambers tr[data-chamber]", WAIT);
    out.chamberRow = await page.$eval("#chambers tr[data-chamber]", (tr) => tr.textContent);
    await page.screenshot({path: path.join(shots, "chambers.png"), fullPage: true});
    await page.click("#chambers tr[data-chamber] .destroy");
    await page.waitForSelector("#no-chambers", WAIT);

    // 9. At a phone's width: nothing wider than the screen, on every page.
    await page.setViewport({width: 390, height: 844, isMobile: true});
    out.phoneOverflow = {};
    for (const [route, sel] of [["#/functions", "#functions tr[data-fn]"], ["#/fn/hello", "#chart rect.bar"],
                                ["#/new", "#create-form"], ["#/chambers", "#no-chambers"]]) {
      await page.goto(`${base}/console/${route}`);
      await page.waitForSelector(sel, WAIT);
      out.phoneOverflow[route] = await overflows(page);
    }
    await page.goto(`${base}/console/#/fn/hello`);
    await waitText(page, "#logs", "console says curl");
    await page.screenshot({path: path.join(shots, "phone-function.png"), fullPage: true});
    await page.setViewport({width: 1280, height: 900});

    // 10. Delete, confirmed: gone from the list and from the API.
    await page.goto(`${base}/console/#/fn/hello`);
    await page.waitForSelector("#delete", WAIT);
    await page.click("#delete");
    await page.waitForFunction(() => location.hash === "#/functions", WAIT);
    await page.waitForSelector("#functions tr[data-fn='keep']", WAIT);
    out.listedAfterDelete = await page.$$eval("#functions tr[data-fn]", (rows) => rows.map((r) => r.dataset.fn));
    out.getAfterDelete = (await api("GET", "/api/v1/functions/hello")).status;

    // 11. Under --auth tokens: the page asks for a token, then works with it.
    if (tokenBase) {
      const tp = await open(browser, `${tokenBase}/console/`);
      await tp.waitForSelector("#token-form", {visible: true, ...WAIT});
      await tp.type("#token-input", token);
      await tp.click("#token-submit");
      await tp.waitForSelector("#functions tr[data-fn='guarded']", WAIT);
      out.tokenList = await tp.$$eval("#functions tr[data-fn]", (rows) => rows.map((r) => r.dataset.fn));
      out.tokenKept = await tp.evaluate(() => sessionStorage.getItem("impuls-token") !== null);
      await tp.screenshot({path: path.join(shots, "token.png"), fullPage: true});
    }
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e && e.stack || e);
  console.error(JSON.stringify(out));
  process.exit(1);
});
