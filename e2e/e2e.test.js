// Browser end-to-end test of the Enovates integration, run by scripts/test-e2e (which starts a fresh Home Assistant
// and the simulator on 127.0.0.1 and passes their addresses in E2E_* variables). Playwright (playwright-core, no
// browser download) drives Debian's Chromium, headless, through what a user does: onboarding, adding the charger
// through the config flow (a wrong port first), the device page, the EMS limit slider, the
// enovates.set_current_limit action (over the REST API), a second, dual-port charger told apart from the first (its
// name, its ports under it, the action's device picker), the suggested dashboard, and smart charging in the
// simulator's home: Home Assistant's DSMR integration set up on the home's P1 meter, the meter's sensors picked in
// the charger's options, Solar chosen on the device page (the car takes the surplus), a peak limit set.
// Values in the UI are compared with the simulator's registers, read directly over Modbus TCP (modbus.js), and with
// the meter's sensors.
// The steps depend on each other and run in order; after a failure the rest are skipped. Every step saves a
// screenshot to E2E_ARTIFACTS/NN-step.png.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { readCharger } from './modbus.js';

const REPO = path.resolve(import.meta.dirname, '..');
const HA_URL = required('E2E_HA_URL');
const SIM = { host: '127.0.0.1', port: Number(required('E2E_SIM_PORT')) };
const SIM2 = { host: '127.0.0.1', port: Number(required('E2E_SIM2_PORT')) };
const P1_PORT = Number(required('E2E_P1_PORT')); // the home's meter around the first simulator's charger
const CLOSED_PORT = required('E2E_CLOSED_PORT');
const ARTIFACTS = required('E2E_ARTIFACTS');
const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';
const HA_LOG = required('E2E_HA_LOG');

const translations = readJson('custom_components/enovates/translations/en.json');
const USER = { name: 'E2E Tester', username: 'e2e', password: 'e2e-password-not-secret' };
const ENTITY = {
  power: 'sensor.eno_one_0001_power',
  energy: 'sensor.eno_one_0001_energy_imported',
  currentOffered: 'sensor.eno_one_0001_current_offered',
  mode3: 'sensor.eno_one_0001_mode_3_state',
  emsLimit: 'number.eno_one_0001_ems_current_limit',
  mode: 'select.eno_one_0001_charging_mode',
  reason: 'sensor.eno_one_0001_smart_charging',
  peakLimit: 'number.eno_one_0001_peak_limit',
  quarter: 'sensor.eno_one_0001_quarter_hour_average_import',
  // Home Assistant's DSMR integration: its device "Electricity Meter", the power sensors in kW.
  meterImport: 'sensor.electricity_meter_power_consumption',
  meterExport: 'sensor.electricity_meter_power_production',
  // The Belgian meter's own quarter-hour average import (1-0:1.4.0), in kW: the peak guard goes by it.
  meterQuarter: 'sensor.electricity_meter_current_average_demand',
};
const EMS_LIMIT_A = 10;
const PEAK_LIMIT_KW = 5;
// One ampere more or less of a car charging on three phases: how close to 0 Solar can bring the export.
const WATTS_PER_AMP = 3 * 230;

let context;
let page;
let shots = 0;
let failed = false;
const blocked = new Set();
const consoleLines = [];

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through scripts/test-e2e`);
  return value;
}

function readJson(relative) {
  return JSON.parse(fs.readFileSync(path.join(REPO, relative), 'utf8'));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function screenshot(name, options = {}) {
  shots += 1;
  const file = path.join(ARTIFACTS, `${String(shots).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, animations: 'disabled', ...options });
  return file;
}

// A step of the scenario: skipped once an earlier one failed; a screenshot is taken at its end, or on failure.
function step(name, fn, timeout = 90_000) {
  test(name, { timeout }, async (t) => {
    if (failed) {
      t.skip('an earlier step failed');
      return;
    }
    try {
      await fn();
    } catch (error) {
      failed = true;
      await screenshot(`${name}-FAILED`, { fullPage: true }).catch(() => {});
      throw error;
    }
  });
}

// Parse a state as the frontend shows it in English: "10,992 W", "0.52 kWh", "32.0 A".
function shownNumber(text) {
  const match = /(-?[\d,]+(?:\.\d+)?)\s*(k?)(W|Wh|A)?\b/.exec(text.trim());
  assert.ok(match, `no number in ${JSON.stringify(text)}`);
  return Number(match[1].replaceAll(',', '')) * (match[2] === 'k' ? 1000 : 1);
}

// The state text of the device page row named `name` (the row's name is in its shadow root, the state in light DOM).
async function deviceRow(name) {
  const row = page
    .locator('ha-device-entities-card hui-generic-entity-row')
    .filter({ has: page.getByText(name, { exact: true }) });
  return (await row.first().innerText()).trim();
}

