'use strict'
// Golden file for mapping-kit: tests/golden/mapping_kit.json
// For every case: Segment's transform(mapping, payload) (result or error) and Segment's
// validate() messages for the mapping as transform processes it (root directive applied).
const { transform } = require('@segment/actions-core/mapping-kit')
const segValidate = require('@segment/actions-core/mapping-kit/validate').default
const { versionOf, encodeSpecial, errorMessages, writeJson } = require('./common')

const ROOT = '__segment_internal_directive'

// Exact copy of actions-core's (unexported) getMappingToProcess, used to run validate() on the
// mapping the way transform() does.
function getMappingToProcess(mapping) {
  let mappingToProcess = { ...mapping }
  if (Object.keys(mapping).includes(ROOT)) {
    const customerMappings = {}
    for (const key in mapping) {
      if (key !== ROOT) customerMappings[key] = mapping[key]
    }
    mappingToProcess = mapping[ROOT]
    if (Object.keys(mappingToProcess).length > 1) {
      throw new Error('The root mapping must only have a single directive object')
    }
    const rootDirective = mappingToProcess[Object.keys(mappingToProcess)[0]]
    if (!rootDirective || typeof rootDirective !== 'object') {
      throw new Error('The root directive must be an object')
    }
    rootDirective.mapping = customerMappings
  }
  return mappingToProcess
}

const clone = (x) => (x === undefined ? undefined : structuredClone(x))

const P = {
  type: 'track',
  event: 'Order Completed',
  userId: 'u1',
  anonymousId: 'a1',
  messageId: 'm1',
  timestamp: '2025-06-01T12:00:00.000Z',
  properties: {
    revenue: 99.5, total: 0, count: 3, plan: 'pro', name: 'Widget', empty: '', flag: true, off: false,
    nothing: null, float: 1.5, big: 1e21, tiny: 1.5e-7, neg: -2, int_float: 7.0,
    list: [1, 2, 3], tags: ['a', 'b'], mixed: [1.5, null, 'a', true, { a: 1 }, [2, 3]],
    products: [
      { product_id: 'p1', price: 10, quantity: 2, name: 'A' },
      { product_id: 'p2', price: 0, quantity: 1, name: null }
    ],
    nested: { a: { b: { c: 'deep' } }, arr: [{ x: 1 }, { x: 2 }], zero: 0, emptyObj: {}, emptyArr: [] },
    'a b': 'spaced', 'a.b': 'dotted', "o'clock": 'quote', '10': 'ten', '2': 'two', z: 'zed', unicode: 'Ünïcödé straße ☕ 👍🏽',
    json_text: '{"b":1,"a":[1,2.5,"x"],"u":"é","10":true,"1":null}', bad_json: '{a:1}', upper: 'MiXeD',
    dollar: '$5.00', sep: '-', dir: 'left', fmt: 'encode', op: 'upper', path_text: 'properties.plan',
    template_text: 'Hi {{userId}}', brace: '{{userId}}', items_str: 'abc'
  },
  traits: {
    email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', plan: 'enterprise', age: 36,
    address: { city: 'London', zip: null, geo: { lat: 51.5, lng: -0.12 } }
  },
  context: {
    ip: '1.2.3.4', library: { name: 'analytics.js', version: '2.1.0' },
    page: { url: 'https://example.com/a?b=1', title: 'Home' }, traits: { plan: 'ctx' },
    campaign: { source: 'google', medium: 'cpc', name: 'spring' }
  }
}

const CASES = []
const NO_PAYLOAD = Symbol('no payload')
function c(mapping, payload = P, extra = {}) {
  CASES.push({ mapping, payload, ...extra })
}
const path = (p) => ({ '@path': p })
const tpl = (t) => ({ '@template': t })

// ---------------------------------------------------------------- @path
for (const p of [
  '$.event', '$.properties.revenue', '$.properties.total', '$.properties.total.x', '$.properties.empty.length',
  '$.properties.empty.x', '$.properties.off.x', '$.properties.nothing.x', '$.properties.missing.x', '$.properties.nothing',
  '$.properties.list', '$.properties.list.0', '$.properties.list[0]', '$.properties.list.1', '$.properties.list[3]',
  '$.properties.list.length', '$.properties.list.-1', '$.properties.list[-1]', '$.properties.list.01', '$.properties.list.1.0',
  '$.properties.name.length', '$.properties.name.0', '$.properties.name[1]', '$.properties.unicode.length', '$.properties.unicode.20',
  '$.properties.products[1].name', '$.properties.products.1.price', '$.properties.products.0.price.x',
  '$.properties["a b"]', "$.properties['a b']", '$.properties.a b', '$.properties["a.b"]', '$.properties.a.b',
  "$.properties['o'clock']", '$.properties.oclock', '$.properties..plan', '$.properties...plan', 'properties.plan',
  '$properties.plan', '$.', '.', '', '$', '$.$.event', 'properties.$.plan', "$['event']", '$.properties.10', '$.properties[10]',
  '$.properties.nested.a.b.c', '$.properties.nested.arr.1.x', '$.properties.nested.arr[1]x', '$.properties.nested]]',
  '$.properties.list]]', '$.properties.list.0]]', '$.properties[\'plan\']', '$.properties["plan"].length', '$.traits.address',
  '$.traits.address.zip', '$.traits.address.zip.x', '$.context', '$.properties.nested.emptyObj', '$.properties.nested.emptyArr',
  '$.properties.tags.length', '$.properties.big', '$.properties.tiny', '$.properties.int_float', '$.properties.flag.x',
  '$.properties.constructor', '$.properties.plan.constructor.name', '$.properties.toString', '$.properties.__proto__'
]) {
  const deviation = /constructor|toString|__proto__/.test(p) ? 'spec §3.10 #1: prototype members are not reachable in segmix' : undefined
  c({ v: path(p) }, P, deviation ? { deviation } : {})
}
c({ v: path({ '@path': '$.properties.path_text' }) })
c({ v: path({ '@template': 'properties.{{properties.plan}}' }) })
c({ v: path({ '@path': '$.properties.revenue' }) })
c({ v: path({ '@path': '$.properties.missing' }) })
c({ v: path({ '@literal': 'event' }) })
c({ v: path(3) })
c({ v: path(null) })
c({ v: path(['a']) })
c({ v: path({ a: 1 }) })
c(path('$.properties'))
c(path('$.event'))
c(path('$.properties.missing'))
c({ a: path('$.event'), b: path('$.missing'), c: null, d: 0, e: '', f: false, g: [path('$.missing'), 1] })

