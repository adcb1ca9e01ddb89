export { createScheduler, type Scheduler, type SchedulerDeps } from './scheduler.js';
export { SCHEDULER_FLAGS, parseSchedulerOptions, type SchedulerOptions } from './options.js';
