import assert from 'node:assert';

import { type EvaluateProperty, listHeaders, readHeaderRows } from '../../../src/lib/request/header-list';

/** msg properties by path, environment variables by name: what RED.util.evaluateNodeProperty gives. */
const ENV: Record<string, string> = { API_KEY: 'from-env' };
const read: EvaluateProperty = (value, type, msg) => (type === 'env' ? ENV[value] : value.split('.').reduce<any>((at, part) => at?.[part], msg));

describe('header list', function () {
    it('reads preset, other, msg and env rows as the core node stores them', function () {
        const rows = readHeaderRows([
            { keyType: 'Accept', keyValue: '', valueType: 'application/json', valueValue: '' },
            { keyType: 'other', keyValue: 'X-Fixed', valueType: 'other', valueValue: 'fixed' },
            { keyType: 'msg', keyValue: 'name', valueType: 'msg', valueValue: 'values.token' },
            { keyType: 'other', keyValue: 'X-Key', valueType: 'env', valueValue: 'API_KEY' },
        ]);
        const msg = { name: 'X-From-Msg', values: { token: 42 } };
        assert.deepStrictEqual(listHeaders(rows, msg, read), { Accept: 'application/json', 'X-Fixed': 'fixed', 'X-From-Msg': 42, 'X-Key': 'from-env' });
    });

    it('skips a row whose name or value is empty or an unset property, and rows that are not rows', function () {
        const rows = readHeaderRows([
            { keyType: 'other', keyValue: '', valueType: 'other', valueValue: 'x' },
            { keyType: 'msg', keyValue: 'missing', valueType: 'other', valueValue: 'x' },
            { keyType: 'other', keyValue: 'X-Empty', valueType: 'other', valueValue: '' },
            { keyType: 'other', keyValue: 'X-Unset', valueType: 'env', valueValue: 'NOT_SET' },
            null,
            'X-Text',
            { keyType: 'other' },
        ]);
        assert.strictEqual(rows.length, 4);
        assert.deepStrictEqual(listHeaders(rows, {}, read), {});
        assert.deepStrictEqual(readHeaderRows(undefined), []);
        assert.deepStrictEqual(readHeaderRows('x'), []);
    });
});
