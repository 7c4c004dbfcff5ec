import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../read-models/paging';
import { clientError } from './errors';

/** Two full pages: a console may list two views at once, or one and then the next page of another. */
export const MAX_LISTED_PER_OPERATION = 2 * MAX_PAGE_SIZE;

const ONCE =
  'may be asked once per operation (aliases asking the same share the answer); ' +
  'send several requests to ask it several ways';

const RULE =
  `the lists of one operation may hold at most ${MAX_LISTED_PER_OPERATION} items together ` +
  '(page sizes added up, aliases included): ask for smaller pages, or send several requests';

/**
 * What one operation may ask of the platform, shared by all its fields, aliases included.
 * graphql-armor's cost estimate counts a page size only when it is written in the document, and
 * not the work behind a field; this counts what the resolvers are actually asked.
 */
export class OperationBudget {
  private listed = 0;
  private readonly answers = new Map<string, { readonly asked: string; readonly answer: Promise<unknown> }>();

  /** Counts a page of `first` items (the default size when absent) against what the operation may list. */
  page(first: number | null | undefined): void {
    const size = first ?? DEFAULT_PAGE_SIZE;
    // A size the page itself refuses is named by that refusal.
    if (!Number.isSafeInteger(size) || size < 1 || size > MAX_PAGE_SIZE) return;
    this.listed += size;
    if (this.listed > MAX_LISTED_PER_OPERATION) {
      throw clientError('INVALID_INPUT', `first: ${RULE}; this operation asks for ${this.listed}`, {
        issues: [{ field: 'first', rule: RULE }],
      });
    }
  }

  /**
   * One answer per operation to a question whose every asking costs a pass over the log or the
   * views (auditVerify, auditStats over all time): aliases with the same arguments share it, and
   * other arguments are refused.
   */
  once<T>(question: string, args: unknown, ask: () => Promise<T>): Promise<T> {
    const asked = JSON.stringify(args ?? null);
    const earlier = this.answers.get(question);
    if (earlier === undefined) {
      const answer = ask();
      this.answers.set(question, { asked, answer });
      return answer;
    }
    if (earlier.asked === asked) return earlier.answer as Promise<T>;
    throw clientError('INVALID_INPUT', `${question}: ${ONCE}`, { issues: [{ field: question, rule: ONCE }] });
  }
}
