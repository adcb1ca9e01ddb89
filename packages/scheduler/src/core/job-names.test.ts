import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type JobMetadata } from './job-model.js';
import {
  MAX_COMPOSED_NAME_LENGTH,
  composeName,
  deliverablePrefixes,
  jobType,
  metadataPrefix,
  userNameOf,
  validateJobName,
  validateNamePrefix,
  validateUserName,
  type DeliverableInput,
} from './job-names.js';
import { SchedulerError } from './scheduler-error.js';

const appJob: JobMetadata = { appId: 'myapp', namespace: 'default', target: { kind: 'job' } };
const actor: JobMetadata = { appId: 'myapp', namespace: 'ns1', target: { kind: 'actor', type: 'myactor', id: 'a1' } };
const actorNoId: JobMetadata = { appId: 'myapp', namespace: 'ns1', target: { kind: 'actor', type: 'myactor', id: '' } };

function isNameError(pattern: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof SchedulerError && err.code === 'invalid_job_name' && pattern.test(err.message);
}

test('composeName', () => {
  const cases: Array<[JobMetadata, string, string]> = [
    [appJob, 'j1', 'app||default||myapp||j1'],
    [actor, 'r1', 'actorreminder||ns1||myactor||a1||r1'],
    // The creating app is not part of a reminder's identity.
    [{ ...actor, appId: 'other' }, 'r1', 'actorreminder||ns1||myactor||a1||r1'],
    [appJob, 'a||b', 'app||default||myapp||a||b'],
    [appJob, 'Case', 'app||default||myapp||Case'],
  ];
  for (const [metadata, name, expected] of cases) assert.equal(composeName(metadata, name), expected);
});

test('metadataPrefix exact and as prefix', () => {
  const cases: Array<[JobMetadata, boolean, string]> = [
    [appJob, false, 'app||default||myapp||'],
    [appJob, true, 'app||default||myapp'],
    [actor, false, 'actorreminder||ns1||myactor||a1||'],
    [actor, true, 'actorreminder||ns1||myactor||a1'],
    [actorNoId, false, 'actorreminder||ns1||myactor||'],
    [actorNoId, true, 'actorreminder||ns1||myactor'],
  ];
  for (const [metadata, asPrefix, expected] of cases) assert.equal(metadataPrefix(metadata, { asPrefix }), expected);
});

test('deliverablePrefixes', () => {
  const base: DeliverableInput = { appId: 'myapp', namespace: 'default', actorTypes: ['t1', 't2'], acceptJobs: true, acceptReminders: true };
  const cases: Array<[Partial<DeliverableInput>, string[]]> = [
    [{}, ['app||default||myapp||', 'actorreminder||default||t1||', 'actorreminder||default||t2||']],
    [{ acceptReminders: false }, ['app||default||myapp||']],
    [{ acceptJobs: false }, ['actorreminder||default||t1||', 'actorreminder||default||t2||']],
    [{ acceptJobs: false, actorTypes: [] }, []],
    [{ acceptJobs: false, actorTypes: ['t1', 't1'] }, ['actorreminder||default||t1||']],
    [{ acceptJobs: false, acceptReminders: false }, []],
  ];
  for (const [change, expected] of cases) assert.deepEqual(deliverablePrefixes({ ...base, ...change }), expected);
});

test('validateJobName accepts the ≥1.17.11 character set', () => {
  const ok = [
    'app||default||myapp||j1',
    'app||default||myapp||with space:and-dash_Under@At',
    'app||default||myapp||a|b||c',
    'actorreminder||ns||dapr.internal.default.app.workflow||inst::0::1||start-abc',
    'app||default||myapp||ünïcödé-名前',
    'app||default||myapp||...',
    'app||default||myapp||' + 'x'.repeat(MAX_COMPOSED_NAME_LENGTH - 'app||default||myapp||'.length),
  ];
  for (const name of ok) assert.doesNotThrow(() => validateJobName(name), name);
});

test('validateJobName refuses bad characters, dot names, empty names and long names', () => {
  const cases: Array<[string, RegExp]> = [
    ['app||default||myapp||a/b', /character '\/' is not allowed/],
    ['app||default||myapp||a\\b', /character '\\' is not allowed/],
    ['app||default||myapp||a#b', /character '#'/],
    ['app||default||myapp||a?b', /character '\?'/],
    ['app||default||myapp||a\u0000b', /control character U\+0000/],
    ['app||default||myapp||a\nb', /control character U\+000A/],
    ['app||default||myapp||a\u001fb', /control character U\+001F/],
    ['app||default||myapp||a\u007fb', /control character U\+007F/],
    ['app||default||myapp||.', /equal to '\.'/],
    ['app||default||myapp||..', /equal to '\.\.'/],
    ['actorreminder||ns||type||..||r1', /equal to '\.\.'/],
    ['app||default||myapp||', /job name is empty/],
    ['app||default||myapp||' + 'x'.repeat(600), /exceeds the limit of 512 characters/],
  ];
  for (const [name, pattern] of cases) {
    assert.throws(() => validateJobName(name), isNameError(pattern), name);
    // The message names the offending value.
    assert.throws(() => validateJobName(name), (err: Error) => err.message.includes(JSON.stringify(name)));
  }
});

test('validateJobName counts characters, not UTF-16 units', () => {
  const prefix = 'app||default||myapp||';
  const emoji = '😀'.repeat(MAX_COMPOSED_NAME_LENGTH - prefix.length);
  assert.doesNotThrow(() => validateJobName(prefix + emoji));
  assert.throws(() => validateJobName(prefix + emoji + 'x'), isNameError(/513 characters/));
});

test('validateNamePrefix allows the trailing delimiter', () => {
  assert.doesNotThrow(() => validateNamePrefix('app||default||myapp||'));
  assert.doesNotThrow(() => validateNamePrefix('app||default||myapp||prefix-'));
  assert.throws(() => validateNamePrefix('app||default||myapp||a/'), isNameError(/'\/'/));
});

test('validateUserName', () => {
  const cases: Array<[string, RegExp | undefined]> = [
    ['j1', undefined],
    ['...', undefined],
    ['', /empty/],
    ['.', /equal to '\.'/],
    ['..', /equal to '\.\.'/],
  ];
  for (const [name, pattern] of cases) {
    if (pattern === undefined) assert.doesNotThrow(() => validateUserName(name));
    else assert.throws(() => validateUserName(name), isNameError(pattern));
  }
});

test('userNameOf round-trips names containing the delimiter', () => {
  const cases: Array<[JobMetadata, string]> = [
    [appJob, 'j1'],
    [appJob, 'a||b||c'],
    [appJob, '||lead'],
    [actor, 'r1'],
    [actor, 'r||1'],
    [{ ...actor, target: { kind: 'actor', type: 'my||actor', id: 'id||x' } }, 'n||m'],
  ];
  for (const [metadata, name] of cases) assert.equal(userNameOf(composeName(metadata, name), metadata), name);
});

test('userNameOf refuses a name that does not match the metadata', () => {
  assert.throws(
    () => userNameOf('app||default||other||j1', appJob),
    (err: unknown) => err instanceof SchedulerError && err.code === 'internal',
  );
});

test('jobType', () => {
  assert.equal(jobType(appJob), 'job');
  assert.equal(jobType(actor), 'actor');
});
