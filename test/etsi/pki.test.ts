import { createPrivateKey, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CA_CERT_FILE, CA_KEY_FILE, openAuthority } from '../../infrastructure/pki/authority';
import { registerSae } from '../../infrastructure/pki/sae-credentials';

describe("the platform's certificate authority", () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'qkmp-ca-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

  it('is created on first use in an owner-only folder with an owner-only key, and the same CA is opened afterwards', async () => {
    const dir = path.join(root, 'data', 'pki');
    const first = await openAuthority(dir);
    expect(modeOf(dir)).toBe(0o700);
    expect(modeOf(path.join(dir, CA_KEY_FILE))).toBe(0o600);
    expect(fs.readFileSync(path.join(dir, CA_CERT_FILE), 'utf8')).toBe(first.certificate);
    const again = await openAuthority(dir);
    expect(again.certificate).toBe(first.certificate);
    const ca = new X509Certificate(first.certificate);
    expect(ca.ca).toBe(true);
    expect(ca.publicKey.asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    // An SAE certificate issued by the reopened authority chains to the first one's certificate.
    expect(new X509Certificate((await again.issueSaeCertificate('gw-1')).certificate).verify(ca.publicKey)).toBe(true);
  });

  it('ends up with one CA when two processes open it for the first time at once', async () => {
    const dir = path.join(root, 'pki');
    const [a, b] = await Promise.all([openAuthority(dir), openAuthority(dir)]);
    expect(a.certificate).toBe(b.certificate);
    expect(fs.readdirSync(root)).toEqual(['pki']);
  });

  it('refuses a CA key that others can read, and says how to fix it', async () => {
    const dir = path.join(root, 'pki');
    await openAuthority(dir);
    fs.chmodSync(path.join(dir, CA_KEY_FILE), 0o640);
    await expect(openAuthority(dir)).rejects.toThrow(/readable by others .*chmod 600/);
  });

  it('refuses a folder that holds something else rather than creating a CA over it', async () => {
    const dir = path.join(root, 'pki');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'x');
    await expect(openAuthority(dir)).rejects.toThrow(/holds no ca\.key and ca\.crt/);
  });

  it("issues the KME's server certificate for the local names and the listen host, with the KME id as subject", async () => {
    const authority = await openAuthority(path.join(root, 'pki'));
    const issued = await authority.issueServerCertificate('KME-A', 'kme.example.net');
    const certificate = new X509Certificate(issued.certificate);
    expect(certificate.subject).toBe('CN=KME-A');
    expect(certificate.subjectAltName).toBe(
      'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:kme.example.net',
    );
    expect(certificate.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(certificate.ca).toBe(false);
    expect(certificate.checkIssued(new X509Certificate(authority.certificate))).toBe(true);
    expect(certificate.checkPrivateKey(createPrivateKey(issued.privateKey))).toBe(true);
  });

  it('issues an SAE client certificate whose subject CN is the SAE id, for client authentication only', async () => {
    const authority = await openAuthority(path.join(root, 'pki'));
    const certificate = new X509Certificate((await authority.issueSaeCertificate('gw-jinan.01')).certificate);
    expect(certificate.subject).toBe('CN=gw-jinan.01');
    expect(certificate.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(certificate.publicKey.asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    const days = (Date.parse(certificate.validTo) - Date.parse(certificate.validFrom)) / 86_400_000;
    expect(days).toBeCloseTo(365, 0);
  });

  it('takes the validity span it is given, and refuses one that ends before it begins', async () => {
    const authority = await openAuthority(path.join(root, 'pki'));
    const notBefore = new Date('2020-01-01T00:00:00Z');
    const notAfter = new Date('2020-01-02T00:00:00Z');
    const certificate = new X509Certificate((await authority.issueSaeCertificate('gw-1', { notBefore, notAfter })).certificate);
    expect(new Date(certificate.validFrom)).toEqual(notBefore);
    expect(new Date(certificate.validTo)).toEqual(notAfter);
    await expect(authority.issueSaeCertificate('gw-1', { notBefore: notAfter, notAfter: notBefore })).rejects.toThrow(
      /notAfter is not after notBefore/,
    );
  });

  it('refuses an SAE id that is not an identifier, which could not be a safe name or file name', async () => {
    const authority = await openAuthority(path.join(root, 'pki'));
    await expect(authority.issueSaeCertificate('gw,O=evil')).rejects.toThrow(/must be an identifier/);
    await expect(authority.issueSaeCertificate('../gw')).rejects.toThrow(/must be an identifier/);
  });

  it("registers an SAE: writes its certificate, its owner-only key and the CA's certificate into an owner-only folder", async () => {
    const authority = await openAuthority(path.join(root, 'pki'));
    const out = path.join(root, 'out', 'gw-1');
    const files = await registerSae(authority, 'gw-1', out);
    expect(files).toEqual({
      certificate: path.join(out, 'gw-1.crt'),
      privateKey: path.join(out, 'gw-1.key'),
      ca: path.join(out, 'ca.crt'),
    });
    expect(modeOf(out)).toBe(0o700);
    expect(modeOf(files.privateKey)).toBe(0o600);
    expect(fs.readFileSync(files.ca, 'utf8')).toBe(authority.certificate);
    const certificate = new X509Certificate(fs.readFileSync(files.certificate));
    expect(certificate.subject).toBe('CN=gw-1');
    expect(certificate.checkPrivateKey(createPrivateKey(fs.readFileSync(files.privateKey)))).toBe(true);
  });

  it("never overwrites an SAE's existing files", async () => {
    const authority = await openAuthority(path.join(root, 'pki'));
    const out = path.join(root, 'out');
    const files = await registerSae(authority, 'gw-1', out);
    const before = fs.readFileSync(files.privateKey, 'utf8');
    await expect(registerSae(authority, 'gw-1', out)).rejects.toThrow(/gw-1\.key already exists; move it away/);
    expect(fs.readFileSync(files.privateKey, 'utf8')).toBe(before);
  });
});
