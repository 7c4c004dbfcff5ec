// tsyringe, which @peculiar/x509 uses inside, needs the Reflect metadata API before it loads.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';
import * as fs from 'node:fs';
import { isIP } from 'node:net';
import * as path from 'node:path';
import { Identifier } from '../../domain/shared/types';

// The platform's own certificate authority: it issues the key delivery server's certificate and
// the SAEs' client certificates, and it is the only issuer the key delivery server trusts.

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** Leaves start a little in the past, so a peer whose clock is slightly behind accepts them. */
const CLOCK_SKEW_MS = 5 * 60_000;
const CA_DAYS = 3650;
const LEAF_DAYS = 365;

export const CA_KEY_FILE = 'ca.key';
export const CA_CERT_FILE = 'ca.crt';

/** Both default: from a few minutes ago, for a year (ten for the CA). Tests set an expired span. */
export interface Validity {
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

export interface IssuedCertificate {
  /** PEM. */
  readonly certificate: string;
  /** PKCS#8 PEM; the authority keeps no copy. */
  readonly privateKey: string;
}

export interface CertificateAuthority {
  /** The CA certificate, PEM: what the KME trusts SAEs by and SAEs trust the KME by. */
  readonly certificate: string;
  /** The KME's TLS server certificate: subject CN the KME id, for localhost, 127.0.0.1, ::1 and `host`. */
  issueServerCertificate(kmeId: string, host: string, validity?: Validity): Promise<IssuedCertificate>;
  /** An SAE's TLS client certificate: subject CN the SAE id, which is how the KME knows the caller. */
  issueSaeCertificate(saeId: string, validity?: Validity): Promise<IssuedCertificate>;
}

export class AuthorityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthorityError';
  }
}

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** Positive, 16 random bytes: RFC 5280 allows 20 octets and asks for unpredictable serials. */
const serialNumber = (): string => {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f;
  return bytes.toString('hex');
};

const span = (days: number, validity: Validity = {}): { notBefore: Date; notAfter: Date } => {
  const notBefore = validity.notBefore ?? new Date(Date.now() - CLOCK_SKEW_MS);
  const notAfter = validity.notAfter ?? new Date(notBefore.getTime() + days * DAY_MS);
  if (notAfter <= notBefore) throw new AuthorityError('a certificate must end after it begins: notAfter is not after notBefore');
  return { notBefore, notAfter };
};

/** Only the identifier form goes into a name: no escaping is needed, and the id is a safe file name. */
const checkedId = (id: string, what: string): string => {
  if (!Identifier.is(id)) throw new AuthorityError(`${what} ${JSON.stringify(id)} must be ${Identifier.name}`);
  return id;
};

const generateKeys = async (extractable: boolean): Promise<webcrypto.CryptoKeyPair> =>
  webcrypto.subtle.generateKey(ECDSA_P256, extractable, ['sign', 'verify']);

const privateKeyPem = async (key: webcrypto.CryptoKey): Promise<string> =>
  x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');

const isMissing = (error: unknown): boolean => (error as NodeJS.ErrnoException).code === 'ENOENT';

class Authority implements CertificateAuthority {
  readonly certificate: string;

  constructor(
    private readonly caCertificate: x509.X509Certificate,
    private readonly caKey: webcrypto.CryptoKey,
  ) {
    this.certificate = caCertificate.toString('pem');
  }

  async issueServerCertificate(kmeId: string, host: string, validity?: Validity): Promise<IssuedCertificate> {
    const hosts = [...new Set(['localhost', '127.0.0.1', '::1', host])];
    return this.issue(checkedId(kmeId, 'the KME id'), validity, [
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(hosts.map((name) => ({ type: isIP(name) ? 'ip' : 'dns', value: name }))),
    ]);
  }

  async issueSaeCertificate(saeId: string, validity?: Validity): Promise<IssuedCertificate> {
    return this.issue(checkedId(saeId, 'the SAE id'), validity, [
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ]);
  }

  private async issue(
    commonName: string,
    validity: Validity | undefined,
    extensions: x509.Extension[],
  ): Promise<IssuedCertificate> {
    const keys = await generateKeys(true);
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject: `CN=${commonName}`,
      issuer: this.caCertificate.subject,
      ...span(LEAF_DAYS, validity),
      signingAlgorithm: SIGNING,
      publicKey: keys.publicKey,
      signingKey: this.caKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        ...extensions,
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(this.caCertificate.publicKey),
      ],
    });
    return { certificate: certificate.toString('pem'), privateKey: await privateKeyPem(keys.privateKey) };
  }
}

const createAuthorityFiles = async (dir: string): Promise<void> => {
  const keys = await generateKeys(true);
  const name = 'CN=QKMP key delivery CA';
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name,
    ...span(CA_DAYS),
    signingAlgorithm: SIGNING,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  // Built in a private folder beside the target and renamed into place, so two processes starting
  // at once never see half an authority: the loser's rename fails and it loads the winner's.
  fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
  const staging = fs.mkdtempSync(`${dir}.new-`);
  try {
    fs.writeFileSync(path.join(staging, CA_KEY_FILE), await privateKeyPem(keys.privateKey), { mode: 0o600 });
    fs.writeFileSync(path.join(staging, CA_CERT_FILE), certificate.toString('pem'), { mode: 0o644 });
    fs.renameSync(staging, dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
};

const loadAuthority = async (dir: string): Promise<Authority> => {
  const keyFile = path.join(dir, CA_KEY_FILE);
  const loose = fs.statSync(keyFile).mode & 0o077;
  if (loose !== 0 && process.platform !== 'win32') {
    throw new AuthorityError(
      `CA key file ${keyFile} is readable by others (mode ${(loose | 0o600).toString(8)}); run chmod 600 ${keyFile}`,
    );
  }
  const caCertificate = new x509.X509Certificate(fs.readFileSync(path.join(dir, CA_CERT_FILE), 'utf8'));
  const pkcs8 = x509.PemConverter.decodeFirst(fs.readFileSync(keyFile, 'utf8'));
  // Imported for signing only: the CA key never leaves this file again.
  const caKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, ECDSA_P256, false, ['sign']);
  return new Authority(caCertificate, caKey);
};

/**
 * The authority kept in `dir` (`<dataDir>/pki`): `ca.key` (owner-only) and `ca.crt`, in a folder
 * only the owner may enter. Created with a new ECDSA P-256 key on first use.
 */
export const openAuthority = async (dir: string): Promise<CertificateAuthority> => {
  try {
    return await loadAuthority(dir);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
  await createAuthorityFiles(dir);
  try {
    return await loadAuthority(dir);
  } catch (error) {
    if (!isMissing(error)) throw error;
    throw new AuthorityError(
      `${dir} exists but holds no ${CA_KEY_FILE} and ${CA_CERT_FILE}; empty or move the folder, then retry`,
    );
  }
};
