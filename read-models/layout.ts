import { ViewOp, ViewStore } from '../application/ports/view-store';

/**
 * The version of what the projections write: their keys and how values are encoded. Raise it with
 * any change to either, so that views written before are rebuilt instead of being misread.
 * 1: the layout before versions were recorded. 2: audit entries kept in blocks of positions, and
 * no index of all entries. 3: audit entries also indexed under the targets they name (concerns).
 * 4: device views record when a PIN lock was lifted (pinUnblockedAt).
 */
export const VIEW_LAYOUT = '4';
const LAYOUT_KEY = 'layout';

/** Every applied batch carries this, so views always say which layout wrote them. */
export const layoutMark: ViewOp = { kind: 'set', key: LAYOUT_KEY, fields: { version: VIEW_LAYOUT } };

/**
 * Drops views of another layout, which the catch-up then rebuilds from the log: views marked with
 * another version, or unmarked views that some projection has applied events to (written before
 * versions were recorded).
 */
export const dropOtherLayout = async (views: ViewStore, projections: readonly string[]): Promise<void> => {
  const [version] = await views.fields(LAYOUT_KEY, ['version']);
  if (version === VIEW_LAYOUT) return;
  if (version === null && Object.values(await views.checkpoints(projections)).every((checkpoint) => checkpoint === 0)) {
    return;
  }
  await views.drop();
};
