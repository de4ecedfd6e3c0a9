/**
 * The advice a failed connection gives, from real sockets: https:// to a plain HTTP port, http:// to
 * an HTTPS port, a port where nothing listens, an unknown host. Each error names the likely fix, and
 * the node status carries a short reason ("error: NETWORK refused :8443") in English and German,
 * read from the shipped locale files.
 */
import assert from 'node:assert';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import axios from 'axios';
import type { Node } from 'node-red';

import { SessionError } from '../../../src/lib/errors';
import { transportError } from '../../../src/lib/http/transport-errors';
import { NodeStatus } from '../../../src/lib/node-red/node-status';
import type { Translate } from '../../../src/lib/node-red/i18n';

const ROOT = path.join(__dirname, '..', '..', '..');
const TLS_DIR = path.join(ROOT, 'test', 'fixtures', 'tls');

/** The runtime texts of a shipped locale, as Node-RED's i18n fills them (`__name__`). */
function catalog(locale: string): Translate {
    const file = path.join(ROOT, 'nodes', 'locales', locale, 'rest-session-server.json');
    const texts = (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>)['rest-session-server'];
    return (key, params = {}) => {
        const found = key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], texts);
        assert.strictEqual(typeof found, 'string', `${locale}: ${key} is in the catalog`);
        return (found as string).replace(/__(\w+)__/g, (_match, name: string) => String(params[name]));
    };
}

/** The status text a flow node shows for `error`. */
function statusText(error: SessionError, locale = 'en-US'): string {
    const shown: Array<{ text?: string }> = [];
    const node = { status: (status: { text?: string }) => shown.push(status) } as unknown as Node;
    const status = new NodeStatus(node, catalog(locale), undefined, false);
    status.showError(error);
    status.close();
    return String(shown[shown.length - 1]?.text);
}

/** What a GET to `url` fails with, as the package reports it. */
async function failure(url: string): Promise<SessionError> {
    const agent = new https.Agent({ ca: fs.readFileSync(path.join(TLS_DIR, 'ca.crt')), keepAlive: false });
    try {
        await axios.get(url, { httpsAgent: agent, timeout: 10000, proxy: false });
    } catch (error) {
        return transportError(error, 'GET', url, 10000);
    } finally {
        agent.destroy();
    }
    throw new Error(`${url} answered`);
}

function listen(server: http.Server): Promise<number> {
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function close(server: http.Server): Promise<void> {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
}

describe('transport advice (real sockets)', function () {
    let plain: http.Server;
    let secure: https.Server;
    let plainPort: number;
    let securePort: number;
    let closedPort: number;
    const served = { plain: 0, secure: 0 };

    before(async function () {
        plain = http.createServer((_req, res) => {
            served.plain++;
            res.end('plain');
        });
        secure = https.createServer(
            { key: fs.readFileSync(path.join(TLS_DIR, 'server.key')), cert: fs.readFileSync(path.join(TLS_DIR, 'server.crt')) },
            (_req, res) => {
                served.secure++;
                res.end('secure');
            },
        );
        plainPort = await listen(plain);
        securePort = await listen(secure);
        // A port that was free a moment ago: nothing listens there now.
        const probe = http.createServer();
        closedPort = await listen(probe);
        await close(probe);
    });

    after(async function () {
        await close(plain);
        await close(secure);
    });

    it('https:// to a plain HTTP port: TLS, "try http://", status "plain HTTP on :port"', async function () {
        const error = await failure(`https://127.0.0.1:${plainPort}/cms/login`);
        assert.strictEqual(error.code, 'TLS');
        assert.match(error.message, new RegExp(`port ${plainPort} speaks plain HTTP, so try http:// in the base URL`));
        assert.ok(!/trust it with a TLS configuration/.test(error.message), error.message);
        assert.strictEqual(statusText(error), `error: TLS plain HTTP on :${plainPort}`);
        assert.strictEqual(statusText(error, 'de'), `Fehler: TLS reines HTTP auf :${plainPort}`);
        assert.strictEqual(served.plain, 0, 'no request was answered');
    });

    it('http:// to an HTTPS port: NETWORK, "try https://", status "reset :port"', async function () {
        const error = await failure(`http://127.0.0.1:${securePort}/cms/login`);
        assert.strictEqual(error.code, 'NETWORK');
        assert.match(error.message, new RegExp(`if port ${securePort} speaks HTTPS only, try https:// in the base URL`));
        assert.strictEqual(statusText(error), `error: NETWORK reset :${securePort}`);
        assert.strictEqual(served.secure, 0, 'no request was answered');
    });

    it('a port where nothing listens: NETWORK, names host and port, status "refused :port"', async function () {
        const error = await failure(`https://127.0.0.1:${closedPort}/cms/login`);
        assert.strictEqual(error.code, 'NETWORK');
        assert.match(
            error.message,
            new RegExp(`nothing accepts connections on port ${closedPort} of 127\\.0\\.0\\.1 \\(ECONNREFUSED\\): check the host and port in the base URL`),
        );
        assert.strictEqual(statusText(error), `error: NETWORK refused :${closedPort}`);
        assert.strictEqual(statusText(error, 'de'), `Fehler: NETWORK abgewiesen :${closedPort}`);
    });

    it('the scheme default port when the URL names none', async function () {
        const error = transportError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'GET', 'https://device.example/cms', 1000);
        assert.match(error.message, /port 443 of device\.example/);
        assert.strictEqual(statusText(error), 'error: NETWORK refused :443');
    });

    it('an unknown host: NETWORK, "check the host", status "unknown host"', async function () {
        // .invalid never resolves (RFC 6761): the resolver answers at once, no traffic leaves the machine.
        const error = await failure('https://no-such-device.invalid/cms');
        assert.strictEqual(error.code, 'NETWORK');
        assert.match(error.message, /the host name no-such-device\.invalid is not known \((ENOTFOUND|EAI_AGAIN)\): check the host in the base URL/);
        assert.strictEqual(statusText(error), 'error: NETWORK unknown host');
    });

    it('a status without a known reason keeps the bare code', function () {
        assert.strictEqual(statusText(new SessionError('SERVER_ERROR', 'HTTP 500')), 'error: SERVER_ERROR');
    });
});
