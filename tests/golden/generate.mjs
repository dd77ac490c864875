// Golden CID vector generator for bulkpin.
//
// Runs the reference JS UnixFS importer (ipfs-unixfs-importer, pinned in
// package.json) over synthetic files and directory trees and writes
// vectors.json next to this script.  See README.md for the content spec and
// the known js-vs-kubo caveats.
//
//   cd tests/golden && npm install && node generate.mjs
//
// The output is deterministic: rerunning produces a byte-identical file
// (only the "generator" line depends on the Node.js version).

import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import * as dagPb from '@ipld/dag-pb'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { UnixFS } from 'ipfs-unixfs'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'

const HERE = dirname(fileURLToPath(import.meta.url))
const IMPORTER_VERSION = JSON.parse(
  readFileSync(join(HERE, 'node_modules/ipfs-unixfs-importer/package.json'), 'utf8')
).version
if (IMPORTER_VERSION !== '17.1.1') {
  throw new Error(`expected ipfs-unixfs-importer 17.1.1, found ${IMPORTER_VERSION}`)
}

const V0 = 'unixfs-v0-2015'
const V1 = 'unixfs-v1-2025'
const PROFILE_DEFAULTS = {
  [V0]: { chunk_size: 262144, max_links: 174, raw_leaves: false, cid_version: 0 },
  [V1]: { chunk_size: 1048576, max_links: 1024, raw_leaves: true, cid_version: 1 }
}
const SHARD_THRESHOLD = 262144
const HAMT_DEEP_COUNT = Number(process.env.HAMT_DEEP_COUNT ?? 8000)
const EMPTY_FILE_V0 = 'QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH'
const EMPTY_DIR_V0 = 'QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn'

const te = new TextEncoder()
const utf8 = (s) => te.encode(s)

