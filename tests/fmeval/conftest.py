from support.tiny_models import tiny_encoder_dir  # noqa: F401 - fixture
