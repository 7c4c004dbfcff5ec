import { GraphQLResponse } from './platform';

/** No error may carry a stack, a source path or a driver's words: only a message, a path and safe extensions. */
export const expectNoInternals = (response: GraphQLResponse): void => {
  const text = JSON.stringify(response.body);
  expect(text).not.toMatch(/stacktrace|exception|\.ts:\d+|\.js:\d+|node_modules|\bat (async )?\w+ \(/);
};

export const codeOf = (response: GraphQLResponse): string | undefined => response.body.errors?.[0]?.extensions?.code;
