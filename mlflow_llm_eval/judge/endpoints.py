"""Judge endpoints: the names judges have always used, now served by :mod:`mlflow_llm_eval.chat`
(one request engine for judges and models under test).

    >>> JudgeCallError is CallError and JudgeClient is ChatClient
    True
"""

from mlflow_llm_eval.chat.answers import completion_from_json, host_of
from mlflow_llm_eval.chat.deployments import DeploymentsChatClient
from mlflow_llm_eval.chat.endpoints import (
    DEFAULT_AZURE_API_VERSION,
    OpenAIChatClient,
    make_client,
    parse_model_uri,
    proxy_base,
)
from mlflow_llm_eval.chat.schemes import SCHEMES
from mlflow_llm_eval.chat.types import CallError, ChatClient, Completion, RateInfo, classify_status

JudgeCallError = CallError
JudgeClient = ChatClient
OpenAIJudgeClient = OpenAIChatClient
DeploymentsJudgeClient = DeploymentsChatClient

__all__ = [
    "DEFAULT_AZURE_API_VERSION",
    "SCHEMES",
    "CallError",
    "ChatClient",
    "Completion",
    "DeploymentsChatClient",
    "DeploymentsJudgeClient",
    "JudgeCallError",
    "JudgeClient",
    "OpenAIChatClient",
    "OpenAIJudgeClient",
    "RateInfo",
    "classify_status",
    "completion_from_json",
    "host_of",
    "make_client",
    "parse_model_uri",
    "proxy_base",
]