// Home Assistant's REST API as the onboarded user; returns the parsed body, after checking the status.
async function haApi(method, urlPath, body, status = 200) {
  const response = await fetch(`${HA_URL}${urlPath}`, {
    method,
    headers: { Authorization: `Bearer ${await accessToken()}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.equal(response.status, status, `${method} ${urlPath}: ${text}`);
  return response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
}

// Go to a page of the frontend as its own links do, without reloading: a reload closes the websocket while Home
// Assistant may be writing to it, which it logs as an error.
async function navigate(urlPath) {
  await page.evaluate((target) => {
    history.pushState(null, '', target);
    window.dispatchEvent(new CustomEvent('location-changed', { detail: { replace: false } }));
  }, urlPath);
  await page.waitForURL((url) => url.pathname === urlPath, { waitUntil: 'commit' });
}

async function accessToken() {
  return page.evaluate(() => JSON.parse(localStorage.getItem('hassTokens')).access_token);
}

// The state of an entity that may not exist yet (null then).
async function stateOrNull(entityId) {
  const response = await fetch(`${HA_URL}/api/states/${entityId}`, { headers: { Authorization: `Bearer ${await accessToken()}` } });
  if (response.status === 404) return null;
  assert.equal(response.status, 200, `GET /api/states/${entityId}`);
  return response.json();
}

async function haState(entityId) {
  return haApi('GET', `/api/states/${entityId}`);
}

// The simulator's values move every second while the car charges: read the shown value between two reads of the
// registers and accept it within `tolerance` of that window; retry until `timeoutMs` (the UI follows within ~1 s).
async function expectNear(label, shown, fromSimulator, tolerance, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const before = fromSimulator(await readCharger(SIM));
    const value = await shown();
    const after = fromSimulator(await readCharger(SIM));
    const low = Math.min(before, after) - tolerance;
    const high = Math.max(before, after) + tolerance;
    if (value >= low && value <= high) return value;
    if (Date.now() > deadline) {
      assert.fail(`${label}: shown ${value}, simulator ${before}..${after} (tolerance ${tolerance})`);
    }
    await sleep(500);
  }
}

async function expectEqual(label, shown, expected, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [value, want] = [await shown(), await expected()];
    if (value === want) return value;
    if (Date.now() > deadline) assert.fail(`${label}: shown ${JSON.stringify(value)}, expected ${JSON.stringify(want)}`);
    await sleep(500);
  }
}

async function until(label, condition, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await condition();
    if (last === true) return;
    if (Date.now() > deadline) assert.fail(`${label}: still ${JSON.stringify(last)} after ${timeoutMs} ms`);
    await sleep(250);
  }
}

// Move a number entity's slider to `target` with the arrow keys, one step (1 A) a key, as a keyboard user does:
// from the maximum down, every value on the way is a valid limit (>= 6 A). Each key press writes the value; the
// next key waits until the entity's state has caught up, or a state update that is still on its way would move the
// slider back under the keys.
async function setSliderWithKeys(slider, entityId, target, timeoutMs = 45_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = Number(await slider.getAttribute('aria-valuenow'));
    const state = Number((await haState(entityId)).state);
    if (value === target && state === target) return;
    if (Date.now() > deadline) assert.fail(`slider at ${value}, ${entityId} at ${state}, not ${target}`);
    if (value !== state) {
      await sleep(100);
      continue;
    }
    await slider.press(value > target ? 'ArrowLeft' : 'ArrowRight');
  }
}

// A sensor's state as a number (it must be one).
async function numericState(entityId) {
  const state = (await haState(entityId)).state;
  const value = Number(state);
  assert.ok(state !== '' && Number.isFinite(value), `${entityId} is ${JSON.stringify(state)}`);
  return value;
}

// The meter's import and export power (kW) as its sensors show them, or null while they show none.
async function meterReading() {
  const [imported, exported] = [await stateOrNull(ENTITY.meterImport), await stateOrNull(ENTITY.meterExport)];
  const values = [imported?.state, exported?.state].map((state) => (state === undefined || state === '' ? NaN : Number(state)));
  return values.every(Number.isFinite) ? { importKw: values[0], exportKw: values[1] } : null;
}

// The grid power the meter's sensors show now, in W, import positive.
async function meterGridW() {
  return ((await numericState(ENTITY.meterImport)) - (await numericState(ENTITY.meterExport))) * 1000;
}

// Close a flow's closing message ("Finish"), and wait until it is gone: the frontend navigates on its own meanwhile.
async function closeSuccess(text) {
  const message = page.getByText(text);
  await message.waitFor();
  await page.getByRole('button', { name: 'Finish' }).click();
  await message.waitFor({ state: 'detached' });
}

async function chargerDevicePage() {
  const deviceId = await haApi('POST', '/api/template', { template: `{{ device_id('${ENTITY.power}') }}` });
  await navigate(`/config/devices/device/${deviceId}`);
  await page.getByText('SIM0000000001').first().waitFor();
}

// What the device page must show for the simulator's current registers.
async function checkDevicePage() {
  const mode3Names = translations.entity.sensor.mode3_state.state;
  await expectNear('Power (W)', async () => shownNumber(await deviceRow('Power')), (c) => c.powerW, 100);
  await expectNear('Energy imported (Wh)', async () => shownNumber(await deviceRow('Energy imported')), (c) => c.energyWh, 12);
  await expectNear('Current offered (A)', async () => shownNumber(await deviceRow('Current offered')), (c) => c.currentOfferedA, 0);
  await expectEqual(
    'Mode 3 state',
    () => deviceRow('Mode 3 state'),
    async () => mode3Names[(await readCharger(SIM)).mode3.toLowerCase()],
  );
  // Home Assistant's states (REST API) agree with the simulator too.
  await expectNear('power state', async () => Number((await haState(ENTITY.power)).state), (c) => c.powerW, 100);
  await expectNear('energy state', async () => Number((await haState(ENTITY.energy)).state) * 1000, (c) => c.energyWh, 12);
  await expectNear('current offered state', async () => Number((await haState(ENTITY.currentOffered)).state), (c) => c.currentOfferedA, 0);
  await expectEqual('Mode 3 state', async () => (await haState(ENTITY.mode3)).state, async () => (await readCharger(SIM)).mode3.toLowerCase());
}

before(async () => {
  const userDataDir = process.env.E2E_USER_DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'enovates-e2e-chromium-'));
  fs.mkdirSync(userDataDir, { recursive: true });
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    locale: 'en-US',
    timezoneId: 'Europe/Brussels',
    viewport: { width: 1280, height: 900 },
    timeout: 60_000,
  });
  // Loopback only: anything else the page asks for is refused (and listed in blocked-requests.txt).
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) || !url.protocol.startsWith('http')) {
      return route.continue();
    }
    blocked.add(url.href);
    return route.abort('blockedbyclient');
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  page.setDefaultNavigationTimeout(60_000);
  page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => consoleLines.push(`pageerror: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 400) consoleLines.push(`http ${response.status()}: ${response.url()}`);
  });
});

