import * as fs from 'node:fs';
import * as path from 'node:path';
import { AuthorityError, CA_CERT_FILE, CertificateAuthority, Validity } from './authority';

export interface SaeCredentialFiles {
  readonly certificate: string;
  readonly privateKey: string;
  readonly ca: string;
}

const alreadyThere = (file: string): AuthorityError =>
  new AuthorityError(`${file} already exists; move it away or choose another folder, then register again`);

const writeNew = (file: string, content: string, mode: number): void => {
  try {
    fs.writeFileSync(file, content, { mode, flag: 'wx' });
  } catch (error) {
    throw (error as NodeJS.ErrnoException).code === 'EEXIST' ? alreadyThere(file) : error;
  }
};

/**
 * Issues an SAE's client certificate and writes what the SAE needs to call the KME into `outDir`
 * (created owner-only): `<id>.crt`, `<id>.key` (owner-only) and `ca.crt`. An SAE's existing files
 * are never overwritten. Returns the paths.
 */
export const registerSae = async (
  authority: CertificateAuthority,
  id: string,
  outDir: string,
  validity?: Validity,
): Promise<SaeCredentialFiles> => {
  const issued = await authority.issueSaeCertificate(id, validity);
  fs.mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const files = {
    certificate: path.join(outDir, `${id}.crt`),
    privateKey: path.join(outDir, `${id}.key`),
    ca: path.join(outDir, CA_CERT_FILE),
  };
  // Checked together first, so a refusal leaves no half-written pair behind.
  const existing = [files.privateKey, files.certificate].find((file) => fs.existsSync(file));
  if (existing !== undefined) throw alreadyThere(existing);
  writeNew(files.privateKey, issued.privateKey, 0o600);
  writeNew(files.certificate, issued.certificate, 0o644);
  fs.writeFileSync(files.ca, authority.certificate, { mode: 0o644 });
  return files;
};