function assert (cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`)
}

// ---------------------------------------------------------------------------
// Content spec: concat over k=0,1,2,... of sha256(utf8(seed) || u64be(k)),
// truncated to `size` bytes.

function * contentChunks (seed, size, batchBytes = 65536) {
  const seedBytes = Buffer.from(seed, 'utf8')
  const input = Buffer.alloc(seedBytes.length + 8)
  seedBytes.copy(input, 0)
  let k = 0n
  let remaining = size
  while (remaining > 0) {
    const n = Math.min(batchBytes, remaining)
    const out = Buffer.alloc(n)
    let off = 0
    while (off < n) {
      input.writeBigUInt64BE(k, seedBytes.length)
      k++
      const h = createHash('sha256').update(input).digest()
      off += h.copy(out, off, 0, Math.min(32, n - off))
    }
    remaining -= n
    yield new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
  }
}

function contentBytes (seed, size) {
  return Buffer.concat([...contentChunks(seed, size)])
}

// Self-check of the content spec against an independent formulation.
{
  const a = contentBytes('selftest', 100)
  const b = Buffer.concat([0, 1, 2, 3].map((k) => {
    const kb = Buffer.alloc(8)
    kb.writeBigUInt64BE(BigInt(k))
    return createHash('sha256').update(Buffer.concat([Buffer.from('selftest'), kb])).digest()
  })).subarray(0, 100)
  assert(a.equals(b), 'content spec self-check')
}

// ---------------------------------------------------------------------------
// Importer plumbing

function importerOptions (profile, params) {
  const d = PROFILE_DEFAULTS[profile]
  // A fresh object every call: the importer mutates the options it is given
  // when a profile is set.
  const opts = { profile, reduceSingleLeafToSelf: true }
  // Profile supplies cidVersion/rawLeaves only via `??`, so explicit values
  // win.  Chunk size and fan-out are local defaults that are only used when
  // no chunker/layout is passed, so overrides must be given as functions.
  opts.cidVersion = params.cid_version
  opts.rawLeaves = params.raw_leaves
  if (params.chunk_size !== d.chunk_size) opts.chunker = fixedSize({ chunkSize: params.chunk_size })
  if (params.max_links !== d.max_links) opts.layout = balanced({ maxChildrenPerNode: params.max_links })
  return opts
}

async function readBlock (bs, cid) {
  const parts = []
  for await (const p of bs.get(cid)) parts.push(p)
  return Buffer.concat(parts)
}

async function unixfsOf (bs, cid) {
  const node = dagPb.decode(await readBlock(bs, cid))
  return { node, unixfs: UnixFS.unmarshal(node.Data) }
}

// Record path -> CID for everything below a directory (plain or HAMT).
async function walkDir (bs, cid, path, out) {
  const { node, unixfs } = await unixfsOf(bs, cid)
  const links = []
  if (unixfs.type === 'directory') {
    for (const l of node.Links) links.push([l.Name, l.Hash])
  } else if (unixfs.type === 'hamt-sharded-directory') {
    const collect = async (n) => {
      for (const l of n.Links) {
        if (l.Name.length === 2) {
          await collect((await unixfsOf(bs, l.Hash)).node)
        } else {
          links.push([l.Name.slice(2), l.Hash])
        }
      }
    }
    await collect(node)
  } else {
    throw new Error(`not a directory: ${path}`)
  }
  for (const [name, child] of links) {
    const p = `${path}/${name}`
    assert(!(p in out), `duplicate path in DAG: ${p}`)
    out[p] = child.toString()
    if (child.code === dagPb.code) {
      const t = (await unixfsOf(bs, child)).unixfs.type
      if (t === 'directory' || t === 'hamt-sharded-directory') await walkDir(bs, child, p, out)
    }
  }
}

// Walk a HAMT and report levels (diagnostics only, printed to stdout).
async function hamtStats (bs, cid, depth = 1) {
  const { node, unixfs } = await unixfsOf(bs, cid)
  assert(unixfs.type === 'hamt-sharded-directory', 'hamt node type')
  let maxDepth = depth
  let shards = 1
  for (const l of node.Links) {
    if (l.Name.length === 2) {
      const s = await hamtStats(bs, l.Hash, depth + 1)
      maxDepth = Math.max(maxDepth, s.maxDepth)
      shards += s.shards
    }
  }
  return { maxDepth, shards }
}

// ---------------------------------------------------------------------------
// Files

async function fileVector (name, profile, params, size) {
  const content = { seed: name, size }
  const bs = new MemoryBlockstore()
  const opts = importerOptions(profile, params)
  const results = []
  for await (const e of importer([{ content: contentChunks(content.seed, size) }], bs, opts)) {
    results.push(e)
  }
  assert(results.length === 1, `${name}: one result`)
  const r = results[0]
  // Sanity: the overrides took effect (leaf count / fan-out of the root).
  const { node } = r.cid.code === 0x70 ? await unixfsOf(bs, r.cid) : { node: { Links: [] } }
  const expectedLeaves = Math.max(1, Math.ceil(size / params.chunk_size))
  if (expectedLeaves > 1) {
    assert(node.Links.length <= params.max_links, `${name}: root fan-out ≤ max_links`)
    if (expectedLeaves <= params.max_links) {
      assert(node.Links.length === expectedLeaves, `${name}: leaf count`)
    }
  } else {
    assert(node.Links.length === 0, `${name}: single block`)
  }
  if (params.raw_leaves && size <= params.chunk_size) assert(r.cid.code === 0x55, `${name}: raw leaf`)
  assert(r.cid.version === params.cid_version || (params.raw_leaves && r.cid.code === 0x55), `${name}: cid version`)
  return {
    name,
    profile,
    params,
    content,
    cid: r.cid.toString(),
    tsize: Number(r.size)
  }
}

function fileCases () {
  const cases = []
  const C = 262144
  for (const profile of [V0, V1]) {
    const p = PROFILE_DEFAULTS[profile]
    const tag = profile === V0 ? 'v0' : 'v1'
    const sizes = [0, 1, 1023, C - 1, C, C + 1, 174 * C, 174 * C + 1]
    if (profile === V1) sizes.push(1048575, 1048576, 1048577)
    for (const s of sizes) cases.push([`${tag}-size-${s}`, profile, { ...p }, s])
  }
  const small = [4 * 1024, 4 * 1024 + 1, 16 * 1024, 16 * 1024 + 1, 64 * 1024 + 5]
  for (const s of small) {
    cases.push([`v0-c1024-l4-size-${s}`, V0,
      { chunk_size: 1024, max_links: 4, raw_leaves: false, cid_version: 0 }, s])
  }
  for (const s of small) {
    cases.push([`v1-c1024-l4-size-${s}`, V1,
      { chunk_size: 1024, max_links: 4, raw_leaves: true, cid_version: 1 }, s])
  }
  for (const s of [174 * 64 + 1, 174 * 174 * 64 + 1]) {
    cases.push([`v0-c64-l174-size-${s}`, V0,
      { chunk_size: 64, max_links: 174, raw_leaves: false, cid_version: 0 }, s])
  }
  // dag-pb leaves with CIDv1 (kubo: --cid-version=1 --raw-leaves=false)
  for (const s of [0, 1, 1024, 16 * 1024 + 1]) {
    cases.push([`v1-noraw-c1024-l4-size-${s}`, V1,
      { chunk_size: 1024, max_links: 4, raw_leaves: false, cid_version: 1 }, s])
  }
  cases.push([`v1-noraw-size-${1048577}`, V1,
    { chunk_size: 1048576, max_links: 1024, raw_leaves: false, cid_version: 1 }, 1048577])
  return cases
}

// ---------------------------------------------------------------------------
// Symlinks

async function symlinkCidManual (target, cidVersion) {
  const data = new UnixFS({ type: 'symlink', data: utf8(target) }).marshal()
  const block = dagPb.encode(dagPb.prepare({ Data: data, Links: [] }))
  const mh = await sha256.digest(block)
  return CID.create(cidVersion, dagPb.code, mh)
}

async function symlinkVector (name, cidVersion, target) {
  const cid = await symlinkCidManual(target, cidVersion)
  // Cross-check with the importer's own symlink builder ({path, link} candidates).
  const bs = new MemoryBlockstore()
  const res = []
  for await (const e of importer([{ path: 'link', link: target }], bs,
    { profile: cidVersion === 0 ? V0 : V1 })) {
    res.push(e)
  }
  assert(res.length === 1 && res[0].cid.equals(cid), `${name}: importer symlink matches manual`)
  return { name, cid_version: cidVersion, target, cid: cid.toString() }
}

const SYMLINK_TARGETS = [
  ['relative', 'some/target'],
  ['relative-up', '../sibling/file.txt'],
  ['absolute', '/usr/local/bin/python3'],
  ['unicode', 'café/日本語/emoji-😀.bin'],
  ['long', 'x'.repeat(300)]
]

// ---------------------------------------------------------------------------
// Trees

function cmpBytes (a, b) {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

function isHiddenPath (path) {
  return path.split('/').some((c) => c.startsWith('.'))
}

// Build an entry list from a compact spec: {files: {path: size}, dirs: [...]}.
// Every ancestor directory of every path gets a `dir` entry.
// File seeds are `${treeName}-${index}` unless seedOf says otherwise (seeds
// stay ASCII even when paths are not).
function makeEntries (treeName, files, dirs = [], seedOf = (_path, i) => `${treeName}-${i}`) {
  const dirSet = new Set(dirs)
  const entries = []
  for (const [path, size] of files) {
    const parts = path.split('/')
    for (let i = 1; i < parts.length; i++) dirSet.add(parts.slice(0, i).join('/'))
    entries.push({ path, type: 'file', content: { seed: seedOf(path, entries.length), size } })
  }
  for (const d of [...dirSet]) {
    const parts = d.split('/')
    for (let i = 1; i < parts.length; i++) dirSet.add(parts.slice(0, i).join('/'))
  }
  for (const d of dirSet) entries.push({ path: d, type: 'dir' })
  entries.sort((a, b) => cmpBytes(a.path, b.path))
  const seen = new Set()
  for (const e of entries) {
    assert(!seen.has(e.path), `duplicate path ${e.path}`)
    seen.add(e.path)
  }
  return entries
}

async function treeVector (name, profile, params, hidden, entries, root) {
  const imported = hidden ? entries : entries.filter((e) => !isHiddenPath(e.path))
  // Entries are sorted by UTF-8 bytes, so each directory precedes its contents
  // (a {path} directory candidate imported after its children would replace
  // them).
  const source = imported.map((e) => e.type === 'dir'
    ? { path: e.path }
    : { path: e.path, content: contentChunks(e.content.seed, e.content.size) })
  const bs = new MemoryBlockstore()
  const cids = {}
  for await (const r of importer(source, bs, importerOptions(profile, params))) {
    assert(!(r.path in cids), `${name}: duplicate result path ${r.path}`)
    cids[r.path] = r.cid.toString()
  }
  // The importer does not report directories that were imported as bare
  // {path} candidates and never received children (empty dirs): they only
  // appear as links in their parent.  Walk the DAG from the root to get every
  // path's CID, and check it agrees with whatever the importer reported.
  assert(root in cids, `${name}: root reported`)
  const rootCid = CID.parse(cids[root])
  const walked = { [root]: cids[root] }
  await walkDir(bs, rootCid, root, walked)
  for (const [p, c] of Object.entries(cids)) {
    assert(walked[p] === c, `${name}: importer reported ${p}=${c}, DAG has ${walked[p]}`)
  }
  for (const e of imported) assert(e.path in walked, `${name}: no CID for ${e.path}`)
  assert(Object.keys(walked).length === imported.length, `${name}: extra paths in DAG`)
  Object.assign(cids, walked)
  const { unixfs } = await unixfsOf(bs, rootCid)
  const sharded = unixfs.type === 'hamt-sharded-directory'
  if (!sharded) assert(unixfs.type === 'directory', `${name}: root is a directory`)
  let stats = ''
  if (sharded) {
    const s = await hamtStats(bs, rootCid)
    stats = ` (hamt: ${s.shards} shard nodes, ${s.maxDepth} levels)`
  }
  console.log(`  tree ${name}: ${imported.length}/${entries.length} entries imported, sharded_root=${sharded}${stats}`)
  return {
    name,
    profile,
    params,
    hidden,
    entries,
    root,
    root_cid: cids[root],
    sharded_root: sharded,
    cids
  }
}

function nestedEntries () {
  return makeEntries('nested', [
    ['root/a.txt', 0],
    ['root/b.txt', 1],
    ['root/big.bin', 300000],
    ['root/small-1.txt', 10],
    ['root/small-2.txt', 100],
    ['root/small-3.txt', 1000],
    ['root/level1/c.txt', 42],
    ['root/level1/empty.txt', 0],
    ['root/level1/level2/d.txt', 5000],
    ['root/level1/level2/level3/e.txt', 1],
    ['root/level1/level2/level3/f.bin', 70000]
  ], ['root/empty', 'root/only-empty/inner', 'root/level1/level2/level3/empty-leaf'])
}

function unicodeEntries () {
  return makeEntries('unicode', [
    ['root/café.txt', 11], // NFC
    ['root/cafe\u0301.txt', 12], // NFD: different bytes, must not be normalised
    ['root/日本語/ファイル.txt', 20],
    ['root/日本語/説明', 0],
    ['root/emoji-😀.bin', 33],
    ['root/README', 1],
    ['root/readme', 2],
    ['root/ReadMe', 3],
    ['root/\uFF61', 4], // U+FF61: UTF-16 0xFF61 > 0xD83D, UTF-8 EF BD A1 < F0
    ['root/\u{1F600}', 5], // U+1F600: surrogate pair in UTF-16
    ['root/\uE000', 6], // private use, EE 80 80
    ['root/\u{10000}', 7], // F0 90 80 80, UTF-16 D800 DC00
    ['root/z', 8],
    ['root/Z', 9],
    ['root/ä', 10],
    ['root/Ω', 11],
    ['root/a b', 12],
    ['root/-leading-dash', 13],
    ['root/x.y.z', 14],
    ['root/Ünïcödé/ñ.txt', 15],
    ['root/Ünïcödé/\u{1F600}\u{1F600}/deep.txt', 16]
  ], ['root/空'])
}

function hiddenEntries () {
  return makeEntries('hidden', [
    ['root/visible.txt', 5],
    ['root/.hidden.txt', 6],
    ['root/.config/settings.json', 30],
    ['root/.config/sub/deep.txt', 7],
    ['root/dir/.dotfile', 8],
    ['root/dir/normal.txt', 9],
    ['root/dir/.dotdir/x.txt', 10],
    ['root/dir2/.only-hidden', 11],
    ['root/not.hidden', 12],
    ['root/..double-dot', 13]
  ], ['root/.emptydotdir', 'root/dir/empty'])
}

// --- HAMT threshold tuning -------------------------------------------------

function varintLen (x) {
  let n = 1
  while (x >= 128) { x = Math.floor(x / 128); n++ }
  return n
}

// Estimated directory size exactly as the importer's DirFlat computes it.
function linkCost (strategy, nameBytes, cidBytes, tsize) {
  if (strategy === 'links-bytes') return nameBytes + cidBytes
  const linkLen = 1 + varintLen(cidBytes) + cidBytes +
    1 + varintLen(nameBytes) + nameBytes +
    1 + varintLen(tsize)
  return 1 + varintLen(linkLen) + linkLen
}

// cid byte length and Tsize of a single-block file child
function childShape (params, size) {
  assert(size <= params.chunk_size, 'hamt children are single-block files')
  if (params.raw_leaves) return { cidBytes: 36, tsize: size }
  // dag-pb leaf: Data = UnixFS{Type=File, Data=bytes, filesize}
  const block = dagPb.encode(dagPb.prepare({
    Data: new UnixFS({ type: 'file', data: new Uint8Array(size) }).marshal(), Links: []
  }))
  return { cidBytes: params.cid_version === 0 ? 34 : 36, tsize: block.length }
}

function estimate (strategy, params, files) {
  let total = strategy === 'block-bytes' ? 4 : 0
  for (const [name, size] of files) {
    const { cidBytes, tsize } = childShape(params, size)
    total += linkCost(strategy, utf8(name).length, cidBytes, tsize)
  }
  return total
}

// n files named base(i) padded with 'x' so that the estimate is exactly
// target: the largest uniform padding that stays <= target, then single bytes
// added to names one by one (skipping any that would jump past the target
// when a varint grows).
function tunedHamtFiles (profile, params, n, base, sizeOf, target) {
  const strategy = profile === V0 ? 'links-bytes' : 'block-bytes'
  const padded = (p) => Array.from({ length: n }, (_, i) => [base(i) + 'x'.repeat(p), sizeOf(i)])
  assert(estimate(strategy, params, padded(0)) <= target, 'hamt tuning: base names too long')
  let p = 0
  while (estimate(strategy, params, padded(p + 1)) <= target) p++
  const files = padded(p)
  let total = estimate(strategy, params, files)
  for (let i = 0; i < n && total < target; i++) {
    const before = estimate(strategy, params, [files[i]])
    const after = estimate(strategy, params, [[files[i][0] + 'x', files[i][1]]])
    if (total + after - before <= target) {
      files[i][0] += 'x'
      total += after - before
    }
  }
  const got = estimate(strategy, params, files)
  assert(got === target, `hamt tuning: got ${got}, wanted ${target}`)
  return files
}

function hamtThresholdEntries (treeName, profile, params, n, base, over) {
  const sizeOf = (i) => (i % 50 === 0 ? 0 : 1 + (i % 7))
  const files = tunedHamtFiles(profile, params, n, base, sizeOf, SHARD_THRESHOLD + (over ? 1 : 0))
  return makeEntries(treeName, files.map(([name, size]) => [`root/${name}`, size]), [],
    (_path, i) => `h${i}`)
}

// ---------------------------------------------------------------------------
// Output: stable JSON (keys sorted by UTF-8 bytes, small values inline)

function stable (v, topOrder = null) {
  if (Array.isArray(v)) return v.map((x) => stable(x))
  if (v !== null && typeof v === 'object') {
    const o = {}
    const keys = topOrder ?? Object.keys(v).sort(cmpBytes)
    assert(keys.length === Object.keys(v).length, 'stable: key list')
    for (const k of keys) o[k] = stable(v[k])
    return o
  }
  return v
}

function depth (v) {
  if (v === null || typeof v !== 'object') return 0
  return 1 + Math.max(0, ...Object.values(v).map(depth))
}

// Small values, and small records such as one tree entry, stay on one line.
function fmt (v, indent = '') {
  const inline = JSON.stringify(v)
  if (inline.length <= 100 || v === null || typeof v !== 'object') return inline
  if (!Array.isArray(v) && Object.keys(v).length <= 5 && depth(v) <= 2) return inline
  const ind = indent + '  '
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]'
    return '[\n' + v.map((x) => ind + fmt(x, ind)).join(',\n') + '\n' + indent + ']'
  }
  const keys = Object.keys(v)
  if (keys.length === 0) return '{}'
  return '{\n' + keys.map((k) => ind + JSON.stringify(k) + ': ' + fmt(v[k], ind)).join(',\n') +
    '\n' + indent + '}'
}

// ---------------------------------------------------------------------------

async function main () {
  const t0 = Date.now()
  const out = {
    generator: `ipfs-unixfs-importer@${IMPORTER_VERSION} (node ${process.version})`,
    files: [],
    symlinks: [],
    trees: []
  }

  console.log('files...')
  for (const [name, profile, params, size] of fileCases()) {
    const v = await fileVector(name, profile, params, size)
    out.files.push(v)
    console.log(`  ${name}: ${v.cid} tsize=${v.tsize}`)
  }

  console.log('symlinks...')
  for (const cv of [0, 1]) {
    for (const [label, target] of SYMLINK_TARGETS) {
      out.symlinks.push(await symlinkVector(`symlink-v${cv}-${label}`, cv, target))
    }
  }

  console.log('trees...')
  for (const profile of [V0, V1]) {
    const tag = profile === V0 ? 'v0' : 'v1'
    const p = { ...PROFILE_DEFAULTS[profile] }
    out.trees.push(await treeVector(`${tag}-nested`, profile, p, false, nestedEntries(), 'root'))
    out.trees.push(await treeVector(`${tag}-unicode`, profile, p, false, unicodeEntries(), 'root'))
    out.trees.push(await treeVector(`${tag}-hidden-false`, profile, p, false, hiddenEntries(), 'root'))
    out.trees.push(await treeVector(`${tag}-hidden-true`, profile, p, true, hiddenEntries(), 'root'))
    // ~100-byte names keep the entry count (and vectors.json) small: the
    // names alone must add up to roughly the 256 KiB threshold.
    const n = profile === V0 ? 2048 : 1885
    const base = (i) => `hamt-${String(i).padStart(4, '0')}-`
    for (const over of [false, true]) {
      const tname = over ? 'hamt-over' : 'hamt-under'
      const entries = hamtThresholdEntries(tname, profile, p, n, base, over)
      const v = await treeVector(`${tag}-${tname}`, profile, p, false, entries, 'root')
      assert(v.sharded_root === over, `${tag}-${tname}: sharded_root must be ${over}`)
      out.trees.push(v)
    }
    if (profile === V1) {
      // non-ASCII names, exactly one byte over the threshold
      const ubase = (i) => `データ-${String(i).padStart(4, '0')}-é-`
      const entries = hamtThresholdEntries('hamt-unicode-over', profile, p, n, ubase, true)
      const v = await treeVector(`${tag}-hamt-unicode-over`, profile, p, false, entries, 'root')
      assert(v.sharded_root === true, `${tag}-hamt-unicode-over must shard`)
      out.trees.push(v)
    }
  }
  {
    // large v0 HAMT with short names: sub-shards several levels deep
    const files = []
    for (let i = 0; i < HAMT_DEEP_COUNT; i++) files.push([`root/${i.toString(36)}`, i % 3])
    const entries = makeEntries('hamt-deep', files, [], (_path, i) => `d${i}`)
    const v = await treeVector('v0-hamt-deep', V0, { ...PROFILE_DEFAULTS[V0] }, false, entries, 'root')
    assert(v.sharded_root, 'hamt-deep must shard')
    out.trees.push(v)
  }

  // Well-known values
  const byName = (arr, n) => arr.find((x) => x.name === n)
  assert(byName(out.files, 'v0-size-0').cid === EMPTY_FILE_V0, 'v0 empty file CID')
  assert(out.trees.find((t) => t.name === 'v0-nested').cids['root/empty'] === EMPTY_DIR_V0, 'v0 empty dir CID')

  for (const c of [...out.files.map((f) => f.content),
    ...out.trees.flatMap((t) => t.entries.filter((e) => e.type === 'file').map((e) => e.content))]) {
    assert(/^[\x20-\x7e]*$/.test(c.seed), `non-ASCII seed ${c.seed}`)
  }
  assert(new Set(out.files.map((f) => f.content.seed)).size === out.files.length, 'file seeds distinct')

  const text = fmt(stable(out, ['generator', 'files', 'symlinks', 'trees'])) + '\n'
  // Gzipped: the HAMT cases need ~256 KiB of names each, 4.5 MB of plain JSON.
  // gzipSync writes no timestamp, so the file is byte-identical on a rerun.
  writeFileSync(join(HERE, 'vectors.json.gz'), gzipSync(Buffer.from(text), { level: 9 }))
  console.log(`wrote vectors.json.gz: ${out.files.length} files, ${out.symlinks.length} symlinks, ` +
    `${out.trees.length} trees, ${text.length} chars, ${((Date.now() - t0) / 1000).toFixed(1)} s`)
}

await main()
