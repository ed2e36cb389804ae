"""Prompts, label scales, classifier cards and the demo classifiers, shipped in curate as ``curate.classifiers``."""
