/**
 * Markdown checks for card `detail` without a markdown renderer in the project: the text a CommonMark
 * renderer shows for backslash-escaped punctuation (§2.4), and the raw constructs that must never
 * appear in card markdown built from hostile input.
 */

/** The text as shown: `\x` → `x` for ASCII punctuation x. */
export function shownText(markdown: string): string {
  return markdown.replace(/\\([!-/:-@[-`{-~])/g, '$1');
}

/**
 * Unescaped markup in `markdown` that input could use to act: a link or image opener `](` / `![`, raw
 * HTML or an autolink `<x`, a `javascript:`/`data:`/`vbscript:` scheme. An escaped character (`\[`)
 * does not count. (Emphasis is not looked for: cards use `**` themselves.)
 */
export function unescapedMarkup(markdown: string): string[] {
  const found: string[] = [];
  const checks: Array<[string, RegExp]> = [
    ['link', /(?<!\\)\]\(/],
    ['image', /(?<!\\)!(?<!\\)\[/],
    ['html or autolink', /(?<!\\)<[A-Za-z/!?]/],
    ['script scheme', /(?:javascript|data|vbscript):/i],
  ];
  for (const [name, re] of checks) if (re.test(markdown)) found.push(name);
  return found;
}
