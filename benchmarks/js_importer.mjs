// The reference JS importer as a contender in benchmark workload 1.
//
//   node js_importer.mjs FILE [NODE_MODULES]
//
// Imports FILE with ipfs-unixfs-importer under bulkpin's default profile
// (unixfs-v0-2015) and prints {"cid": ..., "seconds": ...}.  "seconds" covers
// only the import (reading the file included, as for bulkpin's engine), not
// Node's startup or module loading, so the Python side can compare it fairly.
//
// NODE_MODULES defaults to tests/golden/node_modules, where the importer is
// pinned.  Bare ESM imports resolve from this file's own directory and ignore
// NODE_PATH, so the package is resolved by hand from its package.json exports.

import { createReadStream, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'

const [file, nodeModules = join(dirname(fileURLToPath(import.meta.url)), '../tests/golden/node_modules')] =
  process.argv.slice(2)
if (file === undefined) {
  console.error('usage: node js_importer.mjs FILE [NODE_MODULES]')
  process.exit(2)
}

const pkgDir = resolve(nodeModules, 'ipfs-unixfs-importer')
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))
const { importer } = await import(pathToFileURL(join(pkgDir, pkg.exports['.'].import)).href)

// We time hashing, not storage: the importer only calls put(), and a put that
// keeps nothing is what blockstore-core's BlackHoleBlockstore does.
const discard = { put: (cid) => cid }

const start = performance.now()
// Large reads, like the engine's; the fixed-size chunker cuts them to 256 KiB.
const content = createReadStream(file, { highWaterMark: 4 << 20 })
// The profile sets CIDv0, 256 KiB chunks, balanced layout with 174 children
// and no raw leaves.  A fresh options object: the importer mutates it.
let root
for await (const entry of importer([{ content }], discard, { profile: 'unixfs-v0-2015' })) {
  root = entry
}
const seconds = (performance.now() - start) / 1000

console.log(JSON.stringify({ cid: root.cid.toString(), seconds, version: pkg.version }))
