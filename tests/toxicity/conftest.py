from support.tiny_models import tiny_classifier_dir, tiny_multilabel_dir  # noqa: F401 - fixtures
