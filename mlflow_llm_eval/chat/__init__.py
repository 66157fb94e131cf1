"""Chat requests to an endpoint, for judges and models under test alike: one engine owns
"send a chat request, get an answer or a reason" (limits, pacing, retries, budgets, accounting,
circuit breaker, deadline, cache hook), configured by one :class:`RequestOptions`.

    >>> from mlflow_llm_eval.chat import ChatEngine, Completion, make_client
    >>> ChatEngine.__name__, Completion("hi").text
    ('ChatEngine', 'hi')
"""

from mlflow_llm_eval.chat.endpoints import make_client, parse_model_uri
from mlflow_llm_eval.chat.engine import STATUSES, ChatEngine, Reply, Stats, Unusable
from mlflow_llm_eval.chat.options import MODEL_UNDER_TEST, RequestOptions
from mlflow_llm_eval.chat.types import CallError, ChatClient, Completion, RateInfo

__all__ = [
    "MODEL_UNDER_TEST",
    "STATUSES",
    "CallError",
    "ChatClient",
    "ChatEngine",
    "Completion",
    "RateInfo",
    "Reply",
    "RequestOptions",
    "Stats",
    "Unusable",
    "make_client",
    "parse_model_uri",
]
