import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseValidator } from './choose-validator.js';
import { createInsecureValidator } from './insecure-validator.js';
import { ValidationError, type SignRequestIdentity, type TokenValidatorName, type Validator } from './validator.js';

const stub = (name: TokenValidatorName): Validator => ({
  name,
  ready: () => true,
  validate: () => Promise.reject(new Error('not used')),
});

const enabled = (...names: TokenValidatorName[]): Map<TokenValidatorName, Validator> =>
  new Map(names.map((name) => [name, name === 'insecure' ? createInsecureValidator() : stub(name)]));

test('chooseValidator: table', () => {
  const cases: Array<{
    name: string;
    requested: SignRequestIdentity['tokenValidator'];
    enabled: TokenValidatorName[];
    mode: 'kubernetes' | 'standalone';
    want: TokenValidatorName | 'validator_unspecified' | 'validator_not_enabled';
  }> = [
    { name: 'kubernetes default', requested: 'UNKNOWN', enabled: ['kubernetes'], mode: 'kubernetes', want: 'kubernetes' },
    { name: 'kubernetes explicit', requested: 'KUBERNETES', enabled: ['kubernetes', 'jwks'], mode: 'kubernetes', want: 'kubernetes' },
    { name: 'jwks in kubernetes mode', requested: 'JWKS', enabled: ['kubernetes', 'jwks'], mode: 'kubernetes', want: 'jwks' },
    { name: 'jwks not configured', requested: 'JWKS', enabled: ['kubernetes'], mode: 'kubernetes', want: 'validator_not_enabled' },
    { name: 'insecure in kubernetes mode', requested: 'INSECURE', enabled: ['kubernetes'], mode: 'kubernetes', want: 'validator_not_enabled' },
    { name: 'standalone default insecure', requested: 'UNKNOWN', enabled: ['insecure'], mode: 'standalone', want: 'insecure' },
    { name: 'standalone with jwks, no name', requested: 'UNKNOWN', enabled: ['jwks'], mode: 'standalone', want: 'validator_unspecified' },
    { name: 'standalone jwks explicit', requested: 'JWKS', enabled: ['jwks'], mode: 'standalone', want: 'jwks' },
    { name: 'standalone insecure not enabled', requested: 'INSECURE', enabled: ['jwks'], mode: 'standalone', want: 'validator_not_enabled' },
    { name: 'standalone nothing enabled', requested: 'UNKNOWN', enabled: [], mode: 'standalone', want: 'validator_unspecified' },
    { name: 'kubernetes default but disabled', requested: 'UNKNOWN', enabled: [], mode: 'kubernetes', want: 'validator_not_enabled' },
  ];
  for (const c of cases) {
    if (c.want === 'validator_unspecified' || c.want === 'validator_not_enabled') {
      assert.throws(
        () => chooseValidator({ tokenValidator: c.requested }, enabled(...c.enabled), c.mode),
        (err: unknown) => err instanceof ValidationError && err.code === c.want,
        c.name,
      );
    } else {
      assert.equal(chooseValidator({ tokenValidator: c.requested }, enabled(...c.enabled), c.mode).name, c.want, c.name);
    }
  }
});

test('chooseValidator: upstream messages', () => {
  assert.throws(() => chooseValidator({ tokenValidator: 'UNKNOWN' }, enabled(), 'standalone'), {
    message: 'a validator name must be specified in this environment',
  });
  assert.throws(() => chooseValidator({ tokenValidator: 'JWKS' }, enabled('kubernetes'), 'kubernetes'), {
    message: 'the requested validator is not enabled',
  });
});