after(async () => {
  fs.writeFileSync(path.join(ARTIFACTS, 'browser-console.txt'), consoleLines.join('\n') + '\n');
  fs.writeFileSync(path.join(ARTIFACTS, 'blocked-requests.txt'), [...blocked].join('\n') + '\n');
  await context?.close();
});

test('the README shows docs/dashboard-card.yaml as the suggested dashboard', () => {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const card = fs.readFileSync(path.join(REPO, 'docs/dashboard-card.yaml'), 'utf8');
  const block = /<!-- docs\/dashboard-card\.yaml -->\n```yaml\n([\s\S]*?)```\n/.exec(readme);
  assert.ok(block, 'README.md has no ```yaml block after <!-- docs/dashboard-card.yaml -->');
  assert.equal(block[1], card, 'the README block differs from docs/dashboard-card.yaml');
});

step('onboarding', async () => {
  await page.goto(HA_URL);
  const start = page.getByRole('button', { name: 'Create my smart home' });
  await start.waitFor({ timeout: 60_000 });
  await screenshot('welcome');
  await start.click();

  await page.locator('input[name=name]').fill(USER.name);
  await page.locator('input[name=username]').fill(USER.username);
  await page.locator('input[name=password]').fill(USER.password);
  await page.locator('input[name=password_confirm]').fill(USER.password);
  await screenshot('create-user');
  await page.getByRole('button', { name: 'Create account' }).click();

  await page.getByText('Home location').first().waitFor();
  await screenshot('home-location');
  await page.getByRole('button', { name: 'Next' }).click();

  await page.getByText('know the country your home is in').first().waitFor();
  await page.getByText('United States').click();
  await page.getByPlaceholder('Search').fill('Belgium');
  await page.getByRole('option', { name: /Belgium/ }).click();
  await screenshot('country');
  await page.getByRole('button', { name: 'Next' }).click();

  await page.getByText('Help us help you').first().waitFor(); // analytics left off
  await screenshot('analytics');
  await page.getByRole('button', { name: 'Next' }).click();

  await page.getByText('All set!').first().waitFor();
  await page.getByRole('button', { name: 'Finish' }).click();
  await page.waitForURL((url) => !url.pathname.includes('onboarding'));
  await page.getByText(`Welcome ${USER.name}`).first().waitFor();
  await screenshot('overview');
});

