from support.tiny_models import tiny_classifier_dir  # noqa: F401 - fixture
