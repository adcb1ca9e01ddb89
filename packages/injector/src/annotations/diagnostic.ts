/**
 * What the injector has to say about a pod's annotations. A warning goes
 * back to the client in the AdmissionReview's `warnings` (kubectl prints
 * it); a denial refuses the pod with its message. Codes are stable and are
 * used as metric labels.
 */
export type DiagnosticCode =
  | 'unknown_annotation'
  | 'enabled_not_true'
  | 'invalid_bool'
  | 'invalid_int'
  | 'invalid_port'
  | 'port_conflict'
  | 'invalid_protocol'
  | 'invalid_log_level'
  | 'invalid_quantity'
  | 'invalid_resources'
  | 'invalid_duration'
  | 'invalid_probe'
  | 'invalid_seccomp_profile'
  | 'invalid_env'
  | 'invalid_volume_mount'
  | 'empty_config'
  | 'missing_app_id'
  | 'invalid_app_id'
  | 'native_sidecar_unsupported'
  | 'deprecated_annotation'
  | 'unsupported_by_version'
  | 'unknown_sidecar_version';

export interface Diagnostic {
  readonly severity: 'warning' | 'denial';
  readonly code: DiagnosticCode;
  /** The annotation key concerned. */
  readonly annotation: string;
  /** A sentence that names the annotation and says what to do. */
  readonly message: string;
}

export function warning(code: DiagnosticCode, annotation: string, message: string): Diagnostic {
  return { severity: 'warning', code, annotation, message };
}

export function denial(code: DiagnosticCode, annotation: string, message: string): Diagnostic {
  return { severity: 'denial', code, annotation, message };
}

const MAX_QUOTED = 64;

/** A value quoted for a message, cut short so a huge annotation cannot flood a response or a log. */
export function quote(value: string): string {
  const shown = value.length > MAX_QUOTED ? `${value.slice(0, MAX_QUOTED)}…(${value.length} chars)` : value;
  return JSON.stringify(shown);
}