// ---------------------------------------------------------------- @template
for (const t of [
  'Viewed {{name}}', 'Viewed {{event}}', '{{userId}}', '{{ userId }}', '{{\tuserId\n}}', '{{{userId}}}', '{{{{userId}}}}',
  '{{}}', '{{ }}', '{{  }}', '{{userId', 'userId}}', '{{properties.list}}', '{{properties.mixed}}', '{{properties.flag}}',
  '{{properties.off}}', '{{properties.nothing}}', '{{properties.missing}}', '{{properties.total}}', '{{properties.big}}',
  '{{properties.tiny}}', '{{properties.int_float}}', '{{properties.float}}', '{{properties.nested}}', '{{properties.products}}',
  '{{properties.brace}}', '{{{properties.brace}}}', '{{$.event}}', '{{properties.name.length}}', '{{properties.list[1]}}',
  '{{properties["a b"]}}', '{{properties.a b}}', '{{traits.firstName}} {{traits.lastName}}', '$& {{event}} $1 $$',
  '{{event}}{{event}}', '{{properties.dollar}}', '{{properties.unicode}}', 'no placeholders', '', '{{ properties.nested.a.b.c }}',
  '{{properties.nested.zero.x}}', '{{.}}', '{{properties.tags}}', '{{properties.emptyArr}}', '{{a}b}}', '{{a}}}', '{{{a}}',
  '{{properties.nested.emptyArr}}', '{{properties.list.length}}', '{{properties.neg}}'
]) {
  c({ v: tpl(t) })
}
c({ v: tpl({ '@path': '$.properties.template_text' }) })
c({ v: tpl({ '@path': '$.properties.revenue' }) })
c({ v: tpl(5) })
c({ v: tpl({ '@template': 'x' }) }, P)
c({ v: tpl('Viewed {{name}}') }, { type: 'page', name: 'Home' })
c({ v: tpl('Viewed {{name}}') }, { type: 'page' })
c({ v: tpl('Viewed {{name}}') }, { type: 'page', name: null })
c({ v: tpl('Viewed {{name}}') }, { type: 'screen', name: 0 })

// ---------------------------------------------------------------- @literal
for (const l of ['x', 0, null, false, true, '', 1.5, [], {}, [1, path('$.event')], { a: path('$.event'), b: path('$.missing') },
  path('$.event'), { '@literal': 'nested' }, [path('$.missing')], { a: null }]) {
  c({ v: { '@literal': l } })
}
c({ '@literal': { a: 1 } })
c({ '@literal': 'root' })
c({ v: { '@literal': 'x', _metadata: { foo: 1 } } })

