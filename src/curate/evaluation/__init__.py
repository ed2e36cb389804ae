"""What the tests and the benchmarks measure curate against, in one place for both: the real pages of
../shared/data packed into WARCs (``realdata``), datatrove's own pipelines with the published settings
(``baselines``), and extraction quality against ground truth (``extraction_quality``, ``math_metrics``)."""
