import { ANNOTATIONS, type AnnotationName, type SidecarAnnotations } from '../annotations/annotation-table.js';
import { quote, warning, type Diagnostic } from '../annotations/diagnostic.js';
import type { ParsedAnnotations } from '../annotations/parse-annotations.js';
import { ANNOTATION_SINCE, VERSION_SHAPES, annotationSupported, type ProbeSetting, type SidecarVersion } from './daprd-versions.js';

/**
 * Fits parsed annotations to the daprd version the sidecar will run, from the
 * version table: annotations that version's injector does not read are
 * dropped (with a warning naming the annotation and the version), and the
 * probe settings the pod leaves unset (or sets unusably) take that version's
 * defaults. Also says whether native sidecars exist for it.
 */
export function fitToVersion(
  parsed: ParsedAnnotations,
  version: SidecarVersion,
  nativeSidecarDefault: boolean,
): { parsed: ParsedAnnotations; nativeSidecarDefault: boolean; diagnostics: Diagnostic[] } {
  const shape = VERSION_SHAPES[version.minor];
  const values: Record<string, unknown> = { ...parsed.values };
  const present = new Set(parsed.present);
  const diagnostics: Diagnostic[] = [];

  if (version.fallbackReason) diagnostics.push(fallbackWarning(version));

  for (const name of Object.keys(ANNOTATION_SINCE) as AnnotationName[]) {
    if (!present.has(name) || annotationSupported(name, version.minor)) continue;
    const key = ANNOTATIONS[name].key;
    const since = ANNOTATION_SINCE[name];
    const why = since ? `it needs daprd ${since} or later` : 'no released daprd accepts the flag it would pass';
    diagnostics.push(warning('unsupported_by_version', key, `${key} is ignored for this sidecar, which runs daprd ${version.minor}: ${why}`));
    values[name] = undefined;
    present.delete(name);
  }

  for (const [name, value] of Object.entries(shape.probeDefaults) as [ProbeSetting, number][]) {
    if (!present.has(name) || parsed.invalid.has(name)) values[name] = value;
  }

  const nativeDefault = nativeSidecarDefault && shape.nativeSidecars;
  if (nativeSidecarDefault && !shape.nativeSidecars && !parsed.present.has('enableNativeSidecar')) {
    diagnostics.push(
      warning('unsupported_by_version', 'NATIVE_SIDECAR_ENABLED', `native sidecars (NATIVE_SIDECAR_ENABLED) need daprd 1.18 or later; this sidecar runs daprd ${version.minor} and is injected as a regular container`),
    );
  }

  return { parsed: { ...parsed, values: values as SidecarAnnotations, present }, nativeSidecarDefault: nativeDefault, diagnostics };
}

function fallbackWarning(version: SidecarVersion): Diagnostic {
  const key = ANNOTATIONS.sidecarImage.key;
  const how =
    version.fallbackReason === 'unknown'
      ? `the image ${quote(version.detected)} has no version tag the injector can read (give it one, or set the injector's --sidecar-version for SIDECAR_IMAGE)`
      : `daprd ${quote(version.detected)} is ${version.fallbackReason} than the versions the injector knows`;
  return warning('unknown_sidecar_version', key, `${how}, so the sidecar is built as for daprd ${version.minor}`);
}
