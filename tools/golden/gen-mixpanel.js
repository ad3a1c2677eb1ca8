'use strict'
// Golden file for the Mixpanel (Actions) destination: tests/golden/mixpanel.json
// Runs Segment's real destination (action-destinations 3.497.0 on actions-core 3.170.0) through
// actions-core's test integration and records the exact outgoing HTTP requests (captured by nock)
// or the error thrown. Date and Math.random are frozen/seeded so the output is deterministic.
const zlib = require('zlib')

// ------------------------------------------------------------------ determinism (before loading)
const FIXED_NOW = Date.parse('2025-06-01T12:00:00.000Z')
const RealDate = Date
class FrozenDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(FIXED_NOW)
    else super(...args)
  }
  static now() {
    return FIXED_NOW
  }
}
global.Date = FrozenDate
let seed = 1
function seedRandom(s) {
  seed = s >>> 0
}
// mulberry32
Math.random = function () {
  seed = (seed + 0x6d2b79f5) >>> 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const nock = require('nock')
const { createTestIntegration } = require('@segment/actions-core')
const destination = require('@segment/action-destinations/dist/destinations/mixpanel').default
const { versionOf, errorMessages, writeJson } = require('./common')

const RANDOM_SEED = 20250601

// ------------------------------------------------------------------ HTTP capture
let captured = []
function replyFor(path) {
  if (path.startsWith('/import')) return { code: 200, num_records_imported: 1, status: 'OK' }
  return { status: 1, error: null }
}
function decodeBody(raw, headers) {
  let buf = raw
  const enc = String(headers['content-encoding'] || '')
  if (typeof raw === 'string' && /^[0-9a-f]*$/i.test(raw) && enc.includes('gzip')) buf = Buffer.from(raw, 'hex')
  if (Buffer.isBuffer(buf) && enc.includes('gzip')) buf = zlib.gunzipSync(buf).toString('utf8')
  const text = Buffer.isBuffer(buf) ? buf.toString('utf8') : typeof buf === 'string' ? buf : JSON.stringify(buf)
  const ctype = String(headers['content-type'] || '')
  const out = { raw: text }
  if (ctype.includes('application/x-www-form-urlencoded')) {
    const form = {}
    for (const [k, v] of new URLSearchParams(text)) form[k] = v
    out.form = form
    if (typeof form.data === 'string') {
      try {
        out.data = JSON.parse(form.data)
      } catch (e) {
        /* keep raw */
      }
    }
  } else if (ctype.includes('json')) {
    try {
      out.json = JSON.parse(text)
    } catch (e) {
      /* keep raw */
    }
  }
  return out
}
function installNock() {
  nock.cleanAll()
  nock.disableNetConnect()
  for (const origin of ['https://api.mixpanel.com', 'https://api-eu.mixpanel.com', 'https://api-in.mixpanel.com', 'https://mixpanel.com']) {
    nock(origin)
      .persist()
      .post(/.*/)
      .reply(function (uri, body) {
        const headers = {}
        for (const [k, v] of Object.entries(this.req.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v)
        delete headers['content-length']
        captured.push({ method: this.req.method || 'POST', url: origin + uri, headers, body: decodeBody(body, headers) })
        return [200, replyFor(uri)]
      })
  }
}

// ------------------------------------------------------------------ settings and mappings
const SETTINGS = {
  US: { projectToken: 'tok-us-1234', apiSecret: 'sec-us-5678', apiRegion: 'US 🇺🇸', sourceName: 'segmix golden' },
  EU: { projectToken: 'tok-eu-1234', apiSecret: 'sec-eu-5678', apiRegion: 'EU 🇪🇺' },
  IN: { projectToken: 'tok-in-1234', apiSecret: 'sec-in-5678', apiRegion: 'IN 🇮🇳', strictMode: '0', sourceName: 'india' },
  MIN: { projectToken: 'tok-min', apiSecret: 'sec-min' }
}

function defaultMapping(action) {
  const m = {}
  for (const [k, f] of Object.entries(destination.actions[action].fields)) if (f.default !== undefined) m[k] = f.default
  return m
}
const PRESET_EVENT = { '@template': 'Viewed {{name}}' }
const presetMapping = (name) => destination.presets.find((p) => p.name === name).mapping

// ------------------------------------------------------------------ events
const UA = {
  chrome: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36',
  firefox: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
  safari_iphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  safari_mac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15',
  edge: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67',
  edge_legacy: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19045',
  opera: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0',
  opera_mini: 'Opera/9.80 (Android; Opera Mini/36.2.2254/119.132; U; id) Presto/2.12.423 Version/12.16 OPR/36.2',
  samsung: 'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36',
  ie11: 'Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko',
  ie9: 'Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)',
  crios: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1',
  fxios: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/125.0 Mobile/15E148 Safari/605.1.15',
  fbios: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/460.0.0.0]',
  android_webview: 'Mozilla/5.0 (Linux; U; android 4.4.2; en-us) AppleWebKit/534.30 (KHTML, like Gecko) Mobile',
  blackberry: 'Mozilla/5.0 (BlackBerry; U; BlackBerry 9900; en) AppleWebKit/534.11+ (KHTML, like Gecko) Version/7.1.0.346 Mobile Safari/534.11+',
  ucbrowser: 'Mozilla/5.0 (Linux; U; Android 10; en-US) AppleWebKit/537.36 (KHTML, like Gecko) UCBrowser/13.4.0.1306 Mobile',
  curl: 'curl/8.5.0'
}

const baseContext = (ua) => ({
  ip: '203.0.113.7',
  library: { name: 'analytics.js', version: 'next-1.70.0' },
  locale: 'en-US',
  page: { path: '/pricing', referrer: 'https://google.com/', search: '?a=1', title: 'Pricing', url: 'https://example.com/pricing?a=1' },
  timezone: 'Europe/Berlin',
  location: { country: 'Germany', region: 'Berlin', city: 'Berlin' },
  campaign: { source: 'newsletter', medium: 'email', name: 'june', term: 'golden', content: 'hero' },
  ...(ua ? { userAgent: ua } : {})
})
const mobileContext = {
  ip: '198.51.100.23',
  app: { name: 'Segmix App', namespace: 'com.example.segmix', build: '512', version: '3.2.1' },
  os: { name: 'iOS', version: '17.4' },
  device: { id: 'dev-1', type: 'ios', name: 'iPhone', manufacturer: 'Apple', model: 'iPhone15,2', advertisingId: 'ad-id-1', adTrackingEnabled: true },
  network: { bluetooth: false, carrier: 'T-Mobile', cellular: true, wifi: false },
  screen: { width: 1179, height: 2556, density: 3 },
  library: { name: 'analytics-ios', version: '4.1.8' },
  locale: 'de-DE',
  timezone: 'Europe/Berlin',
  userAgentData: { mobile: true, platform: 'iOS', architecture: 'arm', bitness: '64', model: 'iPhone', platformVersion: '17.4', uaFullVersion: '17.4', wow64: false }
}
const TS = '2025-05-30T08:15:30.123Z'

const EVENTS = {}
const ev = (name, e) => (EVENTS[name] = e)
// track
ev('track_chrome', { type: 'track', event: 'Signed Up', userId: 'user-1', anonymousId: 'anon-1', messageId: 'msg-track-1', timestamp: TS, receivedAt: TS, properties: { plan: 'pro', seats: 3, trial: false, tags: ['a', 'b'], nested: { x: 1 }, nothing: null, empty: '' }, context: baseContext(UA.chrome) })
ev('track_firefox', { type: 'track', event: 'Button Clicked', userId: 'user-2', anonymousId: 'anon-2', messageId: 'msg-track-2', timestamp: TS, properties: { button: 'cta' }, context: baseContext(UA.firefox) })
ev('track_safari_iphone', { type: 'track', event: 'Button Clicked', anonymousId: 'anon-3', messageId: 'msg-track-3', timestamp: TS, properties: {}, context: baseContext(UA.safari_iphone) })
ev('track_safari_mac', { type: 'track', event: 'Button Clicked', userId: 'user-4', messageId: 'msg-track-4', timestamp: TS, properties: {}, context: baseContext(UA.safari_mac) })
ev('track_edge', { type: 'track', event: 'Button Clicked', userId: 'user-5', messageId: 'msg-track-5', timestamp: TS, context: baseContext(UA.edge) })
ev('track_edge_legacy', { type: 'track', event: 'Button Clicked', userId: 'user-5', messageId: 'msg-track-5b', timestamp: TS, context: baseContext(UA.edge_legacy) })
ev('track_opera', { type: 'track', event: 'Button Clicked', userId: 'user-6', messageId: 'msg-track-6', timestamp: TS, context: baseContext(UA.opera) })
ev('track_opera_mini', { type: 'track', event: 'Button Clicked', userId: 'user-6', messageId: 'msg-track-6b', timestamp: TS, context: baseContext(UA.opera_mini) })
ev('track_samsung', { type: 'track', event: 'Button Clicked', userId: 'user-7', messageId: 'msg-track-7', timestamp: TS, context: baseContext(UA.samsung) })
ev('track_ie11', { type: 'track', event: 'Button Clicked', userId: 'user-8', messageId: 'msg-track-8', timestamp: TS, context: baseContext(UA.ie11) })
ev('track_ie9', { type: 'track', event: 'Button Clicked', userId: 'user-8', messageId: 'msg-track-8b', timestamp: TS, context: baseContext(UA.ie9) })
ev('track_crios', { type: 'track', event: 'Button Clicked', userId: 'user-9', messageId: 'msg-track-9', timestamp: TS, context: baseContext(UA.crios) })
ev('track_fxios', { type: 'track', event: 'Button Clicked', userId: 'user-9', messageId: 'msg-track-9b', timestamp: TS, context: baseContext(UA.fxios) })
ev('track_fbios', { type: 'track', event: 'Button Clicked', userId: 'user-9', messageId: 'msg-track-9c', timestamp: TS, context: baseContext(UA.fbios) })
ev('track_android_webview', { type: 'track', event: 'Button Clicked', userId: 'user-9', messageId: 'msg-track-9d', timestamp: TS, context: baseContext(UA.android_webview) })
ev('track_blackberry', { type: 'track', event: 'Button Clicked', userId: 'user-9', messageId: 'msg-track-9e', timestamp: TS, context: baseContext(UA.blackberry) })
ev('track_ucbrowser', { type: 'track', event: 'Button Clicked', userId: 'user-9', messageId: 'msg-track-9f', timestamp: TS, context: baseContext(UA.ucbrowser) })
ev('track_curl', { type: 'track', event: 'Button Clicked', userId: 'user-9', messageId: 'msg-track-9g', timestamp: TS, context: baseContext(UA.curl) })
ev('track_no_ua', { type: 'track', event: 'Server Event', userId: 'user-10', messageId: 'msg-track-10', timestamp: TS, properties: { source: 'backend' }, context: { library: { name: 'analytics-node', version: '2.0.0' } } })
ev('track_mobile', { type: 'track', event: 'App Opened', userId: 'user-11', anonymousId: 'anon-11', messageId: 'msg-track-11', timestamp: TS, properties: { from_background: true }, context: { ...mobileContext, groupId: 'grp-ctx-1' } })
ev('track_no_context', { type: 'track', event: 'Bare', userId: 'user-12', messageId: 'msg-track-12', timestamp: TS })
ev('track_anonymous_only', { type: 'track', event: 'Anon Event', anonymousId: 'anon-13', messageId: 'msg-track-13', timestamp: TS, context: baseContext(UA.chrome) })
ev('track_no_ids', { type: 'track', event: 'No Ids', messageId: 'msg-track-14', timestamp: TS })
ev('track_empty_userid', { type: 'track', event: 'Empty User', userId: '', anonymousId: 'anon-15', messageId: 'msg-track-15', timestamp: TS })
ev('track_no_messageid_no_timestamp', { type: 'track', event: 'Random Ids', userId: 'user-16' })
ev('track_epoch_seconds', { type: 'track', event: 'Epoch', userId: 'user-17', messageId: 'msg-track-17', timestamp: 1745340310 })
ev('track_epoch_ms', { type: 'track', event: 'Epoch', userId: 'user-17', messageId: 'msg-track-17b', timestamp: 1745340310000 })
ev('track_digit_string_time', { type: 'track', event: 'Epoch', userId: 'user-17', messageId: 'msg-track-17c', timestamp: '20250422' })
ev('track_offset_time', { type: 'track', event: 'Offset', userId: 'user-17', messageId: 'msg-track-17d', timestamp: '2025-04-22T18:45:10.987654+02:00' })
ev('track_bad_time', { type: 'track', event: 'Bad Time', userId: 'user-17', messageId: 'msg-track-17e', timestamp: 'not a date' })
ev('track_reserved_props', { type: 'track', event: 'Reserved', userId: 'user-18', messageId: 'msg-track-18', timestamp: TS, properties: { id: 'prop-id', time: 1, distinct_id: 'x', $insert_id: 'y', $user_id: 'z', $anon_id: 'w', $group_id: 'g', token: 'override', mp_lib: 'custom', $device_id: 'dev-override' } })
ev('track_numeric_userid', { type: 'track', event: 'Numeric', userId: 12345, anonymousId: 67890, messageId: 'msg-track-19', timestamp: TS })
ev('track_iterable', { type: 'track', event: 'Email Opened', userId: 'user-20', messageId: 'msg-track-20', timestamp: TS, context: { integration: { name: 'Iterable', version: '1.0' } } })
ev('track_empty_event', { type: 'track', event: '', userId: 'user-21', messageId: 'msg-track-21', timestamp: TS })
ev('track_bad_props', { type: 'track', event: 'Bad Props', userId: 'user-22', messageId: 'msg-track-22', timestamp: TS, properties: 'not-an-object' })
ev('track_bad_screen', { type: 'track', event: 'Bad Screen', userId: 'user-22', messageId: 'msg-track-22b', timestamp: TS, context: { screen: { width: 'wide', height: '1080' } } })
ev('track_unicode', { type: 'track', event: 'Kauf abgeschloßen ☕', userId: 'user-ü', messageId: 'msg-track-23', timestamp: TS, properties: { 'schlüssel': 'wërt 👍🏽', float: 1.0, big: 1e21 } })
ev('track_with_increment', { type: 'track', event: 'Level Up', userId: 'user-24', anonymousId: 'anon-24', messageId: 'msg-track-24', timestamp: TS, properties: { increment: { level: 1, xp: 25.5, coins: '10', bad: 'abc' } }, context: { ip: '203.0.113.9' } })
ev('track_increment_numeric', { type: 'track', event: 'Level Up', userId: 'user-24', messageId: 'msg-track-24b', timestamp: TS, properties: { increment: { level: 1, xp: -2.5, coins: '10' } } })
ev('track_increment_too_many', { type: 'track', event: 'Level Up', userId: 'user-24', messageId: 'msg-track-24c', timestamp: TS, properties: { increment: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, i])) } })
// order completed
const products = [
  { product_id: 'sku-1', sku: 'SKU-1', name: 'Widget', price: 19.99, quantity: 2, category: 'Tools', url: 'https://example.com/w', image_url: 'https://example.com/w.png', brand: 'Acme', variant: 'red', coupon: 'SAVE', position: 1 },
  { product_id: 'sku-2', sku: 'SKU-2', name: 'Gadget', price: 5, quantity: 1, extra_field: 'kept' }
]
ev('order_completed', { type: 'track', event: 'Order Completed', userId: 'user-30', anonymousId: 'anon-30', messageId: 'msg-order-1', timestamp: TS, properties: { order_id: 'ord-1', revenue: 44.98, total: 49.98, currency: 'EUR', products }, context: baseContext(UA.chrome) })
ev('order_completed_no_products', { type: 'track', event: 'Order Completed', userId: 'user-31', messageId: 'msg-order-2', timestamp: TS, properties: { order_id: 'ord-2', revenue: 10 } })
ev('order_completed_bad_product', { type: 'track', event: 'Order Completed', userId: 'user-32', messageId: 'msg-order-3', timestamp: TS, properties: { order_id: 'ord-3', products: [{ product_id: 'p', price: 'free', quantity: 1.5 }] } })
ev('order_completed_null_product_fields', { type: 'track', event: 'Order Completed', userId: 'user-33', messageId: 'msg-order-4', timestamp: TS, properties: { order_id: 'ord-4', products: [{ product_id: null, price: null, quantity: null, name: null }, { product_id: 7, price: '3.5', quantity: '2' }] } })
ev('order_completed_mobile', { type: 'track', event: 'Order Completed', anonymousId: 'anon-34', messageId: 'msg-order-5', timestamp: TS, properties: { order_id: 'ord-5', products: [products[1]] }, context: mobileContext })
ev('order_completed_no_messageid', { type: 'track', event: 'Order Completed', userId: 'user-35', properties: { order_id: 'ord-6', products } })
// page / screen
ev('page_named', { type: 'page', name: 'Pricing', category: 'Docs', userId: 'user-40', anonymousId: 'anon-40', messageId: 'msg-page-1', timestamp: TS, properties: { path: '/pricing', title: 'Pricing', url: 'https://example.com/pricing' }, context: baseContext(UA.firefox) })
ev('page_unnamed', { type: 'page', anonymousId: 'anon-41', messageId: 'msg-page-2', timestamp: TS, properties: { path: '/' }, context: baseContext(UA.safari_iphone) })
ev('page_event_field', { type: 'page', name: 'Home', event: 'Should Win', userId: 'user-42', messageId: 'msg-page-3', timestamp: TS })
ev('screen_named', { type: 'screen', name: 'Settings', userId: 'user-43', anonymousId: 'anon-43', messageId: 'msg-screen-1', timestamp: TS, properties: { variation: 'dark' }, context: mobileContext })
ev('screen_unnamed', { type: 'screen', anonymousId: 'anon-44', messageId: 'msg-screen-2', timestamp: TS, context: mobileContext })
// identify
ev('identify_full', { type: 'identify', userId: 'user-50', anonymousId: 'anon-50', messageId: 'msg-id-1', timestamp: TS, traits: { email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', name: 'Ada King', phone: '+441234', avatar: 'https://x/a.png', created: '2024-01-02T03:04:05Z', createdAt: '2024-01-01T00:00:00Z', username: 'ada', plan: 'pro', age: 36, address: { city: 'London' } }, context: { ip: '203.0.113.50' } })
ev('identify_first_last', { type: 'identify', userId: 'user-51', anonymousId: 'anon-51', messageId: 'msg-id-2', timestamp: TS, traits: { firstName: 'Grace', lastName: 'Hopper', created_at: '2024-02-02' } })
ev('identify_first_only', { type: 'identify', userId: 'user-52', messageId: 'msg-id-3', timestamp: TS, traits: { firstName: 'Alan', createdAt: 1704067200 } })
ev('identify_name_null', { type: 'identify', userId: 'user-53', messageId: 'msg-id-4', timestamp: TS, traits: { name: null, first_name: 'a', last_name: 'b', id: 'trait-id', distinct_id: 'trait-distinct' } })
ev('identify_anonymous', { type: 'identify', anonymousId: 'anon-54', messageId: 'msg-id-5', timestamp: TS, traits: { plan: 'free' } })
ev('identify_no_traits', { type: 'identify', userId: 'user-55', anonymousId: 'anon-55', messageId: 'msg-id-6', timestamp: TS })
ev('identify_empty_traits', { type: 'identify', userId: 'user-56', messageId: 'msg-id-7', timestamp: TS, traits: {} })
ev('identify_traits_string', { type: 'identify', userId: 'user-57', messageId: 'msg-id-8', timestamp: TS, traits: 'oops' })
ev('identify_user_only', { type: 'identify', userId: 'user-58', messageId: 'msg-id-9', timestamp: TS, traits: { email: 'u@x.y' } })
// group
ev('group_full', { type: 'group', groupId: 'grp-1', userId: 'user-60', anonymousId: 'anon-60', messageId: 'msg-grp-1', timestamp: TS, traits: { name: 'Acme Inc', employees: 100, plan: 'enterprise', industry: 'Tech' } })
ev('group_no_traits', { type: 'group', groupId: 'grp-2', userId: 'user-61', messageId: 'msg-grp-2', timestamp: TS })
ev('group_no_groupid', { type: 'group', userId: 'user-62', messageId: 'msg-grp-3', timestamp: TS, traits: { name: 'x' } })
ev('group_numeric_id', { type: 'group', groupId: 12345, userId: 'user-63', messageId: 'msg-grp-4', timestamp: TS, traits: { name: 'Numeric' } })
// alias
ev('alias_full', { type: 'alias', userId: 'user-70', previousId: 'anon-70', anonymousId: 'anon-70b', messageId: 'msg-alias-1', timestamp: TS })
ev('alias_anonymous', { type: 'alias', anonymousId: 'anon-71', previousId: 'anon-old-71', messageId: 'msg-alias-2', timestamp: TS })
ev('alias_no_previous', { type: 'alias', userId: 'user-72', messageId: 'msg-alias-3', timestamp: TS })

// ------------------------------------------------------------------ cases
const CASES = []
const tc = (name, action, eventName, settingsName, mappingName, mapping, opts = {}) =>
  CASES.push({ name, kind: 'single', action, event: eventName, settings: settingsName, mapping_name: mappingName, mapping, ...opts })
const tb = (name, action, eventNames, settingsName, mappingName, mapping, opts = {}) =>
  CASES.push({ name, kind: 'batch', action, events: eventNames, settings: settingsName, mapping_name: mappingName, mapping, ...opts })

const trackDefaults = defaultMapping('trackEvent')
const pageMapping = presetMapping('Page Calls')
const screenMapping = presetMapping('Screen Calls')
const settingsCycle = ['US', 'EU', 'IN', 'MIN']
let n = 0
for (const e of Object.keys(EVENTS)) {
  const type = EVENTS[e].type
  const s = settingsCycle[n++ % settingsCycle.length]
  if (type === 'track' && EVENTS[e].event !== 'Order Completed') {
    tc(`${e}/trackEvent`, 'trackEvent', e, s, 'trackEvent defaults (Track Calls preset)', trackDefaults)
    if (EVENTS[e].properties && EVENTS[e].properties.increment) {
      tc(`${e}/incrementProperties`, 'incrementProperties', e, s, 'incrementProperties defaults', defaultMapping('incrementProperties'))
    }
  } else if (type === 'track') {
    tc(`${e}/trackPurchase`, 'trackPurchase', e, s, 'trackPurchase defaults (Order Completed Calls preset)', defaultMapping('trackPurchase'))
    tc(`${e}/trackEvent`, 'trackEvent', e, s, 'trackEvent defaults (Track Calls preset)', trackDefaults)
  } else if (type === 'page') {
    tc(`${e}/trackEvent page preset`, 'trackEvent', e, s, 'Page Calls preset', pageMapping)
    tc(`${e}/trackEvent plain defaults`, 'trackEvent', e, s, 'trackEvent defaults (Track Calls preset)', trackDefaults)
  } else if (type === 'screen') {
    tc(`${e}/trackEvent screen preset`, 'trackEvent', e, s, 'Screen Calls preset', screenMapping)
  } else if (type === 'identify') {
    tc(`${e}/identifyUser`, 'identifyUser', e, s, 'identifyUser defaults (Identify Calls preset)', defaultMapping('identifyUser'))
  } else if (type === 'group') {
    tc(`${e}/groupIdentifyUser`, 'groupIdentifyUser', e, s, 'groupIdentifyUser defaults (Group Calls preset)', defaultMapping('groupIdentifyUser'))
    tc(`${e}/groupIdentifyUser group_key`, 'groupIdentifyUser', e, s, 'groupIdentifyUser defaults + group_key "company_id"', { ...defaultMapping('groupIdentifyUser'), group_key: 'company_id' })
  } else if (type === 'alias') {
    tc(`${e}/alias`, 'alias', e, s, 'alias defaults', defaultMapping('alias'))
  }
}
// same event, every region
for (const s of ['US', 'EU', 'IN', 'MIN']) {
  tc(`track_chrome/trackEvent/${s}`, 'trackEvent', 'track_chrome', s, 'trackEvent defaults (Track Calls preset)', trackDefaults)
  tc(`identify_full/identifyUser/${s}`, 'identifyUser', 'identify_full', s, 'identifyUser defaults (Identify Calls preset)', defaultMapping('identifyUser'))
}
// custom mappings
tc('track_chrome/trackEvent custom event_properties', 'trackEvent', 'track_chrome', 'US', 'trackEvent defaults + static event_properties', {
  ...trackDefaults, event_properties: { device_family: 'tablet', plan: { '@path': '$.properties.plan' } }
})
tc('track_chrome/trackEvent batch_size 5000', 'trackEvent', 'track_chrome', 'US', 'trackEvent defaults + batch_size 5000', { ...trackDefaults, batch_size: 5000 })
tc('order_completed/trackPurchase no per-product events', 'trackPurchase', 'order_completed', 'US', 'trackPurchase defaults + generatePurchaseEventPerProduct false', {
  ...defaultMapping('trackPurchase'), generatePurchaseEventPerProduct: false
})
tc('identify_full/incrementProperties no increment', 'incrementProperties', 'identify_full', 'US', 'incrementProperties defaults', defaultMapping('incrementProperties'))
tc('track_chrome/trackEvent missing projectToken', 'trackEvent', 'track_chrome', 'NO_TOKEN', 'trackEvent defaults', trackDefaults)
tc('identify_full/identifyUser missing projectToken', 'identifyUser', 'identify_full', 'NO_TOKEN', 'identifyUser defaults', defaultMapping('identifyUser'))
SETTINGS.NO_TOKEN = { apiSecret: 'sec-only', apiRegion: 'US 🇺🇸' }
// batches
tb('batch trackEvent 3 events', 'trackEvent', ['track_chrome', 'track_mobile', 'track_anonymous_only'], 'US', 'trackEvent defaults (Track Calls preset)', trackDefaults)
tb('batch trackEvent with an invalid event', 'trackEvent', ['track_firefox', 'track_bad_time', 'track_empty_event'], 'EU', 'trackEvent defaults (Track Calls preset)', trackDefaults)
tb('batch trackEvent page preset 2 events', 'trackEvent', ['page_named', 'page_unnamed'], 'IN', 'Page Calls preset', pageMapping)
tb('batch trackPurchase 2 orders', 'trackPurchase', ['order_completed', 'order_completed_mobile'], 'US', 'trackPurchase defaults (Order Completed Calls preset)', defaultMapping('trackPurchase'))
tb('batch trackPurchase 3 orders incl. invalid product', 'trackPurchase', ['order_completed_no_products', 'order_completed_bad_product', 'order_completed_null_product_fields'], 'MIN', 'trackPurchase defaults (Order Completed Calls preset)', defaultMapping('trackPurchase'))
tb('batch trackEvent empty userId and time fallbacks', 'trackEvent', ['track_empty_userid', 'track_no_messageid_no_timestamp', 'track_epoch_seconds'], 'US', 'trackEvent defaults (Track Calls preset)', trackDefaults)

// ------------------------------------------------------------------ run
function describeError(e) {
  const out = { message: errorMessages(e).join('\n'), name: e && e.name }
  if (e && e.status !== undefined) out.status = e.status
  if (e && e.code !== undefined) out.code = e.code
  return out
}

async function runCase(c, index) {
  captured = []
  seedRandom(RANDOM_SEED + index)
  const test = createTestIntegration(destination)
  const settings = SETTINGS[c.settings]
  const common = {
    mapping: structuredClone(c.mapping),
    settings: structuredClone(settings),
    auth: undefined,
    features: {},
    statsContext: {},
    logger: { info() {}, error() {}, warn() {}, debug() {} },
    transactionContext: {},
    stateContext: {},
    subscriptionMetadata: {}
  }
  const rec = {
    name: c.name, kind: c.kind, action: c.action, settings_name: c.settings, settings,
    mapping_name: c.mapping_name, mapping: c.mapping, random_seed: RANDOM_SEED + index
  }
  if (c.kind === 'single') rec.event = c.event
  else rec.events = c.events
  // Segment's platform validates settings (Destination.validateSettings) before any action runs;
  // the harness's executeAction/executeBatch do not. Recorded separately.
  try {
    test.validateSettings(structuredClone(settings))
  } catch (e) {
    rec.settings_error = describeError(e)
  }
  try {
    if (c.kind === 'single') {
      await test.executeAction(c.action, { ...common, event: structuredClone(EVENTS[c.event]) })
    } else {
      const res = await test.executeBatch(c.action, { ...common, events: c.events.map((e) => structuredClone(EVENTS[e])) })
      rec.batch_result = JSON.parse(JSON.stringify(res, (k, v) => (v instanceof Error ? { message: v.message } : v)))
    }
  } catch (e) {
    rec.error = describeError(e)
  }
  // Give un-awaited requests (identifyUser's /engage) time to be sent.
  await new Promise((r) => setTimeout(r, 20))
  rec.requests = captured
  return rec
}

;(async () => {
  installNock()
  const out = []
  for (let i = 0; i < CASES.length; i++) out.push(await runCase(CASES[i], i))
  nock.cleanAll()
  nock.enableNetConnect()
  writeJson('mixpanel.json', {
    description:
      "Golden Mixpanel (Actions) requests produced by Segment's real JavaScript. See tools/golden/README.md for the schema.",
    generated_by: {
      '@segment/action-destinations': versionOf('@segment/action-destinations'),
      '@segment/actions-core': versionOf('@segment/actions-core'),
      nock: versionOf('nock'),
      node: process.version
    },
    frozen_now: new RealDate(FIXED_NOW).toISOString(),
    frozen_now_ms: FIXED_NOW,
    random: 'Math.random = mulberry32(random_seed), reseeded before every case',
    presets: destination.presets.map((p) => ({ name: p.name, subscribe: p.subscribe, partnerAction: p.partnerAction, mapping: p.mapping, type: p.type })),
    default_mappings: Object.fromEntries(Object.keys(destination.actions).map((a) => [a, defaultMapping(a)])),
    settings: SETTINGS,
    events: EVENTS,
    cases: out
  })
  console.log(`mixpanel cases: ${out.length}, events: ${Object.keys(EVENTS).length}`)
})()
