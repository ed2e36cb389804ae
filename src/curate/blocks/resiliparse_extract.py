"""Main-text extraction on Resiliparse, brought to trafilatura's quality: the fast mode's extractor.

Resiliparse's ``extract_plain_text(main_content=True)`` is 10-20x faster than trafilatura but keeps more
boilerplate (related-article lists, share bars, captions, comment sections). Two steps after trafilatura's own
approach, on Resiliparse's DOM, close most of that gap:

1. the article container: the first of ``container_selectors`` (``[itemprop=articleBody]``, ``.entry-content``,
   ``article``, ``main``, ...) whose largest match holds at least ``min_container_share`` of the page's main text
   becomes the extraction scope (trafilatura's ``BODY_XPATH`` idea);
2. boilerplate blocks inside the scope (``boilerplate_selectors``: navigation, share, related, comment, caption
   classes, ...) are skipped, unless that removes more than ``max_boilerplate_loss`` of the text (a page whose
   wrapper carries such a class name).

``docs/benchmarks.md`` reports its bag-of-words and shingle F1 on the project's pages beside trafilatura's.
"""

from datatrove.pipeline.extractors.base import BaseExtractor

DEFAULT_SKIP = ("nav", "footer", "aside", "header", "button", "noscript")
DEFAULT_CONTAINERS = (
    '[itemprop="articleBody"]', '[class*="article-body" i]', '[class*="articlebody" i]', '[class*="article__body" i]',
    '[class*="article-content" i]', '[class*="entry-content" i]', '[class*="post-content" i]',
    '[class*="post-body" i]', '[class*="story-body" i]', '[class*="article-text" i]', '[class*="content-body" i]',
    "article", "main", '[role="main"]',
)  # fmt: skip
_BOILERPLATE_WORDS = (
    "related", "share", "social", "newsletter", "subscribe", "promo", "advert", "sponsor", "widget", "sidebar",
    "breadcrumb", "popular", "recommend", "outbrain", "taboola", "caption", "byline", "tags", "comment", "respond",
    "reply", "akismet", "meta", "author", "navigation", "menu", "footer", "teaser",
)  # fmt: skip
DEFAULT_BOILERPLATE = tuple(f'[{attr}*="{word}" i]' for word in _BOILERPLATE_WORDS for attr in ("class", "id"))


class ResiliparseExtractor(BaseExtractor):
    """Resiliparse main-content extraction scoped to the article container, without boilerplate blocks.

    Args:
        timeout: seconds allowed per document (datatrove's sandbox kills a stuck extraction)
        skip_selectors: CSS selectors never extracted (navigation, headers and footers, buttons)
        container_selectors: CSS selectors of article containers, tried in order
        min_container_share: a container is used when its text is at least this share of the page's main text
        boilerplate_selectors: CSS selectors of boilerplate blocks skipped inside the scope
        max_boilerplate_loss: boilerplate skipping is undone when it removes more than this share of the text
        comments: keep comment sections (trafilatura with FineWeb's settings drops them)
    """

    name = "⚡ Resiliparse main text"
    _requires_dependencies = ["resiliparse"]

    def __init__(
        self,
        timeout: float = 1,
        skip_selectors: tuple[str, ...] = DEFAULT_SKIP,
        container_selectors: tuple[str, ...] = DEFAULT_CONTAINERS,
        min_container_share: float = 0.5,
        boilerplate_selectors: tuple[str, ...] = DEFAULT_BOILERPLATE,
        max_boilerplate_loss: float = 0.5,
        comments: bool = False,
    ):
        super().__init__(timeout)
        self.skip_selectors = list(skip_selectors)
        self.container_selectors = tuple(container_selectors)
        self.min_container_share = min_container_share
        self.boilerplate_selectors = self.skip_selectors + list(boilerplate_selectors)
        self.max_boilerplate_loss = max_boilerplate_loss
        self.comments = comments

    def extract(self, text: str) -> str:
        """HTML → main text; ``""`` for a page without a body."""
        from resiliparse.parse.html import HTMLTree

        tree = HTMLTree.parse(text)
        page_text = self._text(tree, self.skip_selectors)
        if tree.body is None or not page_text:
            return page_text
        scope, scope_text = self._article(tree, len(page_text)) or (tree, page_text)
        cleaned = self._text(scope, self.boilerplate_selectors)
        return cleaned if len(cleaned) >= (1 - self.max_boilerplate_loss) * len(scope_text) else scope_text

    def _article(self, tree, page_length: int):
        """(subtree, its text) of the first article container with enough of the page's text, or None."""
        from resiliparse.parse.html import HTMLTree

        for selector in self.container_selectors:
            nodes = tree.body.query_selector_all(selector)
            if not nodes:
                continue
            subtree = HTMLTree.parse(max(nodes, key=lambda node: len(node.text)).html)
            text = self._text(subtree, self.skip_selectors)
            if len(text) >= self.min_container_share * page_length:
                return subtree, text
        return None

    def _text(self, tree, skip: list[str]) -> str:
        from resiliparse.extract.html2text import extract_plain_text

        return extract_plain_text(tree, main_content=True, alt_texts=False, comments=self.comments, skip_elements=skip)
