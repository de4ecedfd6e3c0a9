/**
 * Typed fakes for unit tests of the session core and the vendor adapters: replies, settings, a
 * VendorContext that answers from a script, and the error a failing call rejects with. Nothing goes
 * over the network (the node and simulator tests do that).
 */
import assert from 'node:assert';

import sinon from 'sinon';
import { CookieJar } from 'tough-cookie';

import { SessionError } from '../../src/lib/errors';
import type { HttpResponse } from '../../src/lib/http/http-client';
import type { LoginCredentials, LoginResult, SessionCredential, VendorAdapter, VendorContext, VendorExchange } from '../../src/lib/vendors/adapter';

/**
 * Settings of any vendor: a test sets the options of the adapter it tests (each adapter's own type
 * is checked where the adapter is written).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ServerSettings = any;

/** A reply as the HTTP client gives it: `body` as text, or as JSON when it is not a string. */
export function reply(status: number, body: unknown = '', headers: HttpResponse['headers'] = {}, url = ''): HttpResponse {
    return { status, headers, body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), url, redirects: [] };
}

/** Every setting, with the values a config node has by default, then `overrides`. */
export function testSettings(overrides: Record<string, unknown> = {}): ServerSettings {
    return {
        vendor: 'smartserver',
        baseUrl: 'https://device.example',
        apiVersion: 'v1.1',
        format: 'json',
        authScheme: 'basic',
        tokenLifetime: '',
        domain: '',
        commserver: '',
        requestTimeoutMs: 30000,
        ...overrides,
    };
}

export type SendSpy = sinon.SinonSpy<[VendorExchange, SessionCredential], Promise<HttpResponse>>;

/** A VendorContext whose `send` is a spy: the tests read the exchanges from `send.getCalls()`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface FakeContext extends VendorContext<any> {
    settings: ServerSettings;
    send: SendSpy;
}

/**
 * Answers each exchange with the next reply of `replies` for its "METHOD path" (a list is used in
 * order, its last reply repeats); an exchange nobody scripted rejects. With `storeCookies`, a reply's
 * Set-Cookie headers land in the credential's jar, as the real transport does.
 */
export function scriptedContext(
    script: Record<string, HttpResponse | HttpResponse[]>,
    settings: Partial<ServerSettings> = {},
    { storeCookies = false }: { storeCookies?: boolean } = {},
): FakeContext {
    const queues = new Map(Object.entries(script).map(([key, value]) => [key, ([] as HttpResponse[]).concat(value)]));
    const full = testSettings(settings);
    const send: SendSpy = sinon.spy(async (exchange: VendorExchange, credential: SessionCredential) => {
        const queue = queues.get(`${exchange.method} ${exchange.path}`);
        if (!queue || !queue.length) throw new Error(`unexpected ${exchange.method} ${exchange.path}`);
        const response = queue.length > 1 ? queue.shift()! : queue[0];
        if (storeCookies) {
            const cookies = ([] as string[]).concat(response.headers['set-cookie'] ?? []);
            for (const header of cookies) credential.jar.setCookieSync(header, full.baseUrl + exchange.path, { ignoreError: true });
        }
        return response.url ? response : { ...response, url: full.baseUrl + exchange.path };
    });
    return { settings: full, send };
}

/** Answers every exchange with the next of `replies`, whatever it asks; the last one repeats unless `strict`. */
export function queuedContext(replies: HttpResponse | HttpResponse[], settings: Partial<ServerSettings> = {}, { strict = false } = {}): FakeContext {
    const queue = ([] as HttpResponse[]).concat(replies);
    const send: SendSpy = sinon.spy(async (exchange: VendorExchange, _credential: SessionCredential) => {
        if (!queue.length) throw new Error(`unexpected ${exchange.method} ${exchange.path}`);
        return strict || queue.length > 1 ? queue.shift()! : queue[0];
    });
    return { settings: testSettings(settings), send };
}

/** The exchange of the `index`th call of a fake context's `send`. */
export function exchangeOf(context: FakeContext, index = 0): VendorExchange {
    return context.send.getCall(index).args[0];
}

/** Logs in with a fresh jar: the result and the credential the adapter filled in. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function loginWith(
    adapter: VendorAdapter<any>,
    context: VendorContext<any>,
    credentials: LoginCredentials,
): Promise<{ result: LoginResult; credential: SessionCredential }> {
    const credential: SessionCredential = { jar: new CookieJar() };
    const result = await adapter.login(context, credentials, credential);
    return { result, credential };
}

/** The SessionError a call rejects with; fails the test when it resolves or rejects with something else. */
export async function rejection(promise: Promise<unknown>): Promise<SessionError> {
    try {
        await promise;
    } catch (error) {
        assert.ok(error instanceof SessionError, `expected a SessionError, got ${String(error)}`);
        return error;
    }
    return assert.fail('the call should have failed');
}

/** The SessionError a login rejects with. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function loginError(adapter: VendorAdapter<any>, context: VendorContext<any>, credentials: LoginCredentials): Promise<SessionError> {
    return rejection(adapter.login(context, credentials, { jar: new CookieJar() }));
}
