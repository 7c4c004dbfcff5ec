import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../read-models/paging';
import { clientError } from './errors';

/** Two full pages: a console may list two views at once, or one and then the next page of another. */
export const MAX_LISTED_PER_OPERATION = 2 * MAX_PAGE_SIZE;

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
  private readonly answers = new Map<string, Promise<unknown>>();

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

  /** One answer per operation to a question whose every asking costs a pass over the log, however many fields ask it. */
  once<T>(question: string, ask: () => Promise<T>): Promise<T> {
    let answer = this.answers.get(question) as Promise<T> | undefined;
    if (answer === undefined) this.answers.set(question, (answer = ask()));
    return answer;
  }
}