// ---------------------------------------------------------------- @if
const ifs = [
  { exists: path('$.userId'), then: path('$.userId'), else: path('$.anonymousId') },
  { exists: path('$.missing'), then: path('$.userId'), else: path('$.anonymousId') },
  { exists: path('$.properties.nothing'), then: 'yes', else: 'no' },
  { exists: path('$.properties.empty'), then: 'yes', else: 'no' },
  { exists: path('$.properties.total'), then: 'yes', else: 'no' },
  { exists: path('$.properties.off'), then: 'yes', else: 'no' },
  { exists: path('$.missing'), then: 'yes' },
  { exists: path('$.event'), else: 'no' },
  { exists: path('$.missing'), then: 'yes', else: false },
  { exists: path('$.missing'), then: 'yes', else: 0 },
  { exists: path('$.missing'), then: 'yes', else: '' },
  { exists: path('$.missing'), then: 'yes', else: null },
  { exists: path('$.missing'), then: 'yes', else: [] },
  { exists: path('$.missing'), then: 'yes', else: {} },
  { exists: path('$.event'), then: false },
  { exists: path('$.event'), then: 0 },
  { exists: path('$.event'), then: null },
  { exists: path('$.event'), then: '' },
  { exists: 'literal', then: 'yes' },
  { exists: 0, then: 'yes' },
  { exists: 0, blank: path('$.event'), then: 'yes', else: 'no' },
  { exists: null, blank: 'x', then: 'yes', else: 'no' },
  { exists: false, then: 'yes' },
  { then: 'yes' },
  {},
  { blank: path('$.properties.empty'), then: 'yes', else: 'no' },
  { blank: path('$.properties.total'), then: 'yes', else: 'no' },
  { blank: path('$.properties.off'), then: 'yes', else: 'no' },
  { blank: path('$.properties.flag'), then: 'yes', else: 'no' },
  { blank: path('$.properties.nested.emptyArr'), then: 'yes', else: 'no' },
  { blank: path('$.properties.nested.emptyObj'), then: 'yes', else: 'no' },
  { blank: path('$.properties.list'), then: 'yes', else: 'no' },
  { blank: path('$.properties.mixed'), then: 'yes', else: 'no' },
  { blank: path('$.properties.nothing'), then: 'yes', else: 'no' },
  { blank: path('$.missing'), then: 'yes', else: 'no' },
  { blank: path('$.event'), then: 'yes', else: 'no' },
  { blank: path('$.properties.neg'), then: 'yes', else: 'no' },
  { blank: { '@literal': [null] }, then: 'yes', else: 'no' },
  { blank: { '@literal': [null, null] }, then: 'yes', else: 'no' },
  { blank: { '@literal': [''] }, then: 'yes', else: 'no' },
  { blank: { '@literal': [[]] }, then: 'yes', else: 'no' },
  { blank: { '@literal': [0] }, then: 'yes', else: 'no' },
  { blank: { '@literal': ' ' }, then: 'yes', else: 'no' },
  { blank: { '@literal': '0' }, then: 'yes', else: 'no' },
  { blank: { '@literal': 0.0 }, then: 'yes', else: 'no' },
  { exists: path('$.event'), then: { '@if': { exists: path('$.userId'), then: path('$.userId') } } },
  { exists: path('$.event'), then: [path('$.userId'), path('$.missing')] },
  { exists: path('$.event'), then: 'yes', extra: 1 },
  { exists: path('$.event'), then: 'yes', _metadata: 1 }
]
for (const i of ifs) c({ v: { '@if': i } })
c({ v: { '@if': 3 } })
c({ v: { '@if': path('$.event') } })
c({ v: { '@if': { exists: 5, then: 'y' } } })
c({ v: { '@if': { exists: { a: 1 }, then: { b: path('$.event') } } } })
c({ v: [{ '@if': 3 }] })
c({ v: [{ '@if': {} }] })

// ---------------------------------------------------------------- @case
for (const cs of [
  { operator: 'lower', value: path('$.properties.upper') }, { operator: 'upper', value: path('$.properties.upper') },
  { operator: 'upper', value: path('$.properties.unicode') }, { operator: 'lower', value: { '@literal': 'İSTANBUL ΣΑΣ' } },
  { operator: 'upper', value: { '@literal': 'ﬁ straße ǆ' } }, { operator: 'Upper', value: path('$.properties.upper') },
  { operator: 'Upper', value: path('$.properties.revenue') }, { operator: 'upper', value: path('$.missing') },
  { operator: 'upper', value: path('$.properties.nothing') }, { operator: 'upper', value: path('$.properties.nested') },
  { operator: 'upper', value: '' }, { operator: 'upper', value: 'abc' }, { operator: 'upper' }, { value: 'abc' },
  { operator: '', value: 'abc' }, { operator: 'middle', value: 'abc' }, { operator: 'middle' }, {},
  { operator: path('$.properties.op'), value: 'abc' }, { operator: 'upper', value: 5 }, { operator: 5, value: 'x' },
  { operator: 'lower', value: path('$.properties.empty') }
]) {
  c({ v: { '@case': cs } })
}
c({ v: { '@case': 'upper' } })
c({ v: [{ '@case': 'upper' }] })
c({ v: [{ '@case': { operator: 'Upper', value: 'x' } }] })

