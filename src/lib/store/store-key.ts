import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/** Bytes of a store's key (the embedded store's `.rest-session-guard.key`). */
export const STORE_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * A store's secret key and what it is used for: keyed fingerprints (HMAC-SHA256) that name accounts,
 * credentials and grants, and AES-256-GCM for the grants' values. Each use has its own key derived
 * from the store's key, so a fingerprint never helps against the encryption.
 */
export class StoreKey {
    private readonly naming: Buffer;
    private readonly sealing: Buffer;

    constructor(key: Buffer) {
        if (key.length < STORE_KEY_BYTES) throw new Error(`A store key needs at least ${STORE_KEY_BYTES} bytes.`);
        this.naming = createHmac('sha256', key).update('rest-session fingerprint').digest();
        this.sealing = createHmac('sha256', key).update('rest-session grant encryption').digest();
    }

    static random(): StoreKey {
        return new StoreKey(randomBytes(STORE_KEY_BYTES));
    }

    /** HMAC-SHA256 of the parts (each ended by NUL, so no two lists of parts collide), hex. */
    fingerprint(parts: readonly string[]): string {
        const hmac = createHmac('sha256', this.naming);
        for (const part of parts) hmac.update(`${part}\u0000`);
        return hmac.digest('hex');
    }

    /** `value` encrypted and authenticated, bound to `name` (a value cannot be moved to another name): base64. */
    seal(name: string, value: string): string {
        const iv = randomBytes(IV_BYTES);
        const cipher = createCipheriv('aes-256-gcm', this.sealing, iv);
        cipher.setAAD(Buffer.from(name));
        const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
        return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    }

    /** The value {@link seal} sealed under `name`; throws if it was altered or sealed under another key or name. */
    open(name: string, sealed: string): string {
        const bytes = Buffer.from(sealed, 'base64');
        const decipher = createDecipheriv('aes-256-gcm', this.sealing, bytes.subarray(0, IV_BYTES));
        decipher.setAAD(Buffer.from(name));
        decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
        return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    }
}
