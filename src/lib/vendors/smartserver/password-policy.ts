/**
 * SmartServer IoT's password policy (Enhanced Security): a `newPassword` that breaks it is never
 * sent, because the server would count the refusal as a failed login.
 * @see https://enoceanwiki.atlassian.net/wiki/spaces/IEC/pages/288686389/Managing+SmartServer+IoT+Passwords
 */
export function passwordPolicyViolation(candidate: string, current: string): string | undefined {
    if (candidate.length < 14) return 'it must have at least 14 characters';
    if (!/[A-Z]/.test(candidate)) return 'it needs an uppercase letter';
    if (!/[a-z]/.test(candidate)) return 'it needs a lowercase letter';
    if (!/[0-9]/.test(candidate)) return 'it needs a digit';
    if (!/[^A-Za-z0-9]/.test(candidate)) return 'it needs a special character';
    if (/['"\s]/.test(candidate)) return 'quotes, spaces and tabs are not allowed';
    if (hasSequence(candidate.toLowerCase(), 4)) return 'it must not contain a run like 1234 or abcd';
    if (candidate === current) return 'it must differ from the current password';
    return undefined;
}

/** True when `length` consecutive characters step up or down by one (1234, abcd, 4321). */
function hasSequence(text: string, length: number): boolean {
    let up = 1;
    let down = 1;
    for (let i = 1; i < text.length; i++) {
        const step = text.charCodeAt(i) - text.charCodeAt(i - 1);
        const sameClass = isAlnum(text[i]) && isAlnum(text[i - 1]);
        up = sameClass && step === 1 ? up + 1 : 1;
        down = sameClass && step === -1 ? down + 1 : 1;
        if (up >= length || down >= length) return true;
    }
    return false;
}

function isAlnum(char: string): boolean {
    return /[a-z0-9]/.test(char);
}
