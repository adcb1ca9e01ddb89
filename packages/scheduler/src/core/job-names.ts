import { type JobMetadata } from './job-model.js';
import { SchedulerError } from './scheduler-error.js';

/** Joins the parts of a composed name (docs/scheduler.md §1.1). */
export const NAME_DELIMITER = '||';

/** Our bound on a composed name, in characters (Unicode code points); see docs/scheduler.md §1.3. */
export const MAX_COMPOSED_NAME_LENGTH = 512;

const APP_KIND = 'app';
const ACTOR_KIND = 'actorreminder';

/**
 * The scheduler-internal name of a job: `app||<ns>||<app>||<name>` or
 * `actorreminder||<ns>||<type>||<id>||<name>`. The app id is not part of a
 * reminder's identity (docs/scheduler.md §1.1).
 */
export function composeName(metadata: JobMetadata, name: string): string {
  return metadataPrefix(metadata, { asPrefix: false }) + name;
}

/**
 * The key prefix a metadata selects (docs/scheduler.md §1.2). The exact form
 * ends with `||`; `asPrefix` drops it so the last part (app id, actor id or
 * actor type) matches by prefix.
 */
export function metadataPrefix(metadata: JobMetadata, options: { asPrefix: boolean }): string {
  const parts =
    metadata.target.kind === 'job'
      ? [APP_KIND, metadata.namespace, metadata.appId]
      : metadata.target.id === ''
        ? [ACTOR_KIND, metadata.namespace, metadata.target.type]
        : [ACTOR_KIND, metadata.namespace, metadata.target.type, metadata.target.id];
  const joined = parts.join(NAME_DELIMITER);
  return options.asPrefix ? joined : joined + NAME_DELIMITER;
}

export interface DeliverableInput {
  readonly appId: string;
  readonly namespace: string;
  readonly actorTypes: readonly string[];
  readonly acceptJobs: boolean;
  readonly acceptReminders: boolean;
}

/**
 * The exact prefixes of the jobs a WatchJobs stream can take: its app's jobs
 * and the reminders of every actor type it hosts (docs/scheduler.md §1.2).
 */
export function deliverablePrefixes(input: DeliverableInput): string[] {
  const prefixes: string[] = [];
  if (input.acceptJobs) prefixes.push([APP_KIND, input.namespace, input.appId, ''].join(NAME_DELIMITER));
  if (input.acceptReminders) {
    for (const type of new Set(input.actorTypes)) prefixes.push([ACTOR_KIND, input.namespace, type, ''].join(NAME_DELIMITER));
  }
  return prefixes;
}

/** Why a string is refused as (part of) a job name, or undefined. */
function forbiddenCharacter(text: string): string | undefined {
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x20 || cp === 0x7f) return `control character U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
    if (ch === '/' || ch === '\\' || ch === '#' || ch === '?') return `character '${ch}'`;
  }
  return undefined;
}

function checkCharactersAndLength(composed: string, what: string): void {
  const bad = forbiddenCharacter(composed);
  if (bad !== undefined) {
    throw new SchedulerError('invalid_job_name', `${what} is invalid ${JSON.stringify(composed)}: ${bad} is not allowed (/, \\, #, ? and control characters are refused)`);
  }
  const length = [...composed].length;
  if (length > MAX_COMPOSED_NAME_LENGTH) {
    throw new SchedulerError('invalid_job_name', `${what} is invalid ${JSON.stringify(composed)}: ${length} characters exceeds the limit of ${MAX_COMPOSED_NAME_LENGTH} characters for the composed name`);
  }
}

/**
 * The name rule of go-etcd-cron ≥ v0.12.6 (dapr 1.17.11+), applied to the
 * composed name so it constrains namespace, ids and name together
 * (docs/scheduler.md §1.3). No part may be `.` or `..`, and the user's name
 * (the text after the last `||`) may not be empty.
 */
export function validateJobName(composed: string): void {
  checkCharactersAndLength(composed, 'job name');
  for (const part of composed.split(NAME_DELIMITER)) {
    if (part === '.' || part === '..') {
      throw new SchedulerError('invalid_job_name', `job name is invalid ${JSON.stringify(composed)}: a name or id equal to '${part}' is not allowed`);
    }
  }
  if (composed.endsWith(NAME_DELIMITER)) {
    throw new SchedulerError('invalid_job_name', `job name is invalid ${JSON.stringify(composed)}: the job name is empty`);
  }
}

/**
 * The Delete-by RPCs validate a prefix: the character rule and the length
 * bound only, since a prefix legitimately ends with `||` (docs/scheduler.md §1.3).
 */
export function validateNamePrefix(prefix: string): void {
  checkCharactersAndLength(prefix, 'job name prefix');
}

/** The user's own name, before composing: not empty, not `.` or `..`. */
export function validateUserName(name: string): void {
  if (name === '') throw new SchedulerError('invalid_job_name', 'job name is invalid "": the job name is empty');
  if (name === '.' || name === '..') {
    throw new SchedulerError('invalid_job_name', `job name is invalid ${JSON.stringify(name)}: a name equal to '${name}' is not allowed`);
  }
}

/**
 * Recovers the user's name from a composed name by removing the prefix
 * rebuilt from the job's stored metadata, so names containing `||` survive
 * (docs/scheduler.md §1.2).
 */
export function userNameOf(composed: string, metadata: JobMetadata): string {
  const prefix = metadataPrefix(metadata, { asPrefix: false });
  if (!composed.startsWith(prefix)) {
    throw new SchedulerError('internal', `stored job ${JSON.stringify(composed)} does not match its metadata prefix ${JSON.stringify(prefix)}`);
  }
  return composed.slice(prefix.length);
}

/** The `type` label of the scheduler's metrics. */
export function jobType(metadata: JobMetadata): 'job' | 'actor' {
  return metadata.target.kind;
}
