"""LangChain's ChatOpenAI against Duck: a stateless framework resending the whole history every turn."""

import functools
import operator

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI


def chat_model(runtime, **options):
    return ChatOpenAI(
        model="demo-chat",
        base_url=runtime.base_url + "/v1",
        api_key=runtime.api_key,
        max_retries=0,
        timeout=30,
        **options,
    )


@pytest.mark.parametrize(
    "options", [{"stream_usage": True}, {"use_responses_api": True}], ids=["chat_completions", "responses_api"]
)
def test_the_app_sees_the_earlier_turns_of_a_resent_history(runtime, options):
    llm = chat_model(runtime, **options)
    history = [SystemMessage("You are a duck."), HumanMessage("One")]
    for turn in (1, 2, 3):
        # invoke, then stream: both resend the whole history, as LangChain apps do
        reply = llm.invoke(history) if turn != 2 else functools.reduce(operator.add, llm.stream(history))
        text = reply.text
        # The demo app counts the turns of its Dify conversation: the same conversation goes on.
        assert text.endswith(f"(turn {turn})"), text
        assert reply.usage_metadata["input_tokens"] == 12 and reply.usage_metadata["output_tokens"] > 0
        history += [reply, HumanMessage(f"Then {turn}")]


def test_refused_parameters_surface_as_errors(runtime):
    import openai

    with pytest.raises(openai.BadRequestError, match="not supported"):
        chat_model(runtime, n=2).invoke("x")
