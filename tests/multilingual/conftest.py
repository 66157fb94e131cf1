from support.tiny_models import tiny_classifier_dir  # noqa: F401 - fixture
from multilingual.judge_fixtures import cache_dir, fake, judge_env, server  # noqa: F401 - fixtures
