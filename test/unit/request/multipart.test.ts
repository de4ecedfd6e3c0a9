import assert from 'node:assert';
import { encodeMultipart } from '../../../src/lib/request/multipart';

/** The parts of an encoded body, split at its boundary. */
function parts(form: any) {
    const boundary = /boundary=(\S+)$/.exec(form.contentType)![1];
    const text = form.body.toString('latin1');
    assert.ok(text.endsWith(`--${boundary}--\r\n`));
    return text
        .split(`--${boundary}`)
        .slice(1, -1)
        .map((chunk: any) => {
            const [head, ...rest] = chunk.slice(2, -2).split('\r\n\r\n');
            return { head: head.split('\r\n'), value: rest.join('\r\n') };
        });
}

describe('multipart', function () {
    it('encodes strings, Buffers, {value, options} and other values as the core node does', function () {
        const form = encodeMultipart({
            text: 'hello',
            bin: Buffer.from([0, 255]),
            file: { value: 'col1,col2', options: { filename: 'a.csv', contentType: 'text/csv' } },
            blob: { value: Buffer.from('x'), options: { filename: 'b.bin' } },
            plain: { value: 'v' },
            num: 5,
            obj: { a: 1 },
            none: null,
            missing: undefined,
        });
        assert.match(form.contentType, /^multipart\/form-data; boundary=----rest-session-[0-9a-f]{24}$/);
        assert.deepStrictEqual(parts(form), [
            { head: ['Content-Disposition: form-data; name="text"'], value: 'hello' },
            { head: ['Content-Disposition: form-data; name="bin"', 'Content-Type: application/octet-stream'], value: '\u0000\u00ff' },
            { head: ['Content-Disposition: form-data; name="file"; filename="a.csv"', 'Content-Type: text/csv'], value: 'col1,col2' },
            { head: ['Content-Disposition: form-data; name="blob"; filename="b.bin"', 'Content-Type: application/octet-stream'], value: 'x' },
            { head: ['Content-Disposition: form-data; name="plain"'], value: 'v' },
            { head: ['Content-Disposition: form-data; name="num"'], value: '5' },
            { head: ['Content-Disposition: form-data; name="obj"'], value: '{"a":1}' },
        ]);
    });

    it('escapes quotes and line breaks in names so a part header cannot be forged', function () {
        const form = encodeMultipart({ 'a"\r\nX-Injected: 1': { value: 'v', options: { filename: 'f"\n.txt', contentType: 'text/plain\r\nX: 1' } } });
        const [part] = parts(form);
        assert.deepStrictEqual(part.head, [
            'Content-Disposition: form-data; name="a%22%0D%0AX-Injected: 1"; filename="f%22%0A.txt"',
            'Content-Type: text/plainX: 1',
        ]);
    });

    it('uses a new boundary each time', function () {
        assert.notStrictEqual(encodeMultipart({}).contentType, encodeMultipart({}).contentType);
    });
});