// ---------------------------------------------------------------- @replace
for (const r of [
  { pattern: '-', replacement: '<$&>', value: { '@literal': 'x-y-z' } },
  { pattern: '-', replacement: '$$', value: { '@literal': 'x-y' } },
  { pattern: '-', replacement: '$`|', value: { '@literal': 'ab-cd' } },
  { pattern: '-', replacement: "|$'", value: { '@literal': 'ab-cd' } },
  { pattern: '-', replacement: '$1$<x>$', value: { '@literal': 'a-b' } },
  { pattern: '-', replacement: '$0$9$00', value: { '@literal': 'a-b' } },
  { pattern: '.', replacement: '!', value: { '@literal': 'a.b.c' } },
  { pattern: '*', replacement: '+', value: { '@literal': 'a*b' } },
  { pattern: '(x)', replacement: '_', value: { '@literal': 'a(x)b' } },
  { pattern: '\\', replacement: '/', value: { '@literal': 'c:\\dir\\x' } },
  { pattern: '^a$', replacement: 'z', value: { '@literal': '^a$ a' } },
  { pattern: ' ', replacement: '_', value: path('$.traits.firstName') },
  { pattern: 'a', replacement: 'X', value: { '@literal': 'banana' }, global: false },
  { pattern: 'a', replacement: 'X', value: { '@literal': 'bAnana' }, ignorecase: true },
  { pattern: 'a', replacement: 'X', value: { '@literal': 'bAnana' }, ignorecase: true, global: false },
  { pattern: 'ß', replacement: 'ss', value: { '@literal': 'Straße STRASSE' }, ignorecase: true },
  { pattern: 'k', replacement: '_', value: { '@literal': 'K k \u212a' }, ignorecase: true },
  { pattern: 's', replacement: '_', value: { '@literal': 'S s \u017f' }, ignorecase: true },
  { pattern: 'é', replacement: 'e', value: { '@literal': 'É é' }, ignorecase: true },
  { pattern: 'σ', replacement: 's', value: { '@literal': 'Σ σ ς' }, ignorecase: true },
  { pattern: 'i', replacement: '_', value: { '@literal': 'I i İ ı' }, ignorecase: true },
  { pattern: '👍', replacement: 'ok', value: { '@literal': '👍🏽!' } },
  { pattern: '😀😀😀😀😀', replacement: 'x', value: { '@literal': '😀😀😀😀😀' } },
  { pattern: '😀😀😀😀😀😀', replacement: 'x', value: { '@literal': 'x' } },
  { pattern: '0123456789', replacement: 'x', value: { '@literal': '0123456789' } },
  { pattern: '01234567890', replacement: 'x', value: { '@literal': '0' } },
  { pattern: 'a', replacement: '0123456789', value: { '@literal': 'a' } },
  { pattern: 'a', replacement: '01234567890', value: { '@literal': 'a' } },
  { pattern: 'a', value: { '@literal': 'banana' } },
  { pattern: 'a', replacement: null, value: { '@literal': 'banana' } },
  { pattern: 'a', replacement: 'o', value: { '@literal': 'banana' }, pattern2: 'n', replacement2: 'm' },
  { pattern: 'a', replacement: 'o', value: { '@literal': 'banana' }, pattern2: 'n' },
  { pattern: 'a', replacement: 'o', value: { '@literal': 'banana' }, pattern2: 'n', replacement2: 5 },
  { pattern: 'a', replacement: 'o', value: { '@literal': 'banana' }, pattern2: 'nanananananana', replacement2: 'x' },
  { pattern: 'a', replacement: 'o', value: { '@literal': 'banana' }, pattern2: 'n', replacement2: 'mmmmmmmmmmmm' },
  { pattern: 'a', replacement: 'o', value: { '@literal': 'banana' }, pattern2: '', replacement2: 'x' },
  { pattern: 'a', replacement: 'o', value: { '@literal': 'bAnana' }, pattern2: 'N', replacement2: 'm', ignorecase: true, global: false },
  { pattern: '1', replacement: 'one', value: path('$.properties.count') },
  { pattern: '.', replacement: ',', value: path('$.properties.revenue') },
  { pattern: 'e', replacement: 'E', value: path('$.properties.flag') },
  { pattern: 'x', replacement: 'y', value: path('$.properties.missing') },
  { pattern: 'x', replacement: 'y', value: path('$.properties.nothing') },
  { pattern: 'x', replacement: 'y', value: path('$.properties.list') },
  { pattern: 'x', replacement: 'y', value: path('$.properties.nested') },
  { pattern: 'x', replacement: 'y', value: '' },
  { pattern: 'x', replacement: 'y', value: 'x-literal' },
  { pattern: 'x', replacement: 'y' },
  { replacement: 'y', value: 'x' },
  { pattern: '', replacement: 'y', value: 'x' },
  { pattern: 5, replacement: 'y', value: 'x' },
  { pattern: 'x', replacement: 5, value: 'x' },
  { pattern: 'x', replacement: 'y', value: 'x', ignorecase: 'yes' },
  { pattern: 'x', replacement: 'y', value: 'x', global: 1 },
  { pattern: 'x', replacement: 'y', value: 'x', global: null, ignorecase: null },
  { pattern: '$', replacement: 'USD', value: path('$.properties.dollar') },
  { pattern: '$.', replacement: '', value: { '@literal': 'a$.b' } },
  { pattern: 'a', replacement: 'b', value: 'a', extra: path('$.event') }
]) {
  c({ v: { '@replace': r } })
}
c({ v: { '@replace': 'x' } })
c({ v: [{ '@replace': 'x' }] })
c({ v: [{ '@replace': { value: 'x' } }] })
c({ v: [{ '@replace': { pattern: 'x', value: 'x', replacement: 'yyyyyyyyyyyy' } }] })
c({ v: [{ '@replace': { pattern: 'xxxxxxxxxxxx', value: 'x' } }] })
c({ v: [{ '@replace': { pattern: 'x', value: 7 } }] })

