// Drives the reader study page (study.html) in a real headless Chromium (or Firefox) like a reader would:
// pick a reader, go through the calibration examples, answer images by keyboard and by mouse,
// zoom, reload the page (answers must survive through localStorage), export the ratings (the
// download is captured) and fail on any console error or page error.
//
//   node reader_study_page.mjs --chromium /usr/bin/chromium --study STUDY_DIR --reader alice \
//        --downloads DIR [--screenshots DIR] [--firefox /usr/bin/firefox-esr]
// Prints one JSON line with what it saw; exit 0 when every check passed, 1 otherwise.
// Used by tests/readerstudy/test_reader_page_chromium.cpp (ctest) and, with --screenshots, to
// refresh the screenshots in docs/images/.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import puppeteer from "puppeteer-core";

function arg(name, fallback) {
  const i = process.argv.indexOf("--" + name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const chromium = arg("chromium", "/usr/bin/chromium");
// --firefox PATH drives Firefox instead (WebDriver BiDi; downloads go to --downloads by profile
// preferences, as the DevTools download call below is Chromium's).
const firefox = arg("firefox", "");
const studyDir = path.resolve(arg("study"));
const reader = arg("reader", "alice");
const downloads = path.resolve(arg("downloads"));
const shots = arg("screenshots", "");

const problems = [];
function check(cond, what) {
  if (!cond) problems.push(what);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const seen = {};
const profile = fs.mkdtempSync(path.join(os.tmpdir(), "medsyn-reader-profile-"));
const browser = firefox
  ? await puppeteer.launch({
      browser: "firefox",
      executablePath: firefox,
      headless: true,
      userDataDir: profile,
      extraPrefsFirefox: {
        "browser.download.dir": downloads,
        "browser.download.folderList": 2,
        "browser.download.useDownloadDir": true,
        "browser.download.always_ask_before_handling_new_types": false,
        "browser.helperApps.neverAsk.saveToDisk": "application/json",
        "browser.download.alwaysOpenPanel": false,
      },
    })
  : await puppeteer.launch({
      executablePath: chromium,
      headless: true,
      userDataDir: profile,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--disable-extensions"],
    });
seen.browser = await browser.version();
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1366, height: 768 });
  const consoleErrors = [];
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") consoleErrors.push(m.type() + ": " + m.text()); });
  page.on("pageerror", (e) => consoleErrors.push("pageerror: " + e.message));
  page.on("requestfailed", (r) => consoleErrors.push("requestfailed: " + r.url().slice(0, 80)));
  // Nothing may be fetched from the network: every request is a data: URI or the file itself.
  page.on("request", (r) => {
    const u = r.url();
    if (!u.startsWith("data:") && !u.startsWith("file:") && !u.startsWith("blob:")) consoleErrors.push("network request: " + u);
  });
  if (!firefox) {
    const cdp = await page.createCDPSession();
    await cdp.send("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: downloads, eventsEnabled: true });
  }

  const url = "file://" + path.join(studyDir, "study.html");
  await page.goto(url, { waitUntil: "load" });
  const text = async (sel) => page.$eval(sel, (e) => e.textContent.trim());
  const visible = async (sel) => page.$eval(sel, (e) => !e.classList.contains("hidden") && e.offsetParent !== null);
  const pressed = async (q, v) => page.$eval(`.choices[data-q="${q}"] .choice[data-v="${v}"]`, (e) => e.getAttribute("aria-pressed"));

  if (shots) await page.screenshot({ path: path.join(shots, "reader-study-start.png") });
  await page.select("#reader", reader);
  await page.click("#begin");
  // Calibration examples, when the study has them: labelled, not rated.
  if (await visible("#calintro")) {
    await page.click("#calbegin");
    seen.calibration = [];
    for (let i = 0; i < 100 && !(await page.$eval("#calbadge", (e) => e.classList.contains("hidden"))); i++) {
      seen.calibration.push(await text("#calsource"));
      if (shots && i === 0) await page.screenshot({ path: path.join(shots, "reader-study-calibration.png") });
      await page.keyboard.press("ArrowRight");
    }
  }
  check(await visible("#rate"), "the rating view is shown after Start");
  const progress0 = await text("#progress");
  seen.progress_first = progress0;
  const total = Number(progress0.split("/")[1]);
  check(progress0 === "1 / " + total && total > 3, "progress reads 1 / N, got " + progress0);
  const promptShown = await visible("#promptbox");

  // Image 1 by keyboard.
  await page.keyboard.press("4");
  await page.keyboard.press("s");
  if (promptShown) await page.keyboard.press("y");
  check((await pressed("realism", "4")) === "true", "key 4 selects realism 4");
  check((await pressed("real_or_synthetic", "S")) === "true", "key S selects synthetic");
  // Zoom in and back to fit.
  await page.keyboard.press("+");
  check((await text("#zoomlabel")) !== "fit", "+ zooms in");
  await page.click("#zoomfit");
  check((await text("#zoomlabel")) === "fit", "Fit returns to fit");
  if (shots) await page.screenshot({ path: path.join(shots, "reader-study-page.png") });
  await sleep(30);  // a measurable time on the image
  await page.keyboard.press("ArrowRight");
  check((await text("#progress")) === "2 / " + total, "ArrowRight goes to image 2");

  // Image 2 by mouse.
  const promptShown2 = await visible("#promptbox");
  await page.click('.choices[data-q="realism"] .choice[data-v="2"]');
  await page.click('.choices[data-q="real_or_synthetic"] .choice[data-v="R"]');
  if (promptShown2) await page.click('.choices[data-q="prompt_match"] .choice[data-v="N"]');
  check((await pressed("realism", "2")) === "true", "a click selects realism 2");
  await page.click("#next");

  // Image 3: keyboard, one question only (a partial answer), then forward to image 4.
  await page.keyboard.press("5");
  await page.keyboard.press("Enter");
  check((await text("#progress")) === "4 / " + total, "Enter goes to the next image");

  // Reload: the page resumes at image 4 with the answers kept.
  await page.reload({ waitUntil: "load" });
  check(await visible("#rate"), "after a reload the page resumes the rating view");
  seen.progress_after_reload = await text("#progress");
  check(seen.progress_after_reload === "4 / " + total, "after a reload the page resumes at image 4, got " + seen.progress_after_reload);
  await page.keyboard.press("ArrowLeft");
  await page.keyboard.press("ArrowLeft");
  await page.keyboard.press("ArrowLeft");
  check((await text("#progress")) === "1 / " + total, "ArrowLeft goes back to image 1");
  check((await pressed("realism", "4")) === "true", "image 1's realism answer survived the reload");
  check((await pressed("real_or_synthetic", "S")) === "true", "image 1's real/synthetic answer survived the reload");
  await page.keyboard.press("ArrowRight");
  check((await pressed("real_or_synthetic", "R")) === "true", "image 2's answer survived the reload");

  // Export: the download is a file ratings-<reader>.json.
  const file = path.join(downloads, "ratings-" + reader + ".json");
  await page.click("#export");
  for (let i = 0; i < 100 && !fs.existsSync(file); i++) await sleep(100);
  check(fs.existsSync(file), "the export downloaded " + file);
  if (fs.existsSync(file)) {
    await sleep(200);
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    seen.export = { reader: r.reader, study: r.study, answers: r.answers.length, n_complete: r.n_complete };
    check(r.format === "medsynbench-reader-ratings/1", "export format");
    check(r.reader === reader, "export reader");
    check(r.answers.length === 3, "three images answered, got " + r.answers.length);
    check(r.answers[0].realism === 4 && r.answers[0].real_or_synthetic === "S", "image 1 exported as answered");
    check(r.answers[1].realism === 2 && r.answers[1].real_or_synthetic === "R", "image 2 exported as answered");
    check(r.answers[2].realism === 5 && r.answers[2].real_or_synthetic === null, "image 3 exported as partial");
    check(r.answers[0].time_ms >= 20, "time on image 1 recorded, got " + r.answers[0].time_ms);
  }
  seen.console = consoleErrors;
  check(consoleErrors.length === 0, "console errors: " + consoleErrors.join(" | "));
} catch (e) {
  problems.push("exception: " + (e && e.stack ? e.stack : e));
} finally {
  await browser.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify({ ok: problems.length === 0, problems, seen }));
process.exit(problems.length === 0 ? 0 : 1);