step('add the charger through the config flow: the wrong port first, then the simulator', async () => {
  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByText('Devices & services').first().click();
  await page.waitForURL(/\/config\/integrations/);
  await page.getByRole('button', { name: 'Add integration' }).click();
  await page.getByPlaceholder('Search for a brand name').fill('Enovates');
  await screenshot('add-integration');
  await page.getByText('Enovates', { exact: true }).click();

  const userStep = translations.config.step.user;
  await page.getByText(userStep.title).first().waitFor();
  await page.getByRole('textbox', { name: /Host/ }).fill('127.0.0.1');
  await page.getByRole('spinbutton', { name: /Port/ }).fill(CLOSED_PORT);
  const ems = page.getByRole('switch', { name: userStep.data.ems_control });
  // The switch's visible track covers the input: click it where a user would.
  await ems.check({ force: true });
  assert.equal(await ems.isChecked(), true);
  await screenshot('config-form-wrong-port');
  await page.getByRole('button', { name: 'Submit' }).click();
  await page.getByText(translations.config.error.cannot_connect).first().waitFor();
  await screenshot('cannot-connect');

  await page.getByRole('spinbutton', { name: /Port/ }).fill(String(SIM.port));
  await page.getByRole('button', { name: 'Submit' }).click();
  const finish = page.getByRole('button', { name: 'Skip and finish' });
  await finish.waitFor();
  await page.getByText('Enovates NV').first().waitFor(); // the device the entry created, from the charger's registers
  await screenshot('created');
  await finish.click();
  await finish.waitFor({ state: 'detached' });
});