// ---------------------------------------------------------------- @arrayPath
for (const a of [
  ['$.properties.products'],
  ['$.properties.products', {}],
  ['$.properties.products', { id: path('$.product_id'), price: path('price'), q: path('$.quantity'), n: path('$.name'), e: path('$.event') }],
  ['$.properties.products', { id: path('$.product_id'), lit: 'x', t: tpl('{{product_id}}-{{quantity}}') }],
  ['$.properties.products', path('$.product_id')],
  ['$.properties.products', 'shape'],
  ['$.properties.products', [path('$.product_id')]],
  ['$.properties.list', { v: path('$.'), w: path('$'), x: path('.'), l: path('length') }],
  ['$.properties.mixed', { v: path('$.'), a: path('$.a'), zero: path('$.x') }],
  ['$.properties.tags', { v: path('$.'), len: path('$.length'), first: path('$.0') }],
  ['$.properties.nested', { c: path('$.a.b.c'), z: path('$.zero') }],
  ['$.properties.nested.arr', { x: path('$.x') }],
  ['$.properties.plan', { x: path('$.x') }],
  ['$.properties.total', { x: path('$.x') }],
  ['$.properties.nothing', { x: path('$.x') }],
  ['$.properties.missing', { x: path('$.x') }],
  ['$.properties.nested.emptyArr', { x: path('$.x') }],
  ['$.properties.nested.emptyObj', { x: path('$.x') }],
  [path('$.properties.path_text'), { x: path('$.x') }],
  [{ '@literal': [{ a: 1 }, { a: 2 }] }, { a: path('$.a') }],
  [{ '@literal': { a: 1 } }, { a: path('$.a') }],
  [{ '@path': '$.properties.products' }, { id: path('$.product_id') }],
  ['properties.products', { id: path('$.product_id') }],
  ['$.properties.products.0', { id: path('$.product_id') }],
  ['$.properties.products', { tr: { '@transform': { apply: { y: path('$.price') }, mapping: { p: path('$.y') } } } }],
  ['$.properties.list', { tr: { '@transform': { apply: { y: path('$.') }, mapping: { p: path('$.y') } } } }],
  ['$.properties.products', { '@if': { exists: path('$.name'), then: path('$.name'), else: 'anon' } }],
  ['$.properties.products', { nested: { '@arrayPath': ['$.missing', { a: 1 }] }, id: path('$.product_id') }],
  [],
  [5],
  ['$.properties.products', { id: 5 }]
]) {
  c({ v: { '@arrayPath': a } })
}
c({ v: { '@arrayPath': '$.properties.products' } })
c({ v: { '@arrayPath': { a: 1 } } })
c({ v: [{ '@arrayPath': '$.properties.products' }] })
c({ v: { '@arrayPath': ['$.properties.products', { id: { '@bogus': 1 } }] } })

// ---------------------------------------------------------------- @json
for (const j of [
  { mode: 'encode', value: path('$.properties.nested') },
  { mode: 'encode', value: path('$.properties') },
  { mode: 'encode', value: path('$.properties.unicode') },
  { mode: 'encode', value: path('$.properties.mixed') },
  { mode: 'encode', value: path('$.properties.float') },
  { mode: 'encode', value: path('$.properties.int_float') },
  { mode: 'encode', value: path('$.properties.big') },
  { mode: 'encode', value: path('$.properties.tiny') },
  { mode: 'encode', value: path('$.properties.missing') },
  { mode: 'encode', value: path('$.properties.nothing') },
  { mode: 'encode', value: { '@literal': 'tab\there "q" \\ / \u2028 \u007f \u0001 \b\f\n\r é' } },
  { mode: 'encode', value: { '@literal': { b: 1, a: 2, 10: 3, 2: 4, '-1': 5, '01': 6 } } },
  { mode: 'encode', value: { '@literal': [path('$.missing'), 1] } },
  { mode: 'encode', value: { a: path('$.missing'), b: 1 } },
  { mode: 'encode', value: 'plain' },
  { mode: 'encode', value: 5 },
  { mode: 'encode', value: true },
  { mode: 'encode', value: 0 },
  { mode: 'encode', value: null },
  { mode: 'encode', value: '' },
  { mode: 'decode', value: path('$.properties.json_text') },
  { mode: 'decode', value: path('$.properties.bad_json') },
  { mode: 'decode', value: path('$.properties.revenue') },
  { mode: 'decode', value: path('$.properties.nested') },
  { mode: 'decode', value: path('$.properties.missing') },
  { mode: 'decode', value: { '@literal': '1.0' } },
  { mode: 'decode', value: { '@literal': '1e400' } },
  { mode: 'decode', value: { '@literal': 'NaN' } },
  { mode: 'decode', value: { '@literal': '"str"' } },
  { mode: 'decode', value: { '@literal': ' [1, 2] ' } },
  { mode: 'decode', value: { '@literal': '\ufeff[1]' } },
  { mode: 'decode', value: { '@literal': "{'a':1}" } },
  { mode: 'decode', value: { '@literal': 'null' } },
  { mode: 'decode', value: { '@literal': '{"a":1,"a":2}' } },
  { mode: 'decode', value: { '@literal': '{"\\u00e9":"\\ud83d\\ude00"}' } },
  { mode: 'decode', value: { '@literal': '12345678901234567890' } },
  { mode: 'Encode', value: path('$.event') },
  { mode: 'DECODE', value: path('$.event') },
  { mode: 'yaml', value: path('$.event') },
  { mode: path('$.properties.fmt'), value: path('$.event') },
  { value: path('$.event') },
  { mode: 'encode' },
  { mode: '', value: path('$.event') },
  {}
]) {
  c({ v: { '@json': j } })
}
c({ v: { '@json': 'encode' } })
c({ v: [{ '@json': 'encode' }] })
c({ v: [{ '@json': { mode: '', value: 'x' } }] })
c({ v: [{ '@json': { value: 'x' } }] })

