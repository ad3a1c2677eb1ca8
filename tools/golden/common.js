'use strict'
// Shared helpers for the golden-file generators.
const fs = require('fs')
const path = require('path')

const OUT_DIR = process.env.GOLDEN_OUT_DIR || path.resolve(__dirname, '..', '..', 'tests', 'golden')

function versionOf(pkg) {
  try {
    return require(`${pkg}/package.json`).version
  } catch (e) {
    // packages whose "exports" hide package.json
    const main = require.resolve(pkg)
    let dir = path.dirname(main)
    while (dir !== path.dirname(dir)) {
      const p = path.join(dir, 'package.json')
      if (fs.existsSync(p)) {
        const j = JSON.parse(fs.readFileSync(p, 'utf8'))
        if (j.name === pkg) return j.version
      }
      dir = path.dirname(dir)
    }
    return null
  }
}

// JSON encoding of JS values that JSON cannot carry:
//   NaN / Infinity / -Infinity  -> {"$js": "NaN"} / {"$js": "Infinity"} / {"$js": "-Infinity"}
// `undefined` is never encoded by this helper: callers decide (object members vanish,
// array elements become null exactly like JSON.stringify does).
function encodeSpecial(value) {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    return { $js: String(value) }
  }
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : encodeSpecial(v)))
  if (value && typeof value === 'object') {
    const out = {}
    for (const k of Object.keys(value)) {
      if (value[k] === undefined) continue
      out[k] = encodeSpecial(value[k])
    }
    return out
  }
  return value
}

function errorMessages(e) {
  if (e && typeof e[Symbol.iterator] === 'function' && e.name === 'AggregateError') {
    return [...e].flatMap((x) => errorMessages(x))
  }
  return [e && e.message !== undefined ? String(e.message) : String(e)]
}

// Pretty printer: containers whose compact form is short stay on one line, and arrays of
// scalars always do. Output is plain JSON (same data as JSON.stringify).
function pretty(value, indent) {
  const compact = JSON.stringify(value)
  if (value === null || typeof value !== 'object') return compact
  const scalarsOnly = Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object')
  if (compact.length + indent.length <= 110 || scalarsOnly) return compact
  const inner = indent + '  '
  if (Array.isArray(value)) {
    return '[\n' + value.map((v) => inner + pretty(v === undefined ? null : v, inner)).join(',\n') + '\n' + indent + ']'
  }
  const keys = Object.keys(value).filter((k) => value[k] !== undefined)
  if (!keys.length) return '{}'
  return '{\n' + keys.map((k) => inner + JSON.stringify(k) + ': ' + pretty(value[k], inner)).join(',\n') + '\n' + indent + '}'
}

function writeJson(name, data) {
  fs.mkdirSync(OUT_DIR, { recursive: true })
  const file = path.join(OUT_DIR, name)
  fs.writeFileSync(file, pretty(data, '') + '\n')
  console.log(`wrote ${file}`)
}

module.exports = { versionOf, encodeSpecial, errorMessages, writeJson, OUT_DIR }