step('the device page shows the simulator\'s power, energy, current offered and Mode 3 state', async () => {
  await page.getByText('1 device').click();
  await page.waitForURL(/\/config\/devices\/device\//);
  await page.getByText('SIM0000000001').first().waitFor();
  await page.setViewportSize({ width: 1280, height: 1250 });
  await checkDevicePage();
  await screenshot('device-page');
});

step('Home Assistant serves the integration\'s own brand images, and the device page shows them', async () => {
  for (const image of ['icon.png', 'logo.png', 'dark_icon@2x.png']) {
    const response = await fetch(`${HA_URL}/api/brands/integration/enovates/${image}`, {
      headers: { Authorization: `Bearer ${await accessToken()}` },
    });
    assert.equal(response.status, 200, image);
    const served = Buffer.from(await response.arrayBuffer());
    assert.ok(served.equals(fs.readFileSync(path.join(REPO, 'custom_components/enovates/brand', image))), `${image} differs`);
  }
  // The device page shows the logo in its header and the icon beside the integration's name, both loaded.
  const images = page.locator('img[src*="/api/brands/integration/enovates/"]');
  await images.first().waitFor();
  const shown = async () => (await images.evaluateAll((all) => all.filter((img) => img.complete && img.naturalWidth > 0).map((img) => new URL(img.src).pathname.split('/').pop()))).sort();
  await until('brand images loaded on the device page', async () => {
    const names = await shown();
    return (names.some((name) => name.includes('logo')) && names.some((name) => name.includes('icon'))) || names;
  });
  await screenshot('device-page-brand', { clip: { x: 256, y: 56, width: 1024, height: 320 } });
});

step(`set the EMS limit to ${EMS_LIMIT_A} A with the number's slider: the simulator's register follows`, async () => {
  const before = await readCharger(SIM);
  assert.equal(before.emsLimitA, null, 'the simulator starts without an EMS limit');
  assert.equal(before.currentOfferedA, 32);

  await page.locator('ha-device-entities-card').getByText('EMS current limit', { exact: true }).click();
  const dialog = page.locator('ha-more-info-dialog');
  const slider = dialog.getByRole('slider');
  await slider.waitFor();
  const start = Number(await slider.getAttribute('aria-valuenow'));
  assert.equal(start, 32, 'no limit shows as the charger maximum');
  await setSliderWithKeys(slider, ENTITY.emsLimit, EMS_LIMIT_A);
  await until('simulator EMS limit register (A)', async () => (await readCharger(SIM)).emsLimitA === EMS_LIMIT_A || (await readCharger(SIM)).emsLimitA);
  await dialog.getByText(`${EMS_LIMIT_A} A`).first().waitFor();
  await screenshot('ems-limit-set');
  await until('number state', async () => Number((await haState(ENTITY.emsLimit)).state) === EMS_LIMIT_A || (await haState(ENTITY.emsLimit)).state);

  await page.keyboard.press('Escape');
  await dialog.getByRole('slider').waitFor({ state: 'hidden' });
  // The charger now offers the limit, and the page follows it.
  assert.equal((await readCharger(SIM)).currentOfferedA, EMS_LIMIT_A);
  await checkDevicePage();
  await screenshot('device-page-limited', { fullPage: true });
});

step('the enovates.set_current_limit action: a limit for a few seconds, then the one before; a translated error', async () => {
  const services = await haApi('GET', '/api/services');
  const enovates = services.find((entry) => entry.domain === 'enovates');
  assert.ok(enovates, 'no enovates actions registered');
  assert.deepEqual(Object.keys(enovates.services), ['set_current_limit']);
  assert.deepEqual(Object.keys(enovates.services.set_current_limit.fields).sort(), ['current', 'device_id', 'duration']);

  const deviceId = await haApi('POST', '/api/template', { template: `{{ device_id('${ENTITY.emsLimit}') }}` });
  assert.match(deviceId, /^[0-9a-f]{32}$/);
  const boostA = 16;
  await haApi('POST', '/api/services/enovates/set_current_limit', { device_id: deviceId, current: boostA, duration: '00:00:05' });
  assert.equal((await readCharger(SIM)).emsLimitA, boostA, 'the action returns once the charger has the limit');
  await until('number state', async () => Number((await haState(ENTITY.emsLimit)).state) === boostA || (await haState(ENTITY.emsLimit)).state);
  // The slider's limit from before comes back on its own once the duration is over.
  await until('simulator EMS limit register (A) after the duration', async () => (await readCharger(SIM)).emsLimitA === EMS_LIMIT_A || (await readCharger(SIM)).emsLimitA);
  await until('number state after the duration', async () => Number((await haState(ENTITY.emsLimit)).state) === EMS_LIMIT_A || (await haState(ENTITY.emsLimit)).state);

  // Out of range: refused before anything is written, with the translated message.
  const refused = await haApi('POST', '/api/services/enovates/set_current_limit', { device_id: deviceId, current: 4 }, 400);
  const expected = translations.exceptions.ems_limit_below_minimum.message.replace('{value}', '4').replace('{minimum}', '6');
  assert.equal(refused.message, expected);
  assert.equal((await readCharger(SIM)).emsLimitA, EMS_LIMIT_A);
});

step('a second charger, dual port: a name of its own, its ports under it, the action picker offers what it takes', async () => {
  // Added as the first one was, through the config flow (here over Home Assistant's flow API).
  const flow = await haApi('POST', '/api/config/config_entries/flow', { handler: 'enovates', show_advanced_options: false });
  const created = await haApi('POST', `/api/config/config_entries/flow/${flow.flow_id}`, {
    host: '127.0.0.1',
    port: SIM2.port,
    dual_port: true,
    ems_control: true,
  });
  assert.equal(created.type, 'create_entry');
  assert.equal(created.title, 'ENO one 0479');

  // The integration page lists both chargers, each by its own name.
  await navigate(`/config/integrations/integration/enovates`);
  await page.getByText('ENO one 0001', { exact: true }).first().waitFor();
  await page.getByText('ENO one 0479', { exact: true }).first().waitFor();
  await screenshot('two-chargers');

  // Each port's entities carry their charger's name, and its device sits under the charger.
  for (const port of [1, 2]) {
    const entityId = `sensor.eno_one_0479_port_${port}_power`;
    await until(`${entityId} has a value`, async () => !['unavailable', 'unknown'].includes((await haState(entityId)).state) || (await haState(entityId)).state);
    const device = await haApi('POST', '/api/template', {
      template: `{{ device_attr(device_id('${entityId}'), 'name') }} of {{ device_attr(device_attr(device_id('${entityId}'), 'via_device_id') or device_attr(device_id('${entityId}'), 'parent_device_id'), 'name') }}`,
    });
    assert.equal(device, `Port ${port} of ENO one 0479`);
  }
  await navigate(`/config/devices/dashboard`);
  await page.getByText('ENO one 0479', { exact: true }).first().waitFor();
  // the ports are listed under their charger
  await until('two ports listed as part of ENO one 0479', async () => (await page.getByText('Part of ENO one 0479').count()) === 2 || (await page.getByText('Part of ENO one 0479').count()));
  await page.setViewportSize({ width: 1280, height: 1250 });
  await screenshot('device-list', { fullPage: true });
  const portOne = await haApi('POST', '/api/template', { template: "{{ device_id('sensor.eno_one_0479_port_1_power') }}" });
  await navigate(`/config/devices/device/${portOne}`);
  await page.getByText('Power', { exact: true }).first().waitFor();
  await page.getByRole('link', { name: 'ENO one 0479' }).first().waitFor(); // "Part of ENO one 0479"
  await screenshot('port-device-page', { fullPage: true });

  // The action's device picker.
  await page.setViewportSize({ width: 1280, height: 900 });
  await navigate(`/developer-tools/action`);
  const picker = page.locator('ha-service-picker');
  await picker.click();
  const search = picker.locator('input').first();
  await search.fill('Set current limit');
  await page.getByText('Set current limit', { exact: true }).first().click();
  await page.getByText('Select a device', { exact: true }).first().click();
  await page.locator('ha-device-picker ha-combo-box-item').filter({ hasText: 'Port 2' }).first().waitFor();
  await screenshot('device-picker');
  // Every charger with EMS control and every port of one, each once; the action accepts them all (a dual-port
  // charger's own device gives the limit to each of its ports).
  const items = page.locator('ha-device-picker ha-combo-box-item');
  const offered = [...new Set((await items.allTextContents()).map((text) => text.replace(/\s+/g, ' ').trim()))];
  assert.deepEqual(offered.filter((text) => text !== 'Select a device').sort(), [
    'ENO one 0001 Enovates',
    'ENO one 0479 Enovates',
    'Port 1 Enovates',
    'Port 2 Enovates',
  ]);
  await page.keyboard.press('Escape');
  await navigate('/config/devices/dashboard'); // away from the picker, for the next step's sidebar link
});

step('the suggested dashboard renders the charger card', async () => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.getByRole('link', { name: 'Charger' }).click();
  await page.waitForURL(/\/enovates-charger\//);
  const view = page.locator('hui-view');
  await view.locator('hui-tile-card').first().waitFor();
  await page.locator('hui-gauge-card').waitFor();
  await page.locator('hui-statistic-card').getByText('Energy today').waitFor();
  const slider = page.locator('hui-numeric-input-card-feature').getByRole('slider');
  await slider.waitFor();
  assert.equal(await page.locator('hui-error-card').count(), 0, 'an error card is shown');
  assert.equal(await page.getByText('Configuration error').count(), 0);
  assert.equal(await page.locator('hui-tile-card').count(), 2);
  await page.locator('hui-tile-card').getByText('ENO one').waitFor();
  const statusNames = translations.entity.sensor.status.state;
  await page.locator('hui-tile-card').getByText(statusNames.charging).first().waitFor();
  await until('dashboard slider value', async () => Number(await slider.getAttribute('aria-valuenow')) === EMS_LIMIT_A || (await slider.getAttribute('aria-valuenow')));
  await expectNear(
    'gauge power (W)',
    async () => shownNumber(await page.locator('hui-gauge-card ha-gauge').evaluate((gauge) => gauge.shadowRoot.textContent)),
    (c) => c.powerW,
    100,
  );
  await screenshot('dashboard');
});

step('add the home\'s P1 meter through Home Assistant\'s DSMR config flow: its network address, DSMR 5B', async () => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await navigate('/config/integrations/dashboard');
  await page.getByRole('button', { name: 'Add integration' }).click();
  await page.getByPlaceholder('Search for a brand name').fill('DSMR');
  await page.getByText('DSMR Smart Meter', { exact: true }).click();
  const flow = page.locator('dialog-data-entry-flow');
  await flow.getByRole('button', { name: /Select DSMR version/ }).click();
  await page.getByText('DSMR 5B (Belgium, Fluvius)', { exact: true }).click();
  // A P1-over-TCP adapter: its address typed into the serial port picker ("Enter manually"), as the field's help says.
  // The picker replaces a plain field once the frontend knows the usb integration (DSMR's dependency, set up as the
  // flow starts) and has listed the ports: wait for it, or a click lands on the field it replaces.
  await flow.locator('ha-selector-serial_port ha-generic-picker').waitFor();
  await flow.getByText('Select device').first().click();
  await page.getByText('Enter manually', { exact: true }).click();
  // The field takes the focus once the form has re-rendered without a device; a re-render on its way (the port list
  // arriving) may still empty it: type again until the form holds the address.
  const address = flow.locator('ha-selector-serial_port input');
  await until('the address field has the focus', async () => address.evaluate((el) => el.getRootNode().activeElement === el));
  const url = `socket://127.0.0.1:${P1_PORT}`;
  const form = flow.locator('ha-form').first();
  await until('the form holds the address and the version', async () => {
    const data = await form.evaluate((el) => el.data);
    if (data.port === url && data.dsmr_version === '5B') return true;
    await address.fill(url);
    return JSON.stringify(data);
  });
  await screenshot('dsmr-form');
  await flow.getByRole('button', { name: 'Submit' }).click();
  // The flow reads a telegram (CRC checked) before it creates the entry.
  await flow.getByText(`Created configuration for ${url}.`).waitFor();
  await screenshot('dsmr-created');
  await closeSuccess(`Created configuration for ${url}.`);
  // DSMR creates its sensors with the first telegram it passes on: at most 30 s after it connected (its default
  // minimum time between updates, counted from the empty update it makes when it connects).
  await until('the meter\'s sensors', async () => (await meterReading()) !== null, 45_000);
  await navigate('/config/integrations/integration/dsmr');
  await page.getByText('1 device').first().waitFor(); // the Electricity Meter
  await screenshot('dsmr-meter');

  // Then every telegram (1 s), for Solar to follow the panels closely (the options of a user who wants that). Only
  // now: DSMR set up again before its sensors exist would create them twice (Home Assistant 2026.11 logs
  // "Platform dsmr does not generate unique IDs" and its sensors stop updating).
  await page.getByRole('button', { name: 'Configure' }).first().click();
  const dsmrOptions = page.locator('dialog-data-entry-flow');
  const interval = dsmrOptions.getByRole('spinbutton', { name: /Minimum time between entity updates/ });
  await interval.fill('0');
  await until('the options hold 0 s', async () => (await dsmrOptions.locator('ha-form').first().evaluate((el) => el.data.time_between_update)) === 0 || (await dsmrOptions.locator('ha-form').first().evaluate((el) => JSON.stringify(el.data))));
  await screenshot('dsmr-options');
  await dsmrOptions.getByRole('button', { name: 'Submit' }).click();
  await closeSuccess('Options successfully saved.');
  // Reloaded: its sensors show the meter again.
  await until('the meter\'s sensors after the reload', async () => (await meterReading()) !== null);
});