// ---------------------------------------------------------------- @flatten
for (const f of [
  { separator: '.', value: path('$.properties.nested') },
  { separator: '_', value: path('$.traits') },
  { separator: '.', value: path('$.properties.nested'), omitArrays: true },
  { separator: '.', value: path('$.properties.mixed') },
  { separator: '.', value: path('$.properties.mixed'), omitArrays: true },
  { separator: '.', value: path('$.properties.mixed'), omitArrays: 'no' },
  { separator: '.', value: path('$.properties.mixed'), omitArrays: 0 },
  { separator: '.', value: path('$.properties.plan') },
  { separator: '.', value: path('$.properties.nothing') },
  { separator: '.', value: path('$.properties.missing') },
  { separator: '.', value: { '@literal': { '': { k: 5 } } } },
  { separator: '.', value: { '@literal': { m: { '': 5 } } } },
  { separator: '.', value: { '@literal': { b: { 2: 'x', 1: 'y' }, a: [] } } },
  { separator: '.', value: { '@literal': { a: { b: 1 }, 'a.b': 2 } } },
  { separator: '.', value: { a: path('$.missing'), b: { c: path('$.event') } } },
  { separator: '🙂', value: path('$.properties.nested') },
  { separator: path('$.properties.sep'), value: path('$.properties.nested') },
  { separator: path('$.properties.revenue'), value: path('$.properties.nested') },
  { separator: '', value: path('$.properties.nested') },
  { value: path('$.properties.nested') },
  { separator: '.' },
  { separator: 5, value: path('$.properties.nested') }
]) {
  c({ v: { '@flatten': f } })
}
c({ v: { '@flatten': '.' } })
c({ v: [{ '@flatten': '.' }] })
c({ v: [{ '@flatten': { value: { a: 1 } } }] })

// ---------------------------------------------------------------- @merge
for (const m of [
  { direction: 'left', objects: [path('$.traits'), path('$.context.traits')] },
  { direction: 'right', objects: [path('$.traits'), path('$.context.traits')] },
  { direction: 'Left', objects: [path('$.traits'), path('$.context.traits')] },
  { direction: 'right', objects: [{ a: 1, b: path('$.missing') }, { b: 2, c: null }] },
  { direction: 'right', objects: [{ a: 1, b: 2 }, { b: path('$.missing'), c: null }] },
  { direction: 'left', objects: [{ a: 1, b: 2 }, { b: path('$.missing'), c: null }] },
  { direction: 'right', objects: [path('$.missing'), path('$.properties.nothing'), path('$.properties.revenue'), path('$.properties.name'), path('$.properties.list')] },
  { direction: 'right', objects: [] },
  { direction: 'right', objects: [{ z: 1, 10: 'a' }, { 2: 'b', y: 2 }] },
  { direction: path('$.properties.dir'), objects: [{ a: 1 }, { a: 2 }] },
  { direction: 'up', objects: [{ a: 1 }] },
  { objects: [{ a: 1 }] },
  { direction: 'right' },
  { direction: 'right', objects: 'x' },
  { direction: 'right', objects: [5] },
  { direction: 'right', objects: [{ a: 1 }, 'x', { b: path('$') }] },
  { direction: 'right', objects: [{ k: { bad: 1, '@path': 'x' } }] },
  { direction: 'right', objects: [{ k: { '@path': 5 } }, { j: { '@path': 6 } }] }
]) {
  c({ v: { '@merge': m } })
}
c({ v: { '@merge': 'x' } })
c({ v: [{ '@merge': 'x' }] })
c({ v: [{ '@merge': { objects: [{ a: 1 }] } }] })
c({ v: [{ '@merge': { direction: 'left' } }] })
c({ v: [{ '@merge': { direction: 'left', objects: 'abc' } }] })
c({ v: [{ '@merge': { direction: 'left', objects: 5 } }] })
c({ v: [{ '@merge': { direction: 'left', objects: { a: 1 } } }] })
c({ v: [{ '@merge': { direction: 'left', objects: true } }] })

// ---------------------------------------------------------------- @transform
for (const t of [
  { apply: { tier: path('$.traits.plan') }, mapping: { plan_tier: path('$.tier') } },
  { apply: { tier: path('$.missing') }, mapping: { plan_tier: path('$.tier'), lit: 'x' } },
  { apply: { a: [path('$.missing'), 1] }, mapping: { first: path('$.a.0'), len: path('$.a.length') } },
  { apply: { '@path': '$.event' }, mapping: { len: path('$.length'), lit: 'x' } },
  { apply: { '@path': '$.missing' }, mapping: { v: path('$.x'), lit: 'x' } },
  { apply: { '@path': '$.properties' }, mapping: { plan: path('$.plan') } },
  { apply: { a: 1 }, mapping: path('$.a') },
  { apply: { a: 1 } },
  { mapping: { a: 1 } },
  { apply: 'x', mapping: { a: 1 } },
  { apply: { a: 1 }, mapping: 'x' },
  { apply: {}, mapping: { a: 1 } }
]) {
  c({ v: { '@transform': t } })
}
c({ v: [{ '@transform': { apply: 'x', mapping: { a: 1 } } }] })
c({ v: [{ '@transform': { mapping: { a: 1 } } }] })
c({ v: [{ '@transform': { apply: { a: 1 } } }] })
c({ v: [{ '@transform': 5 }] })

// ---------------------------------------------------------------- @excludeWhenNull
for (const e of [
  path('$.properties.nothing'), path('$.properties.missing'), path('$.traits.address'), path('$.properties.total'),
  path('$.properties.empty'), path('$.properties.off'), { '@literal': { a: null, b: { c: null, d: [null, { e: null }] }, f: 0 } },
  { '@literal': [null, { a: null }] }, null, 'x', { a: null, b: path('$.event') }
]) {
  c({ v: { '@excludeWhenNull': e } })
}

