import * as fs from 'node:fs';
import * as path from 'node:path';
import { commandRoutes } from '../../application/routes';

// The README's event catalogue is the reference consoles and auditors read: it must name every
// command and event the platform knows.
const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
const catalogue = readme.slice(readme.indexOf('## Event catalogue'), readme.indexOf('## Design'));

describe('the README event catalogue', () => {
  const names = commandRoutes.flatMap(({ aggregate }) => [
    ...Object.keys(aggregate.commandCodecs),
    ...Object.keys(aggregate.eventCodecs),
  ]);
  it.each(names)('lists %s', (name) => {
    expect(catalogue).toMatch(new RegExp(`\\b${name}\\b`));
  });
});
