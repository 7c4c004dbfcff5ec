/** The hash, under each store's namespace, holding every projection's checkpoint (the last position it applied). */
export const CHECKPOINTS_KEY = 'checkpoints';
