"""The recipe files (one YAML per recipe, plus mixtures/), shipped inside curate as ``curate.pipelines``."""
