/** Each node's help lists exactly the errors that node can produce, in every locale, from one source. */
import assert from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';

import { NODE_ERROR_CODES } from '../../../src/lib/node-red/node-errors';

const LOCALES = path.join(__dirname, '..', '..', '..', 'nodes', 'locales');

function listedCodes(lang: string, type: string): string[] {
    const html = fs.readFileSync(path.join(LOCALES, lang, `${type}.html`), 'utf8');
    return [...html.matchAll(/<dt>([A-Z_]+)<\/dt>/g)].map((match) => match[1]);
}

describe('node error codes in the help', function () {
    for (const lang of fs.readdirSync(LOCALES)) {
        for (const [type, codes] of Object.entries(NODE_ERROR_CODES)) {
            it(`${lang} ${type} lists exactly the codes the node can produce`, function () {
                assert.deepStrictEqual(listedCodes(lang, type), [...codes]);
            });
        }
    }

    it('never lists a login-only code for the logout node', function () {
        assert.ok(!NODE_ERROR_CODES['rest-session-logout'].includes('INVALID_CREDENTIALS'));
    });
});
