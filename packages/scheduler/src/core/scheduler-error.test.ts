import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { TsdaprError } from '@tsdapr/runtime';
import { JOB_VALIDATION_PREFIX, SchedulerError, grpcStatusOf, grpcStatusOfError, type SchedulerErrorCode } from './scheduler-error.js';

test('grpcStatusOf maps every code', () => {
  const cases: Array<[SchedulerErrorCode, status]> = [
    ['invalid_argument', status.INVALID_ARGUMENT],
    ['job_validation', status.INVALID_ARGUMENT],
    ['invalid_job_name', status.INVALID_ARGUMENT],
    ['unknown_job_type', status.INVALID_ARGUMENT],
    ['already_exists', status.ALREADY_EXISTS],
    ['not_found', status.NOT_FOUND],
    ['permission_denied', status.PERMISSION_DENIED],
    ['unauthenticated', status.UNAUTHENTICATED],
    ['unavailable', status.UNAVAILABLE],
    ['resource_exhausted', status.RESOURCE_EXHAUSTED],
    ['shutting_down', status.UNAVAILABLE],
    ['deadline_exceeded', status.DEADLINE_EXCEEDED],
    ['canceled', status.CANCELLED],
    ['internal', status.INTERNAL],
  ];
  for (const [code, expected] of cases) assert.equal(grpcStatusOf(code), expected, code);
});

test('grpcStatusOfError: non-scheduler errors are INTERNAL', () => {
  const cases: Array<[unknown, status]> = [
    [new SchedulerError('not_found', 'job not found: x'), status.NOT_FOUND],
    [new TsdaprError('not_found', 'other'), status.INTERNAL],
    [new Error('boom'), status.INTERNAL],
    ['string', status.INTERNAL],
  ];
  for (const [err, expected] of cases) assert.equal(grpcStatusOfError(err), expected);
});

test('job_validation messages always carry the prefix, once', () => {
  const cases: Array<[SchedulerErrorCode, string, string]> = [
    ['job_validation', 'job must have either a due time or a schedule', 'job failed validation: job must have either a due time or a schedule'],
    ['job_validation', `${JOB_VALIDATION_PREFIX}already prefixed`, 'job failed validation: already prefixed'],
    ['not_found', 'job not found: x', 'job not found: x'],
  ];
  for (const [code, message, expected] of cases) {
    const err = new SchedulerError(code, message);
    assert.equal(err.message, expected);
    assert.equal(err.code, code);
    assert.equal(err.name, 'SchedulerError');
    assert.ok(err instanceof TsdaprError);
  }
});
