import { CookieJar } from 'tough-cookie';

import { SessionError, isSessionError } from '../../../errors';
import type { GrantPrompt, GrantRuntime, LoginCredentials, VendorContext } from '../../adapter';
import { atPath, replyJson } from '../reply';
import { recordFrom, seedOf } from './record';
import { OAuthError, OAuthSettings, PROVIDER, clientExchange, providerError, requestTokens } from './token-endpoint';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const STATE_KEY = 'deviceFlow';
/** RFC 8628 §3.2: the interval when the provider names none; §3.5: slow_down adds 5 s. */
const DEFAULT_INTERVAL_S = 5;
const SLOW_DOWN_S = 5;

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

/** `AUTHORIZATION_REQUIRED` saying what the person must do, while a device flow of this deploy waits or after it ended. */
export function deviceFlowError(runtime: GrantRuntime): SessionError | undefined {
    const flow = flowOf(runtime);
    if (!flow) return undefined;
    const { prompt } = flow;
    if (flow.outcome === 'waiting' && prompt.expiresAt > Date.now()) {
        return new SessionError('AUTHORIZATION_REQUIRED', `Not authorized yet: visit ${prompt.verificationUri} and enter ${prompt.userCode}.`, {
            visit: { uri: prompt.verificationUri, userCode: prompt.userCode },
        });
    }
    const why = flow.outcome === 'denied' ? 'was denied' : 'expired';
    return new SessionError('AUTHORIZATION_REQUIRED', `The device authorization ${why}: press Authorize in the server configuration to start again.`);
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
    runtime.changed();
    poll(context, credentials, runtime, flow, deviceCode, Number.isFinite(interval) && interval > 0 ? interval : DEFAULT_INTERVAL_S);
    return prompt;
}

/** Polls once after `intervalS`, then again as the provider's answer says. */
function poll(context: VendorContext, credentials: LoginCredentials, runtime: GrantRuntime, flow: DeviceFlow, deviceCode: string, intervalS: number): void {
    runtime.later(intervalS * 1000, () => {
        if (runtime.closed || flowOf(runtime) !== flow) return;
        if (flow.prompt.expiresAt <= Date.now()) return end(runtime, flow, 'expired');
        requestTokens(context, credentials, { grant_type: DEVICE_GRANT, device_code: deviceCode }).then(
            async (reply) => {
                await runtime.store.write(recordFrom(reply, seedOf(credentials.refreshToken)));
                if (flowOf(runtime) === flow) runtime.state.delete(STATE_KEY);
                runtime.changed();
            },
            (error: unknown) => {
                const code = error instanceof OAuthError ? error.error : undefined;
                if (code === 'access_denied') return end(runtime, flow, 'denied');
                if (code === 'expired_token') return end(runtime, flow, 'expired');
                if (code === 'slow_down') return poll(context, credentials, runtime, flow, deviceCode, intervalS + SLOW_DOWN_S);
                // authorization_pending, and a transient fault: ask again at the same pace.
                if (
                    code === 'authorization_pending' ||
                    (isSessionError(error) && (error.code === 'TIMEOUT' || error.code === 'NETWORK' || error.code === 'SERVER_ERROR'))
                )
                    return poll(context, credentials, runtime, flow, deviceCode, intervalS);
                end(runtime, flow, 'denied');
            },
        );
    });
}

function end(runtime: GrantRuntime, flow: DeviceFlow, outcome: DeviceFlow['outcome']): void {
    flow.outcome = outcome;
    runtime.changed();
}