// ---------------------------------------------------------------- root directive
c({ [ROOT]: { '@transform': { apply: { tier: path('$.traits.plan') } } }, plan_tier: path('$.tier') })
c({ [ROOT]: { '@transform': { apply: { tier: path('$.traits.plan') }, mapping: { old: 1 } } }, plan_tier: path('$.tier'), other: 'lit' })
c({ [ROOT]: { '@path': '$.properties' } })
c({ [ROOT]: { '@path': '$.properties' }, extra: 1 })
c({ [ROOT]: { '@transform': { apply: {} }, '@path': 'x' }, a: 1 })
c({ [ROOT]: {}, a: 1 })
c({ [ROOT]: null, a: 1 })
c({ [ROOT]: 'x', a: 1 })
c({ [ROOT]: 'xy', a: 1 })
c({ [ROOT]: [{ a: 1 }], a: 1 })
c({ [ROOT]: { '@arrayPath': ['$.properties.products', { id: path('$.product_id') }] } })
c({ [ROOT]: { '@merge': { direction: 'right', objects: [path('$.traits')] } }, x: 1 })
c({ [ROOT]: { '@transform': 'x' }, a: 1 })
c({ [ROOT]: { '@transform': { apply: path('$.traits') } }, email: path('$.email') })
c({ [ROOT]: { '@if': { exists: path('$.event'), then: 'yes' } }, a: 1 })
c({ a: 1, [ROOT]: { '@transform': { apply: { tier: path('$.traits.plan') } } }, b: path('$.tier') })

// ---------------------------------------------------------------- validation-only shapes
for (const m of [
  { a: { '@path': '$.event', '@template': 'x' } },
  { a: { '@path': '$.event', extra: 1 } },
  { a: { '@path': '$.event', _metadata: { label: 'x' } } },
  { a: { '@bogus': 1 } },
  { a: { '@Template': 'x' } },
  { a: { '@liquid': '{{ event | upcase }}' } },
  { a: { '@liquid': 5 } },
  { a: { '@path': '$.event', extra: 1, '@x': 2 } },
  { b: { '@path': 1 }, a: { '@path': 2 }, 10: { '@path': 3 }, 2: { '@path': 4 } },
  { '': { '@path': 1 } },
  { a: { b: { c: { '@template': [] } } } },
  { a: [{ '@bogus': 1 }] },
  { a: [{ '@path': 5 }] },
  { a: [{ b: { '@path': 5 } }] },
  { a: { '@if': { exists: { '@path': 5 }, then: { '@path': [] }, else: { '@bogus': 1 } } } },
  { a: { '@if': { blank: { '@path': 5 }, then: 'x' } } },
  { a: { '@if': { exists: 'x', then: 'y', foo: { '@path': 3 } } } },
  { a: { '@case': { operator: 5, value: 6 } } },
  { a: { '@replace': { pattern: '', value: 5, replacement: 'xxxxxxxxxxxx', ignorecase: 'no', global: 1 } } },
  { a: { '@replace': { pattern: 'aaaaaaaaaaaa', value: 'x' } } },
  { a: { '@replace': { pattern: 'a', value: 'x', pattern2: { '@path': 5 } } } },
  { a: { '@json': { mode: { '@path': '$.properties.fmt' }, value: { '@path': '$.traits' } } } },
  { a: { '@json': { mode: 'yaml', value: 5 } } },
  { a: { '@json': { mode: 5 } } },
  { a: { '@flatten': { separator: 5 } } },
  { a: { '@flatten': { separator: { '@path': '$.x' }, value: 1 } } },
  { a: { '@merge': { direction: 'up', objects: 'x' } } },
  { a: { '@merge': { direction: { '@path': '$.properties.dir' }, objects: [] } } },
  { a: { '@merge': { objects: [5, { '@path': 3 }] } } },
  { a: { '@merge': { objects: [{ '@path': 3 }, 5] } } },
  { a: { '@merge': { objects: [{ k: { '@path': 3 } }] } } },
  { a: { '@merge': { objects: { '@path': '$.list' } } } },
  { a: { '@transform': { apply: 5, mapping: [] } } },
  { a: { '@transform': { apply: { '@path': 5 }, mapping: { x: { '@bogus': 1 } } } } },
  { a: { '@arrayPath': [] } },
  { a: { '@arrayPath': [5, { x: { '@path': 5 } }] } },
  { a: { '@arrayPath': ['$.x', { x: { '@path': 5 } }] } },
  { a: { '@arrayPath': ['$.x', 5] } },
  { a: { '@arrayPath': { '@path': '$.x' } } },
  { a: { '@literal': { '@path': 5 } } },
  { a: { '@excludeWhenNull': { '@path': 5 } } },
  { a: { '@if': { '@path': '$.x' } } },
  { a: { '@if': 'x' } },
  { a: { '@if': null } },
  { a: { '@if': [] } },
  { a: { '@case': { operator: 'upper', value: { '@path': '$.x' }, _metadata: { '@path': 5 } } } },
  { a: { '@path': null } },
  { a: { '@path': true } },
  { a: { '@template': { a: 1 } } },
  { a: { '@path': { '@template': 5 } } },
  { a: { b: { '@path': 1 }, c: { '@path': 2 } }, d: { '@path': 3 } }
]) {
  c(m)
}

