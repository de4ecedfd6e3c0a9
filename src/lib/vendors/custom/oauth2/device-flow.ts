import { CookieJar } from 'tough-cookie';

import { SessionError, isSessionError } from '../../../errors';
import type { GrantPrompt, GrantRecord, GrantRuntime, LoginCredentials, VendorContext } from '../../adapter';
import { atPath, replyJson } from '../reply';
import { authorizedLineage, recordFrom } from './record';
import { OAuthError, OAuthSettings, PROVIDER, clientExchange, providerError, requestTokens } from './token-endpoint';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const STATE_KEY = 'deviceFlow';
/** RFC 8628 §3.2: the interval when the provider names none; §3.5: slow_down adds 5 s. */
const DEFAULT_INTERVAL_S = 5;
const SLOW_DOWN_S = 5;
/** Missed polls after which the others count the polling instance as gone. */
const POLLER_GONE_AFTER = 3;

interface DeviceFlow {
    prompt: GrantPrompt;
    /** `waiting` for the person; `denied` or `expired` end it until someone presses Authorize again. */
    outcome: 'waiting' | 'denied' | 'expired';
    /** The flow this deploy runs now (an Authorize press replaces it). */
    readonly id: number;
}

let flows = 0;

/** The device flow of this deploy, if one was started. */
function flowOf(runtime: GrantRuntime): DeviceFlow | undefined {
    return runtime.state.get(STATE_KEY) as DeviceFlow | undefined;
}

/** `AUTHORIZATION_REQUIRED` telling the person where to enter the code. */
function visitError(prompt: GrantPrompt): SessionError {
    return new SessionError('AUTHORIZATION_REQUIRED', `Not authorized yet: visit ${prompt.verificationUri} and enter ${prompt.userCode}.`, {
        visit: { uri: prompt.verificationUri, userCode: prompt.userCode },
    });
}

/** `AUTHORIZATION_REQUIRED` saying what the person must do, while a device flow of this deploy waits or after it ended. */
export function deviceFlowError(runtime: GrantRuntime): SessionError | undefined {
    const flow = flowOf(runtime);
    if (!flow) return undefined;
    if (flow.outcome === 'waiting' && flow.prompt.expiresAt > Date.now()) return visitError(flow.prompt);
    const why = flow.outcome === 'denied' ? 'was denied' : 'expired';
    return new SessionError('AUTHORIZATION_REQUIRED', `The device authorization ${why}: press Authorize in the server configuration to start again.`);
}

/** The code another instance of the fleet (or this one before a restart) showed and still polls for, if it waits. */
function waitingElsewhere(record: GrantRecord | undefined): SessionError | undefined {
    const device = record?.device;
    const now = Date.now();
    return device?.outcome === 'waiting' && device.prompt.expiresAt > now && (device.polledUntil ?? 0) > now ? visitError(device.prompt) : undefined;
}

/**
 * No usable tokens for a device grant: this deploy's flow says what to do; else the code another
 * instance started and still polls for is shown (never a second flow for one grant at once); else a
 * flow starts, once per deploy, under the grant's lease. Resolves with tokens only when another
 * instance got them meanwhile.
 */
export async function awaitDevice(context: VendorContext, credentials: LoginCredentials, record: GrantRecord | undefined): Promise<GrantRecord> {
    const runtime = context.grant;
    if (!runtime) throw new SessionError('CONFIG', 'Deploy the server configuration first, then authorize.');
    const own = deviceFlowError(runtime) ?? waitingElsewhere(record);
    if (own) throw own;
    const found = await runtime.store.lease(async () => {
        const latest = await runtime.store.read();
        if (latest?.accessToken && !latest.dead) return latest;
        const shown = deviceFlowError(runtime) ?? waitingElsewhere(latest);
        if (shown) throw shown;
        await startDeviceFlow(context, credentials);
        return undefined;
    });
    if (found) return found;
    throw deviceFlowError(runtime) ?? new SessionError('AUTHORIZATION_REQUIRED', 'Authorize the device in the server configuration.');
}

/**
 * Tells the fleet about this flow's code (or its end) in the grant's record, keeping what else it
 * holds; while it waits, until when this instance will have polled again (a few intervals).
 */
async function share(runtime: GrantRuntime, flow: DeviceFlow, intervalS = DEFAULT_INTERVAL_S): Promise<void> {
    const stored = await runtime.store.read();
    const device = stored?.device;
    // An Authorize press elsewhere replaced it: that flow's code is the one to show.
    if (flow.outcome !== 'waiting' && device && device.prompt.userCode !== flow.prompt.userCode) return;
    const polledUntil = Date.now() + (POLLER_GONE_AFTER * intervalS + SLOW_DOWN_S) * 1000;
    await runtime.store.write({ ...(stored ?? { expiresAt: null, obtainedAt: 0 }), device: { prompt: flow.prompt, outcome: flow.outcome, polledUntil } });
}

