import { generateCaBundle, loadIssuer, type Issuer, type KeyAlgorithm } from '@tsdapr/pki';
import { errorCode, type Logger, type Runner } from '@tsdapr/runtime';
import type { SentryMetrics } from '../metrics.js';
import { generateJwtBundle, loadJwtIssuer, type JwtIssuer } from '../jwt/jwt-issuer.js';
import type { JwtSigningAlgorithm } from '../options.js';
import { decideBundleAction, decideJwtAction, sameJwks, type StoredBundle } from './bundle-state.js';
import type { TrustBundleStore } from './trust-bundle-store.js';

export interface TrustBundleManagerOptions {
  readonly store: TrustBundleStore;
  readonly trustDomain: string;
  readonly sentrySpiffeId: string;
  readonly algorithm: KeyAlgorithm;
  readonly metrics: SentryMetrics;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly expiryWarningWindowMs: number;
  /** With JWT issuing: how to load (or generate) the signing key stored beside the issuer. */
  readonly jwt?: { readonly algorithm: JwtSigningAlgorithm; readonly keyId: string | undefined; readonly issuer: string | undefined };
  /** Called with each newly loaded issuer (sentry re-issues its serving cert). */
  readonly onIssuer?: (issuer: Issuer) => void;
}

export interface TrustBundleManager {
  /** The issuer in force, or undefined before the first good load. */
  current(): Issuer | undefined;
  /** The JWT issuer in force (JWT issuing enabled and loaded), else undefined. */
  currentJwt(): JwtIssuer | undefined;
  /** Loads (bootstrapping if empty) once; throws what stops the bundle from being used. */
  reload(): Promise<Issuer>;
  readonly runner: Runner;
}

/**
 * Owns the issuer: bootstraps an empty store, loads and validates what is
 * stored, and reloads on every change. A bad change keeps the last good
 * issuer in force and is reported (log + metric) until it is fixed.
 */
