import * as fs from 'node:fs';
import https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { CertificateAuthority, IssuedCertificate, openAuthority } from '../../../infrastructure/pki/authority';

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly body: any;
}

export interface CallOptions {
  readonly method?: string;
  /** Sent as JSON unless a string, which is sent as is. */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** The client certificate; none when omitted. */
  readonly client?: IssuedCertificate;
  /** The CA the client trusts the server by. */
  readonly ca: string;
}

/** One HTTPS request over a fresh connection, with real TLS. Rejects when the handshake fails. */
export const call = (url: string, options: CallOptions): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const payload =
      options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    const request = https.request(
      url,
      {
        method: options.method ?? (payload === undefined ? 'GET' : 'POST'),
        ca: options.ca,
        ...(options.client && { cert: options.client.certificate, key: options.client.privateKey }),
        agent: false,
        headers: {
          ...(payload !== undefined && { 'content-type': 'application/json' }),
          ...options.headers,
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text, body });
        });
      },
    );
    request.on('error', reject);
    request.end(payload);
  });

/** A certificate authority in a folder of its own, removed by `dispose`. */
export const temporaryAuthority = async (): Promise<{ authority: CertificateAuthority; dir: string; dispose: () => void }> => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qkmp-pki-'));
  const dir = path.join(root, 'pki');
  return { authority: await openAuthority(dir), dir, dispose: () => fs.rmSync(root, { recursive: true, force: true }) };
};

const DAY_MS = 86_400_000;

/** A validity span that ended yesterday. */
export const expired = () => ({ notBefore: new Date(Date.now() - 2 * DAY_MS), notAfter: new Date(Date.now() - DAY_MS) });