/**
 * Starts a device flow (RFC 8628 §3.1): asks the provider for a user code, shows it, and polls the
 * token endpoint at the interval the provider gave until a person approved, denied or it expired.
 */
export async function startDeviceFlow(context: VendorContext, credentials: LoginCredentials): Promise<GrantPrompt> {
    const runtime = context.grant;
    if (!runtime) throw new SessionError('CONFIG', 'Deploy the server configuration first, then authorize.');
    const settings = context.settings as OAuthSettings;
    const form: Record<string, string> = settings.scope ? { scope: settings.scope } : {};
    const response = await context.send(clientExchange(settings, credentials, settings.deviceAuthorizationPath, form), { jar: new CookieJar() });
    const reply = replyJson(response);
    if (response.status < 200 || response.status >= 300) throw providerError(response, reply, credentials.username);
    const text = (path: string): string | undefined => {
        const value = atPath(reply, path);
        return typeof value === 'string' && /^[\x21-\x7e]{1,2048}$/.test(value) ? value : undefined;
    };
    const deviceCode = text('device_code');
    const userCode = text('user_code');
    const verificationUri = text('verification_uri') ?? text('verification_url');
    if (!deviceCode || !userCode || !verificationUri || !/^https?:\/\//.test(verificationUri)) {
        throw new SessionError('SERVER_ERROR', `${PROVIDER} answered the device authorization without a device code, user code or verification URI.`);
    }
    const expiresIn = Number(atPath(reply, 'expires_in'));
    const interval = Number(atPath(reply, 'interval'));
    const complete = text('verification_uri_complete');
    const prompt: GrantPrompt = {
        userCode,
        verificationUri,
        ...(complete && /^https?:\/\//.test(complete) ? { verificationUriComplete: complete } : {}),
        expiresAt: Date.now() + (Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 600) * 1000,
    };
    const flow: DeviceFlow = { prompt, outcome: 'waiting', id: ++flows };
    runtime.state.set(STATE_KEY, flow);
    const intervalS = Number.isFinite(interval) && interval > 0 ? interval : DEFAULT_INTERVAL_S;
    // The other instances show this code rather than start their own, while this one polls for it.
    await share(runtime, flow, intervalS).catch(() => undefined);
    runtime.changed();
    poll(context, credentials, runtime, flow, deviceCode, intervalS);
    return prompt;
}

/** Polls once after `intervalS`, then again as the provider's answer says. */
function poll(context: VendorContext, credentials: LoginCredentials, runtime: GrantRuntime, flow: DeviceFlow, deviceCode: string, intervalS: number): void {
    runtime.later(intervalS * 1000, () => {
        if (runtime.closed || flowOf(runtime) !== flow) return;
        if (flow.prompt.expiresAt <= Date.now()) return end(runtime, flow, 'expired');
        requestTokens(context, credentials, { grant_type: DEVICE_GRANT, device_code: deviceCode }).then(
            async (reply) => {
                const stored = await runtime.store.read().catch(() => undefined);
                await runtime.store.write(recordFrom(reply, authorizedLineage(stored, credentials.refreshToken)));
                if (flowOf(runtime) === flow) runtime.state.delete(STATE_KEY);
                runtime.changed();
            },
            (error: unknown) => {
                const code = error instanceof OAuthError ? error.error : undefined;
                const again = (nextS: number): void => {
                    void share(runtime, flow, nextS).catch(() => undefined);
                    poll(context, credentials, runtime, flow, deviceCode, nextS);
                };
                if (code === 'access_denied') return end(runtime, flow, 'denied');
                if (code === 'expired_token') return end(runtime, flow, 'expired');
                if (code === 'slow_down') return again(intervalS + SLOW_DOWN_S);
                // authorization_pending, and a transient fault: ask again at the same pace.
                if (
                    code === 'authorization_pending' ||
                    (isSessionError(error) && (error.code === 'TIMEOUT' || error.code === 'NETWORK' || error.code === 'SERVER_ERROR'))
                )
                    return again(intervalS);
                end(runtime, flow, 'denied');
            },
        );
    });
}

function end(runtime: GrantRuntime, flow: DeviceFlow, outcome: DeviceFlow['outcome']): void {
    flow.outcome = outcome;
    void share(runtime, flow).catch(() => undefined);
    runtime.changed();
}