step('the charger\'s options: the meter\'s import and export power as its grid sensors', async () => {
  assert.deepEqual((await haState(ENTITY.mode)).attributes.options, ['manual', 'fast', 'off'], 'no Solar without a grid sensor');
  await navigate('/config/integrations/integration/enovates');
  await page.locator('ha-config-entry-row').filter({ hasText: 'ENO one 0001' }).getByRole('button', { name: 'Configure' }).click();
  const flow = page.locator('dialog-data-entry-flow');
  await flow.getByText(translations.options.step.init.title).first().waitFor();
  // The entity pickers in the options' order: grid power, grid export, home battery.
  const pick = async (index, name) => {
    const picker = flow.locator('ha-selector-entity').nth(index);
    await picker.click();
    await picker.getByPlaceholder('Search').fill(name);
    await page.locator('ha-combo-box-item').filter({ hasText: name }).filter({ hasText: 'Electricity Meter' }).first().click();
  };
  await pick(0, 'Power consumption');
  await pick(1, 'Power production');
  await screenshot('charger-options');
  await flow.getByRole('button', { name: 'Submit' }).click();
  await closeSuccess('Options successfully saved.');
  // The entry reloads with them: the Solar modes are offered.
  await until('Solar offered', async () => (await haState(ENTITY.mode)).attributes.options?.includes('solar') || (await haState(ENTITY.mode)).attributes.options);
});

