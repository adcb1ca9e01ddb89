export * from './job-model.js';
export {
  SchedulerError,
  JOB_VALIDATION_PREFIX,
  grpcStatusOf,
  grpcStatusOfError,
  type SchedulerErrorCode,
} from './scheduler-error.js';
export {
  NAME_DELIMITER,
  MAX_COMPOSED_NAME_LENGTH,
  composeName,
  metadataPrefix,
  deliverablePrefixes,
  validateJobName,
  validateNamePrefix,
  validateUserName,
  userNameOf,
  jobType,
  type DeliverableInput,
} from './job-names.js';
export { parseSchedule, type Schedule } from './schedule.js';
export { parsePointInTime, parseRfc3339, parseGoDuration, type PointInTimeField } from './point-in-time.js';
export { parseIso8601Duration, addIso8601Duration, type Iso8601Duration } from './iso8601-duration.js';
export { planJob, type PlannedJob } from './job-plan.js';
export { firstTick, afterOutcome, nextTickMs, type TriggerOutcome } from './ticks.js';