export function createTrustBundleManager(options: TrustBundleManagerOptions): TrustBundleManager {
  const { store, logger, metrics } = options;
  let issuer: Issuer | undefined;
  let jwtIssuer: JwtIssuer | undefined;
  let loadedJwt = '';
  let loadedFingerprint = '';
  let failingCode: string | undefined;

  const setError = (code: string | undefined): void => {
    if (failingCode === code) return;
    if (failingCode) metrics.bundleError.set({ code: failingCode }, 0);
    if (code) metrics.bundleError.set({ code }, 1);
    failingCode = code;
  };

  const reload = async (): Promise<Issuer> => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const stored = await store.read();
      const action = decideBundleAction(stored, store.names);
      if (action.kind === 'generate') {
        logger.info({ store: store.names.secret }, 'trust bundle is empty: generating a new root and issuer');
        const bundle = generateCaBundle({ trustDomain: options.trustDomain, sentrySpiffeId: options.sentrySpiffeId, algorithm: options.algorithm, now: options.now() });
        if (!(await store.writeGenerated(bundle))) logger.info('another sentry wrote the bundle first; adopting it');
        continue;
      }
      if (action.kind === 'publish') {
        logger.info({ published: store.names.published }, 'publishing the trust anchors');
        await store.publishAnchors(action.anchorsPem);
      }
      const loaded = loadIssuer(
        { trustAnchorsPem: stored.trustAnchorsPem ?? '', issuerChainPem: stored.issuerChainPem ?? '', issuerKeyPem: stored.issuerKeyPem ?? '' },
        options.now(),
      );
      // Both halves load before either is adopted: a bad change keeps both last good ones.
      const jwt = await loadJwt(stored);
      if (jwt === 'generated') continue;
      adopt(loaded);
      if (jwt) adoptJwt(jwt.issuer, jwt.fingerprint);
      return loaded;
    }
    throw new Error('the trust bundle kept changing while it was being loaded');
  };

  const loadJwt = async (stored: StoredBundle): Promise<{ issuer: JwtIssuer; fingerprint: string } | 'generated' | undefined> => {
    const jwtOptions = options.jwt;
    const jwtKeys = store.names.jwtKeys;
    if (!jwtOptions || !jwtKeys) return undefined;
    const action = decideJwtAction(stored, { secret: store.names.secret, jwtKeys });
    if (action.kind === 'generate') {
      logger.info({ store: store.names.secret, algorithm: jwtOptions.algorithm }, 'no JWT signing key: generating one and its JWKS');
      if (!(await store.writeGeneratedJwt(await generateJwtBundle(jwtOptions.algorithm)))) logger.info('the JWT signing key was written by another writer; adopting it');
      return 'generated';
    }
    const loaded = await loadJwtIssuer(
      { signingKeyPem: action.signingKeyPem, jwksJson: action.jwksJson },
      { ...jwtOptions, where: { key: `${store.names.secret} ${jwtKeys[0]}`, jwks: `${store.names.secret} ${jwtKeys[1]}` } },
    );
    if (stored.publishedJwksJson !== undefined && !sameJwks(stored.publishedJwksJson, action.jwksJson)) {
      logger.info({ published: store.names.published }, 'publishing the JWKS');
      await store.publishJwks(action.jwksJson);
    }
    return { issuer: loaded, fingerprint: `${action.signingKeyPem}\n${action.jwksJson}\n${loaded.kid}` };
  };
  const adoptJwt = (loaded: JwtIssuer, fingerprint: string): void => {
    if (fingerprint === loadedJwt) return;
    const first = jwtIssuer === undefined;
    jwtIssuer = loaded;
    loadedJwt = fingerprint;
    const keys = (JSON.parse(loaded.jwksJson) as { keys: Array<{ kid?: string }> }).keys.map((key) => key.kid ?? '');
    logger.info({ kid: loaded.kid, algorithm: loaded.algorithm, jwksKids: keys }, first ? `JWT signing key loaded; using JWT kid ${loaded.kid}, please ensure this aligns with your JWKS` : `JWT signing key reloaded; new tokens carry kid ${loaded.kid}`);
  };
  const adopt = (loaded: Issuer): void => {
    const fingerprint = `${loaded.trustAnchorsPem}\n${loaded.issuerChainPem}`;
    if (fingerprint === loadedFingerprint) return;
    const first = issuer === undefined;
    issuer = loaded;
    loadedFingerprint = fingerprint;
    if (!first) metrics.issuerCertChanged.inc();
    metrics.issuerCertExpiry.set(Math.floor(loaded.notAfter.getTime() / 1000));
    metrics.trustAnchorExpiry.reset();
    for (const anchor of loaded.anchors) metrics.trustAnchorExpiry.set({ subject: anchor.subject.replace(/\n/g, ',') }, Math.floor(new Date(anchor.validTo).getTime() / 1000));
    logger.info({ issuerExpiry: loaded.notAfter.toISOString(), anchors: loaded.anchors.length }, first ? 'trust bundle loaded' : 'trust bundle reloaded');
    warnOnExpiry(loaded);
    options.onIssuer?.(loaded);
  };

  const warnOnExpiry = (loaded: Issuer): void => {
    const now = options.now().getTime();
    const soon = (date: Date): boolean => date.getTime() - now < options.expiryWarningWindowMs;
    if (loaded.notAfter.getTime() <= now) logger.error({ expiry: loaded.notAfter.toISOString() }, 'the issuer certificate has EXPIRED: sentry refuses to sign until it is rotated');
    else if (soon(loaded.notAfter)) logger.warn({ expiry: loaded.notAfter.toISOString() }, 'the issuer certificate expires soon: rotate it');
    for (const anchor of loaded.anchors) {
      const expiry = new Date(anchor.validTo);
      if (soon(expiry)) logger.warn({ expiry: expiry.toISOString(), subject: anchor.subject }, 'a trust anchor expires soon: add a new root to ca.crt before it does');
    }
  };

  const reloadReporting = async (): Promise<void> => {
    try {
      await reload();
      setError(undefined);
    } catch (err) {
      setError(errorCode(err));
      logger.error({ err, code: errorCode(err) }, issuer ? 'the changed trust bundle cannot be used; keeping the last good one' : 'the trust bundle cannot be used');
    }
  };

  const runner: Runner = async (signal) => {
    let running = Promise.resolve();
    let pending = false;
    // Changes are coalesced: at most one reload runs and one waits.
    const onChange = (): void => {
      if (pending) return;
      pending = true;
      running = running.then(async () => {
        pending = false;
        if (!signal.aborted) await reloadReporting();
      });
    };
    const warnTimer = setInterval(() => {
      if (issuer) warnOnExpiry(issuer);
    }, 6 * 3_600_000);
    try {
      await store.watch(onChange)(signal);
    } finally {
      clearInterval(warnTimer);
      await running;
    }
  };

  return {
    current: () => issuer,
    currentJwt: () => jwtIssuer,
    reload: async () => {
      try {
        const loaded = await reload();
        setError(undefined);
        return loaded;
      } catch (err) {
        setError(errorCode(err));
        throw err;
      }
    },
    runner,
  };
}
