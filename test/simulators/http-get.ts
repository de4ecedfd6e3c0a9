/**
 * Tiny HTTP(S) client for simulator tests, on node core only, so the simulators are tested
 * independently of the package's own HTTP stack.
 *
 *   const res = await request(url, { method, headers, body, ca, timeoutMs });
 *   (ca defaults to the test CA; pass ca: null to trust only the system CAs)
 *   res.status, res.headers (lower-case names), res.body (string), res.json()
 */

import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import path from 'node:path';

export const TEST_CA = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'tls', 'ca.crt'));

export interface RequestOptions {
    method?: string;
    headers?: http.OutgoingHttpHeaders;
    /** A string or Buffer goes as is; anything else as JSON. */
    body?: unknown;
    ca?: Buffer | string | null;
    timeoutMs?: number;
    /** A keep-alive agent, to reuse connections; default none (a fresh connection per call). */
    agent?: http.Agent;
}

export interface Reply {
    status: number;
    headers: http.IncomingHttpHeaders;
    body: string;
    // The parsed body is whatever the test expects to read from it.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    json: () => any;
}

export function request(url: string, { method = 'GET', headers = {}, body, ca = TEST_CA, timeoutMs = 5000, agent }: RequestOptions = {}): Promise<Reply> {
    const target = new URL(url);
    const transport = target.protocol === 'https:' ? https : http;
    const payload = body === undefined || typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const allHeaders = { ...headers };
    // Frame the body explicitly: Node does not chunk DELETE bodies by default.
    if (payload !== undefined) allHeaders['Content-Length'] = Buffer.byteLength(payload);
    return new Promise((resolve, reject) => {
        // agent: false by default, so every call is a fresh connection and no keep-alive socket outlives a test.
        const req = transport.request(target, { method, headers: allHeaders, ca: ca || undefined, agent: agent ?? false }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => {
                const text = Buffer.concat(chunks).toString('utf8');
                resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: () => JSON.parse(text) as unknown });
            });
            res.on('error', reject);
        });
        req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
        req.on('error', reject);
        req.end(payload);
    });
}