// ---------------------------------------------------------------- payloads and odd mappings
c({ a: path('$.event') }, NO_PAYLOAD)
c({ a: tpl('x{{ }}y') }, NO_PAYLOAD)
c({ a: path('$.event') }, [])
c({ a: path('$.event') }, null)
c({ a: path('$.event') }, 'str')
c({ a: path('$.event') }, 5)
c({ a: path('$.event') }, {})
c({}, P)
c('ab', P)
c('😀', P)
c(['x', path('$.event')], P)
c([], P)
c(5, P)
c(true, P)
c(null, P)
// (JSON.stringify writes the payload as Segment saw it, i.e. already rounded to a double)
c({ a: path('$.n') }, { n: 9007199254740993 })
c({ a: tpl('{{n}}') }, { n: 9007199254740993 })
c({ a: tpl('{{n}}') }, { n: 2 ** 65 })
c({ a: { '@json': { mode: 'encode', value: path('$.n') } } }, { n: 2 ** 65 })
c({ a: path('$.a b'), b: path('$.x\ny'), u: path('$.ключ') }, { 'a b': 1, 'x\ny': 2, 'ключ': 'з' })
c({ a: { '@literal': 'x' }, b: [path('$.missing'), { c: path('$.missing') }], c: { d: path('$.missing') } }, P)
c({ unknown_inside_array: [{ '@bogus': 1 }] }, P)
c({ not_taken: { '@if': { exists: path('$.missing'), then: [{ '@bogus': 1 }] } } }, P)
c({ taken: { '@if': { exists: path('$.event'), then: [{ '@bogus': 1 }] } } }, P)
c({ order: [{ '@case': 1 }, { '@replace': 1 }] }, P)
c({ b: [{ '@case': 1 }], a: [{ '@replace': 1 }] }, P)
c({ 2: [{ '@case': 1 }], 1: [{ '@replace': 1 }] }, P)
c({ a: [{ '@path': '$.event', x: 1 }] }, P)
c({ a: [{ '@path': '$.event', _metadata: 1 }] }, P)

// ---------------------------------------------------------------- liquid (segmix: unsupported, spec §3.7/§3.10 #5)
const LIQ = 'spec §3.10 #5: @liquid is unsupported in segmix'
c({ a: { '@liquid': '{{ event | upcase }}' } }, P, { deviation: LIQ })
c({ a: { '@liquid': '' } }, P, { deviation: LIQ })
c({ a: [{ '@liquid': '{{ event }}' }] }, P, { deviation: LIQ })

// ---------------------------------------------------------------- found by differential fuzzing
// An invalid apply where the outer validation does not look (arrays, @literal, @arrayPath shapes):
// Segment throws the nested transform's validation error, with every message.
c({ a: [{ '@transform': { apply: { x: { '@path': 5 } }, mapping: { z: 1 } } }] })
c({ a: [{ '@transform': { apply: { x: { '@bogus': 1 }, y: { '@path': 5 } }, mapping: { z: 1 } } }] })
c({ a: { '@literal': { k: { '@transform': { apply: { x: { '@path': 5 } }, mapping: { z: 1 } } } } } })
c({ a: { '@arrayPath': ['$.properties.products', { '@transform': { apply: { x: { '@path': 5 } }, mapping: { z: 1 } } }] } })
c({ a: [{ '@transform': { apply: { [ROOT]: 'x' }, mapping: { z: 1 } } }] })
// A template rendered against an undefined payload renders it as {} (render(template, data = {})).
c({ k: { '@transform': { apply: path('$.missing'), mapping: { t: tpl('{{ }}'), u: tpl('{{.}}'), w: tpl('{{{ }}}'), x: tpl('a{{x}}b') } } } })
c({ v: { '@arrayPath': [{ '@literal': [path('$.missing'), null, 'ab'] }, tpl('x{{ }}') ] } })

// ---------------------------------------------------------------------------------------------
function hasUndefinedInArray(v) {
  if (Array.isArray(v)) return v.some((x) => x === undefined || hasUndefinedInArray(x))
  if (v && typeof v === 'object') return Object.values(v).some(hasUndefinedInArray)
  return false
}

const out = []
let i = 0
for (const cs of CASES) {
  const rec = { id: i++, mapping: cs.mapping }
  if (cs.payload === NO_PAYLOAD) rec.payload_undefined = true
  else if (cs.payload === P) rec.payload_ref = 'P'
  else rec.payload = cs.payload
  if (cs.deviation) rec.deviation = cs.deviation
  else if (JSON.stringify(cs.mapping).includes('"@liquid"')) rec.deviation = LIQ
  // validate() as transform() applies it
  try {
    const processed = getMappingToProcess(clone(cs.mapping))
    try {
      segValidate(processed)
      rec.validate = []
    } catch (e) {
      rec.validate = errorMessages(e)
    }
  } catch (e) {
    rec.validate = errorMessages(e)
  }
  // transform()
  try {
    const result = cs.payload === NO_PAYLOAD ? transform(clone(cs.mapping)) : transform(clone(cs.mapping), clone(cs.payload))
    if (result === undefined) rec.result_undefined = true
    else rec.result = encodeSpecial(result)
    if (hasUndefinedInArray(result)) rec.result_undefined_in_arrays = true
  } catch (e) {
    const name = e && e.name
    rec.error = {
      phase: name === 'ValidationError' || name === 'AggregateError' ? 'validate' : 'runtime',
      messages: errorMessages(e),
      js_error: name
    }
  }
  out.push(rec)
}

writeJson('mapping_kit.json', {
  description:
    "Golden mapping-kit cases produced by Segment's real JavaScript. See tools/golden/README.md for the schema.",
  generated_by: { '@segment/actions-core': versionOf('@segment/actions-core'), node: process.version },
  payloads: { P },
  cases: out
})
console.log(`mapping-kit cases: ${out.length}`)
