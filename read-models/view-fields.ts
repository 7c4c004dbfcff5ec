import { Fields } from '../application/ports/view-store';

// Views are stored as string fields; a missing field is null or 0.

export const orNull = (fields: Fields, name: string): string | null => fields[name] ?? null;

export const whole = (fields: Fields, name: string): number => Number(fields[name] ?? 0);
