"""curate's cached English word/sentence splitter gives datatrove's (spaCy's) exact words and sentence counts.

The corpus: every real page's trafilatura text, the Resiliparse text of the same pages (other line breaks, more
boilerplate), and the 795 real source files under ../shared/data/code (symbol-heavy chunks that exercise spaCy's
affix and infix rules). Expected values come from datatrove's own functions, run on the same strings.
"""

import pytest
from datatrove.utils.text import split_into_sentences, split_into_words
from real_pages import extracted_documents, html_documents

from curate.blocks.spacy_chunks import ChunkTokenizer
from curate.blocks.word_split import EnglishWordSplitter


@pytest.fixture(scope="module")
def corpus(shared_data) -> list[str]:
    from resiliparse.extract.html2text import extract_plain_text

    texts = [d.text for d in extracted_documents(shared_data)]
    texts += [extract_plain_text(d.text, main_content=True) for d in html_documents(shared_data)]
    texts += [p.read_text(errors="replace") for p in sorted((shared_data / "code").rglob("*")) if p.is_file()]
    texts = [t for t in texts if t.strip()]
    assert len(texts) > 1500
    return texts


def test_words_equal_datatrove_on_every_real_text(corpus):
    splitter = EnglishWordSplitter()
    different = [i for i, text in enumerate(corpus) if splitter.words(text) != split_into_words(text)]
    assert different == []
    # the cache really served them: at most one spaCy-independent pass per distinct chunk
    assert len(splitter.tokens) > 10_000


def test_sentence_counts_equal_datatrove_on_every_c4_line(corpus):
    """C4 counts the sentences of each stripped line of at least three words (after removing citations)."""
    splitter = EnglishWordSplitter()
    lines = [line.strip() for text in corpus[:900] for line in text.splitlines() if len(line.split()) >= 3]
    assert len(lines) > 10_000
    different = [line for line in lines if splitter.sentence_count(line) != len(split_into_sentences(line))]
    assert different == []


def test_chunk_tokenizer_equals_spacy_on_every_distinct_chunk(corpus, shared_data):
    import spacy

    nlp = spacy.blank("en")
    tokenizer = ChunkTokenizer(nlp)
    assert tokenizer._suffix_length.__self__._windowed is not None  # the exact shortcuts are the path tested
    assert tokenizer._infixes.__self__._infix_starts is not None
    raw_html = [d.text for d in html_documents(shared_data)[:60]]  # scripts, styles, attribute soup
    chunks = sorted({chunk for text in corpus + raw_html for chunk in text.split()})
    assert len(chunks) > 100_000
    with nlp.memory_zone():
        different = [c for c in chunks if tokenizer(c) != [t.text for t in nlp.tokenizer(c)]]
    assert different == []


EDGE_CASES = [
    "",
    "   ",
    "\n\n\t",
    "Step: 1 and then :1 again",  # ":1" is a tokenizer exception (emoticon): spelled across chunks
    "Plan a . Then e.g . and i.e. and it 's fine, it's fine",
    "look o.O what :- ) and : -) and :-)",
    "and /or and/or w /o",
    "Hello.  World. Again.   \tTabs.\u00a0Non-breaking.\u2003Em space.",
    "Ends with two spaces.  ",
    "Ends with one space. ",
    "Mr. Smith went to Washington D.C. at 5 p.m. yesterday.",
    "IS_ALPHA is a string spaCy once choked on",
    '"Quoted," she said... (really?) [1] [edit] {braces} <tags> — dashes – and…ellipsis!!',
    "C'est l'été à Zürich: 30°C. 10km/h, $5, 5$, 1,000.00€ ☺ 😀 👍🏽",
]


@pytest.mark.parametrize("text", EDGE_CASES)
def test_edge_cases(text):
    splitter = EnglishWordSplitter()
    assert splitter.words(text) == split_into_words(text)
    assert splitter.sentence_count(text) == len(split_into_sentences(text))
    assert splitter.words(text) == split_into_words(text)  # again, from the cache


def test_cache_starting_over_changes_nothing(corpus):
    splitter = EnglishWordSplitter(max_chunks=500)  # starts over many times over the corpus
    for text in corpus[:200]:
        assert splitter.words(text) == split_into_words(text)
    assert len(splitter._chunk_ids) <= 500 + max(len(set(t.split())) for t in corpus[:200])
