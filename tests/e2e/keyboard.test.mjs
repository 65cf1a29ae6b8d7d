// Keyboard use of the header: the skip link comes first and works, then Tab walks the main
// navigation and the language switch in document order, each with a visible focus indicator.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  newPage,
  useServerAndBrowser,
} from './harness.mjs';

const shared = useServerAndBrowser();

/**
 * Describes document.activeElement: its tag, id, href attribute, whether it is visible on
 * screen, and whether it shows a focus indicator (an outline, or a box-shadow as
 * Designsystemet's focus style uses).
 */
function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { tag: el?.tagName.toLowerCase() ?? null };
    const style = getComputedStyle(el);
    const rect = el.getBoundingClientRect();
    const centre = [rect.left + rect.width / 2, rect.top + rect.height / 2];
    const onTop = document.elementFromPoint(...centre);
    return {
      tag: el.tagName.toLowerCase(),
      id: el.id || null,
      href: el.getAttribute('href'),
      text: el.textContent.trim(),
      // Big enough to see, inside the viewport, and not covered by something else.
      visible:
        rect.width > 1 &&
        rect.height > 1 &&
        rect.top >= 0 &&
        rect.left >= 0 &&
        rect.bottom <= window.innerHeight &&
        rect.right <= window.innerWidth &&
        onTop !== null &&
        (onTop === el || el.contains(onTop)),
      outline: `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`,
      boxShadow: style.boxShadow,
      hasFocusIndicator:
        (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) ||
        (style.boxShadow !== '' && style.boxShadow !== 'none'),
    };
  });
}

test('the skip link is focused first, is visible, and moves to the main content', async () => {
  const { context, page } = await newPage(shared.browser, shared.server.baseURL);
  try {
    await page.goto('/');

    await page.keyboard.press('Tab');
    const skip = await focused(page);
    assert.equal(skip.tag, 'a', `first Tab should focus the skip link, focused ${JSON.stringify(skip)}`);
    assert.equal(skip.href, '#hovedinnhold', 'the skip link points at #hovedinnhold');
    assert.ok(skip.visible, `the skip link is visible when focused: ${JSON.stringify(skip)}`);
    assert.ok(skip.hasFocusIndicator, `the skip link shows focus (outline ${skip.outline}, box-shadow ${skip.boxShadow})`);

    await page.keyboard.press('Enter');
    // Following an in-page link is a navigation of its own; give it a moment before asking.
    await page
      .waitForFunction(() => window.location.hash === '#hovedinnhold', null, { timeout: 5000 })
      .catch(() => {});
    assert.equal(new URL(page.url()).hash, '#hovedinnhold', 'Enter on the skip link follows it');
    const target = await focused(page);
    assert.deepEqual(
      [target.tag, target.id],
      ['main', 'hovedinnhold'],
      `focus moves to <main id="hovedinnhold">, focused ${JSON.stringify(target)}`,
    );
    assert.ok(
      await page.evaluate(() => {
        const top = document.getElementById('hovedinnhold').getBoundingClientRect().top;
        return top >= 0 && top < window.innerHeight;
      }),
      'the main content is scrolled into view',
    );

    // The next Tab continues from the main content, not from the header.
    await page.keyboard.press('Tab');
    const continuesFromMain = await page.evaluate(() => {
      const main = document.getElementById('hovedinnhold');
      const el = document.activeElement;
      return main.contains(el) || Boolean(main.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING);
    });
    assert.ok(continuesFromMain, `Tab after the skip link focuses something in or after <main>, focused ${JSON.stringify(await focused(page))}`);
  } finally {
    await context.close();
  }
});

test('Tab walks the skip link, the main navigation and the language switch in order', async () => {
  const { context, page } = await newPage(shared.browser, shared.server.baseURL);
  try {
    await page.goto('/');

    // What the DOM says the order is.
    const expected = await page.evaluate(() => [
      ...[...document.querySelectorAll('a[href="#hovedinnhold"]')].slice(0, 1),
      ...document.querySelectorAll('nav#hovedmeny a'),
      ...document.querySelectorAll('nav#sprakvalg a'),
      // Then the login link (or, when logged in, the logout button's form).
      ...document.querySelectorAll('[data-testid="user-box"] a'),
    ].map((a) => a.getAttribute('href')));
    assert.ok(expected.length >= 1 + 2 + 3, `skip link, menu links and language links exist: ${JSON.stringify(expected)}`);

    // What the keyboard does, from a fresh load.
    const seen = [];
    for (let i = 0; i < expected.length; i++) {
      await page.keyboard.press('Tab');
      const el = await focused(page);
      seen.push(el);
      assert.ok(
        el.hasFocusIndicator,
        `Tab ${i + 1} (${el.href}): no visible focus indicator (outline ${el.outline}, box-shadow ${el.boxShadow})`,
      );
      assert.ok(el.visible, `Tab ${i + 1} (${el.href}): focused element is not visible on screen`);
    }
    assert.deepEqual(
      seen.map((el) => el.href),
      expected,
      'focus order: skip link, then nav#hovedmeny links, then nav#sprakvalg links, then the login link, in DOM order',
    );
  } finally {
    await context.close();
  }
});