step('Solar on the device page: the car takes the surplus, the meter\'s export goes towards 0, the reason shows', async () => {
  // Before: the slider's 10 A, the panels' surplus exported.
  const before = await readCharger(SIM);
  assert.equal(before.emsLimitA, EMS_LIMIT_A);
  const exportBeforeW = -(await meterGridW());
  assert.ok(exportBeforeW > 2 * WATTS_PER_AMP, `the home exports ${exportBeforeW} W before Solar`);
  assert.equal((await haState(ENTITY.reason)).state, 'manual');

  await page.setViewportSize({ width: 1280, height: 1250 });
  await chargerDevicePage();
  const controls = page.locator('ha-device-entities-card').filter({ hasText: 'Controls' });
  await controls.getByText('Charging mode').first().click();
  await page.getByText(translations.entity.select.charging_mode.state.solar, { exact: true }).first().click();
  await until('charging mode', async () => (await haState(ENTITY.mode)).state === 'solar' || (await haState(ENTITY.mode)).state);

  // The car was charging: Solar follows the surplus at once (no start delay), and the limit goes up.
  await until('the simulator\'s EMS limit follows the surplus', async () => ((await readCharger(SIM)).emsLimitA ?? 32) > EMS_LIMIT_A || (await readCharger(SIM)).emsLimitA);
  await until('the reason', async () => (await haState(ENTITY.reason)).state === 'surplus' || (await haState(ENTITY.reason)).state);
  // Then the meter sees it: less than an ampere's worth still exported, nothing imported.
  await until('the meter\'s export towards 0', async () => {
    const gridW = await meterGridW();
    return (gridW <= 0 && gridW > -WATTS_PER_AMP) || gridW;
  }, 30_000);
  const after = await readCharger(SIM);
  const exportAfterW = -(await meterGridW());
  // What the car takes more is what the home no longer exports (the panels barely move in a minute at 13:00).
  assert.ok(
    Math.abs(after.powerW - before.powerW - (exportBeforeW - exportAfterW)) < 400,
    `car ${before.powerW} -> ${after.powerW} W, export ${exportBeforeW} -> ${exportAfterW} W`,
  );
  // The device page shows it: the mode, the car's power and the reason, translated.
  await until('the select shows Solar', async () => (await controls.locator('ha-select').first().evaluate((el) => el.value)) === 'solar' || (await controls.locator('ha-select').first().evaluate((el) => el.value)));
  await expectNear('device page power (W)', async () => shownNumber(await deviceRow('Power')), (c) => c.powerW, 100);
  await expectEqual('Smart charging', () => deviceRow('Smart charging'), async () => translations.entity.sensor.smart_charging.state.surplus);
  await screenshot('solar');
  await page.locator('ha-device-entities-card').filter({ hasText: 'Diagnostic' }).scrollIntoViewIfNeeded();
  await screenshot('solar-reason');
});

