/**
 * How deep JSON may nest where it crosses a boundary (an HTTP body, a connector input): what handles a parsed
 * value (structuredClone, JSON.stringify, schema validation, canonical JSON) is recursive and would run out of
 * stack on hostile nesting, so it is refused first. A method's input is one flat object; 64 levels is plenty.
 */
export const MAX_JSON_NESTING = 64;

/**
 * Whether JSON text nests objects/arrays deeper than `max`: a linear count of brackets outside strings, not a
 * parser, so it is safe on any input; text that is not JSON passes here and is refused by whoever parses it.
 */
export function jsonTextNestsDeeperThan(text: string, max: number = MAX_JSON_NESTING): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/**
 * Whether a value nests objects/arrays deeper than `max` levels. Walks iteratively (any depth is safe to ask
 * about); a node reached again is walked again only when reached deeper, so shared references and cycles end.
 */
export function nestsDeeperThan(value: unknown, max: number = MAX_JSON_NESTING): boolean {
  const stack: Array<{ node: unknown; depth: number }> = [{ node: value, depth: 1 }];
  const deepestSeen = new Map<object, number>();
  while (stack.length) {
    const { node, depth } = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > max) return true;
    if ((deepestSeen.get(node) ?? 0) >= depth) continue;
    deepestSeen.set(node, depth);
    for (const child of Object.values(node)) stack.push({ node: child, depth: depth + 1 });
  }
  return false;
}
