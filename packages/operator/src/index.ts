export { allCrds, renderCrdYaml, crdFileName } from './crds/all-crds.js';
