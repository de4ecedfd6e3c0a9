import { formatSetting } from '../format-setting';
import { textSetting } from '../settings';

const API_VERSION = /^v\d+(\.\d+)*$/;

/** Oracle SDM: the REST API version in `/rest/{apiVersion}/` and the body format. */
export const sdmSettings = {
    apiVersion: textSetting(
        'v1.1',
        { input: 'text', icon: 'fa-code-fork', placeholder: true, tip: true },
        {
            problem: (value) =>
                API_VERSION.test(value)
                    ? undefined
                    : { key: 'apiVersion', message: `The Oracle SDM API version "${value}" is not valid: write it like v1.1 or v1.3.` },
        },
    ),
    format: formatSetting,
};
