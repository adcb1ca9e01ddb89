export { createInjector, type Injector, type InjectorDeps } from './injector.js';
export { parseInjectorOptions, INJECTOR_FLAGS, type InjectorOptions } from './options.js';
export { buildSidecarPatch, type SidecarPatchInput, type SidecarPatchResult } from './patch/sidecar-patch.js';
export { defaultInjectorSettings, type InjectorSettings } from './patch/injector-settings.js';
export { applyJsonPatch } from './patch/json-patch.js';
export { selfSignedServingCertificate, type ServingCertificate } from './webhook/serving-certificate.js';
export { createInjectorMetrics, type InjectorMetrics } from './metrics.js';
export { webhookApp } from './webhook/webhook-server.js';
