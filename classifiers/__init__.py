"""Prompts, label scales, classifier cards and the demo classifiers, shipped inside curate as ``curate.classifiers``."""
