"""Vietnamese text processing and the praise / criticism / neutral classifiers."""

from nlp.underthesea_internals import skip_unused_pipelines

skip_unused_pipelines()
