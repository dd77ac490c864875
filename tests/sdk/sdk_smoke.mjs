// Talks to a running `bulkpin serve` the way Decoo's JavaScript SDK (@decooio/sdk 1.0.6)
// does, request for request, with the libraries and versions that SDK depends on:
// axios 0.21 (HTTP), form-data 4 (the multipart body, streamed chunked from a file
// stream whose part filename is the CID), public-encrypt (the `secret`, via
// privateEncrypt of the CID with the private key wrapped in PEM armour).
//
// The SDK itself is not on the npm registry any more, so this script reproduces its
// calls (listEndpoints, token.getToken, pinFile, pinByHash) rather than importing it.
// The SDK computes the CID with ipfs-core; here it comes from bulkpin's engine (golden
// tests already tie that engine to the JS importer).
//
//   node sdk_smoke.mjs PROFILE_JSON FILE CID
// PROFILE_JSON: {"cloud_url", "api_key", "private_key"}. Prints one JSON line of results.

import fs from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const axios = require('axios')
const FormData = require('form-data')
const crypto = require('public-encrypt')

const [profilePath, filePath, cid] = process.argv.slice(2)
const profile = JSON.parse(fs.readFileSync(profilePath, 'utf8'))
const jwt = profile.api_key
const privateKey = profile.private_key

// listEndpoints.js: GET {cloud}/endpoint/list with the API key.
const endpoints = (await axios.request({
  url: profile.cloud_url + '/endpoint/list', method: 'GET',
  headers: { Authorization: 'Bearer ' + jwt }
})).data

// token.js: GET {cloud}/oauth/accessToken, the token is in Data.
async function getToken () {
  const data = (await axios.request({
    url: profile.cloud_url + '/oauth/accessToken', method: 'GET',
    headers: { Authorization: 'Bearer ' + jwt }
  })).data
  return data.Data
}

// pinFile.js: file first (a stream; filename falls back to the CID), then cid, then secret.
const pinFileKey = `-----BEGIN PRIVATE KEY-----\n${privateKey}\n-----END PRIVATE KEY-----`
const fileSecret = crypto.privateEncrypt(pinFileKey, Buffer.from(cid)).toString('base64')
const form = new FormData()
const stream = fs.createReadStream(filePath)
form.append('file', stream, stream.name ? stream.name : cid)
form.append('cid', cid)
form.append('secret', fileSecret)
const pinned = (await axios.request({
  url: endpoints[0].apiHost + '/pinning/pinFile', method: 'post', data: form,
  headers: { ...form.getHeaders(), UserAccessToken: await getToken() },
  maxContentLength: Infinity, maxBodyLength: Infinity
})).data

// pinByHash.js: JSON {hashToPin, secret}; this one wraps the key without newlines,
// which the OpenSSL of current Node refuses to parse (an SDK bug that breaks pinByHash
// against any service); then sign as pinFile does, and say so in the output.
let hashKeyFormat = 'sdk'
let hashSecret
try {
  const hashKey = `-----BEGIN PRIVATE KEY-----${privateKey}-----END PRIVATE KEY-----`
  hashSecret = crypto.privateEncrypt(hashKey, Buffer.from(cid)).toString('base64')
} catch (err) {
  hashKeyFormat = 'pinFile-style PEM (' + (err.code || err.message) + ')'
  hashSecret = crypto.privateEncrypt(pinFileKey, Buffer.from(cid)).toString('base64')
}
const byHash = (await axios.request({
  url: endpoints[0].apiHost + '/pinning/pinByHash', method: 'post',
  data: { hashToPin: cid, secret: hashSecret },
  headers: { UserAccessToken: await getToken() }
})).data

console.log(JSON.stringify({ endpoints, pinned, byHash, hashKeyFormat }))