step(`a peak limit of ${PEAK_LIMIT_KW} kW on the device page, then Fast: the quarter-hour average import follows`, async () => {
  await chargerDevicePage();
  const controls = page.locator('ha-device-entities-card').filter({ hasText: 'Controls' });
  const box = controls.getByRole('spinbutton', { name: /Peak limit/ });
  await box.fill(String(PEAK_LIMIT_KW));
  await box.press('Enter');
  await until('peak limit', async () => Number((await haState(ENTITY.peakLimit)).state) === PEAK_LIMIT_KW || (await haState(ENTITY.peakLimit)).state);
  // The quarter so far, as the meter itself counts it (a Belgian meter reports it, and the guard goes by it): the
  // whole quarter, the minutes before Solar too, so a little import at most since the home exports now.
  // (NaN while the page and the state differ, or for the second a new quarter has no reading yet.)
  const quarterShown = async () => {
    const stateW = Number((await haState(ENTITY.quarter)).state) * 1000;
    const shown = await deviceRow('Quarter-hour average import');
    return /\d/.test(shown) && Math.abs(shownNumber(shown) - stateW) <= 10 ? stateW : NaN;
  };
  await until('the quarter-hour average import on the device page, the meter\'s own', async () => {
    const shownW = await quarterShown();
    const meterW = (await numericState(ENTITY.meterQuarter)) * 1000;
    return Math.abs(shownW - meterW) <= Math.max(10, meterW * 0.01) || `${shownW} W shown, the meter ${meterW} W`;
  });
  const quarterBeforeW = await quarterShown();

  // Fast: the car takes its 16 A, the home imports what the panels do not cover, and the quarter's average rises,
  // under the limit. The guard gives the charger what the quarter has room for (the charger's 32 A, or less but
  // more than this car takes): the reason says which.
  await controls.getByText('Charging mode').first().click();
  await page.getByText(translations.entity.select.charging_mode.state.fast, { exact: true }).first().click();
  await until('the car at its maximum', async () => {
    const charger = await readCharger(SIM);
    return ((charger.emsLimitA ?? 32) >= 16 && charger.powerW > 10_500) || charger;
  });
  await until('the reason', async () => {
    const expected = (await readCharger(SIM)).emsLimitA === null ? 'fast' : 'peak_guard';
    return (await haState(ENTITY.reason)).state === expected || `${(await haState(ENTITY.reason)).state}, not ${expected}`;
  });
  await until('the meter\'s import', async () => (await meterGridW()) > 0 || (await meterGridW()));
  await until('the quarter-hour average import rises', async () => (await quarterShown()) >= quarterBeforeW + 10 || (await quarterShown()));
  const quarterW = await quarterShown();
  assert.ok(quarterW < PEAK_LIMIT_KW * 1000, `quarter-hour average ${quarterW} W`);
  await screenshot('peak-limit-fast');
});

step('Home Assistant logged no warning or error along the way', async () => {
  // Lines that are not the integration's nor a fault: the notice every custom integration gets, and what an
  // offline test instance says of itself.
  const expected = [
    /We found a custom integration enovates which has not been tested by Home Assistant/,
    /Skipping pip installation of required modules/,
    /zlib_ng and isal are not available/,
    // The Modbus library's own line for the config flow's attempt on the wrong port (the step above means it): the
    // integration leaves that shared logger alone, and says it in its own words in the form.
    new RegExp(`\\[pymodbus\\.logging\\] Failed to connect .*'127\\.0\\.0\\.1', ${CLOSED_PORT}\\)`),
  ];
  const problems = fs
    .readFileSync(HA_LOG, 'utf8')
    .split('\n')
    .filter((line) => /^\S+ \S+ (WARNING|ERROR|CRITICAL) /.test(line))
    .filter((line) => !expected.some((pattern) => pattern.test(line)));
  assert.deepEqual(problems, []);
});
