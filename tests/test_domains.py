import json

import pytest
from datatrove.data import Document
from datatrove.pipeline.writers import JsonlWriter

from curate.blocks.domains import DomainFilter, DomainScoreCounter, registered_domain, select_domains


def page(n: int, url: str | None, score: int | None) -> Document:
    metadata = {}
    if url is not None:
        metadata["url"] = url
    if score is not None:
        metadata["int_score"] = score
    return Document(text=f"page {n}", id=str(n), metadata=metadata)


def test_registered_domain_uses_the_bundled_suffix_list():
    assert registered_domain("https://math.stackexchange.com/questions/1") == "stackexchange.com"
    assert registered_domain("http://www.Maths.CAM.ac.uk/x") == "cam.ac.uk"  # multi-part public suffix
    assert registered_domain("mathhelpforum.com") == "mathhelpforum.com"
    assert registered_domain("http://10.0.0.7/a") == "10.0.0.7"
    assert registered_domain("") == ""


def run_counter(tmp_path, docs_per_task: list[list[Document]], **kwargs):
    counter = DomainScoreCounter(str(tmp_path / "counts"), **kwargs)
    passed = []
    for rank, docs in enumerate(docs_per_task):
        passed += list(counter.run(iter(docs), rank=rank, world_size=len(docs_per_task)))
    return counter, passed


def test_counter_writes_per_task_counts_and_passes_documents_through(tmp_path):
    task0 = [page(i, f"https://a.example.com/{i}", 2) for i in range(6)] + [page(90, None, 3)]
    task1 = [page(10 + i, f"http://www.example.com/{i}", 1 if i % 2 else 3) for i in range(4)]
    task1.append(page(99, "https://other.org/x", None))
    counter, passed = run_counter(tmp_path, [task0, task1])
    assert [d.id for d in passed] == [d.id for d in task0 + task1]
    assert json.loads((tmp_path / "counts" / "00000.json").read_text()) == {"example.com": [6, 6]}
    assert json.loads((tmp_path / "counts" / "00001.json").read_text()) == {"example.com": [4, 2], "other.org": [1, 0]}
    assert counter.stats["no_url"].total == 1
    assert counter.stats["no_score"].total == 1


def test_select_domains_paper_rule_fraction_rule_and_seeds(tmp_path):
    docs = (
        # 12 pages, 10 scoring >= 2: passes the paper's rule (>= 10 scoring pages) and the fraction rule
        [page(i, f"https://good.edu/{i}", 2 if i < 10 else 0) for i in range(12)]
        # 200 pages, 11 scoring: passes >= 10 pages but only 5.5 % of pages
        + [page(100 + i, f"https://big.com/{i}", 3 if i < 11 else 1) for i in range(200)]
        # 3 pages, all scoring: 100 % but only 3 pages
        + [page(400 + i, f"https://small.net/{i}", 3) for i in range(3)]
    )
    run_counter(tmp_path, [docs[:100], docs[100:]])
    counts = str(tmp_path / "counts")
    assert select_domains(counts) == {"good.edu", "big.com"}
    assert select_domains(counts, min_pages=None, min_fraction=0.1) == {"good.edu", "small.net"}
    assert select_domains(counts, min_pages=10, min_fraction=0.1) == {"good.edu"}
    seeds = tmp_path / "owm_domains.txt"
    seeds.write_text(
        "# OpenWebMath domains with >= 10 URLs\nhttps://www.mathsisfun.com/algebra/\n\nartofproblemsolving.com\n"
    )
    assert select_domains(counts, seed_files=[str(seeds)]) == {
        "good.edu",
        "big.com",
        "mathsisfun.com",
        "artofproblemsolving.com",
    }
    with pytest.raises(ValueError):
        select_domains(counts, min_pages=None, min_fraction=None)


def test_domain_filter_keeps_selected_domains_and_writes_the_rest(tmp_path):
    domain_file = tmp_path / "selected.txt"
    domain_file.write_text("stackexchange.com\nhttps://mathhelpforum.com/t/1\n")
    excluded = JsonlWriter(str(tmp_path / "excluded"), compression=None)
    step = DomainFilter(str(domain_file), exclusion_writer=excluded)
    docs = [
        page(1, "https://math.stackexchange.com/q/1", None),
        page(2, "http://mathhelpforum.com/calculus/2.html", None),
        page(3, "https://news.example.com/3", None),
        page(4, None, None),
    ]
    kept = list(step.run(iter(docs)))
    assert [d.id for d in kept] == ["1", "2"]
    assert step.stats["dropped_domain_not_selected"].total == 1
    assert step.stats["dropped_no_url"].total == 1
    rows = [json.loads(line) for f in (tmp_path / "excluded").iterdir() for line in f.read_text().splitlines()]
    assert sorted(r["id"] for r in rows) == ["3", "4"]
    assert {r["metadata"]["filter_reason"] for r in rows} == {"domain_not_selected", "no_url"}
    assert DomainFilter({"https://www.example.com/a"}).filter(page(5, "http://example.com", None)) is True
