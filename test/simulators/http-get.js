'use strict';

/**
 * Tiny HTTP(S) client for simulator tests, on node core only, so the simulators are tested
 * independently of the package's own HTTP stack.
 *
 *   const res = await request(url, { method, headers, body, ca, timeoutMs });
 *   (ca defaults to the test CA; pass ca: null to trust only the system CAs)
 *   res.status, res.headers (lower-case names), res.body (string), res.json()
 */

const http = require('node:http');
const https = require('node:https');
const fs = require('node:fs');
const path = require('node:path');

const TEST_CA = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'tls', 'ca.crt'));

function request(url, { method = 'GET', headers = {}, body, ca = TEST_CA, timeoutMs = 5000 } = {}) {
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? https : http;
  const payload = body === undefined || typeof body === 'string' || Buffer.isBuffer(body)
    ? body
    : JSON.stringify(body);
  const allHeaders = { ...headers };
  // Frame the body explicitly: Node does not chunk DELETE bodies by default.
  if (payload !== undefined) allHeaders['Content-Length'] = Buffer.byteLength(payload);
  return new Promise((resolve, reject) => {
    // agent: false, so every call is a fresh connection and no keep-alive socket outlives a test.
    const req = transport.request(target, { method, headers: allHeaders, ca: ca || undefined, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode, headers: res.headers, body: text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(payload);
  });
}

module.exports = { request, TEST_CA };
