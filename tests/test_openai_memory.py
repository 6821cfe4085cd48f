"""openai_memory: which conversation a resent history continues, scoped by key and user, in plugin storage."""

import pytest

from devkit.storage import Storage
from duck import openai_memory
from duck.openai_memory import Turn
from duck.settings import DuckSettings
from endpoint_kit import EndpointError


class Session:
    """The storage half of an SDK session, answered by the dev kit's storage as the daemon would."""

    def __init__(self):
        self.backend = Storage()

    def set(self, key, value):
        self.backend.handle({"opt": "set", "key": key, "value": value.hex()})

    def get(self, key):
        return bytes.fromhex(self.backend.handle({"opt": "get", "key": key})["data"])


AUTO = DuckSettings(api_key="k")
SYSTEM, FIRST = Turn("system", "Be brief."), Turn("user", "Hi")


def plan(storage, turns, settings=AUTO, user=None, conversation_id=None, app_id="app"):
    return openai_memory.plan(storage, settings, app_id, turns, user, conversation_id)


def test_auto_continues_a_history_it_answered_and_sends_only_the_new_messages():
    storage = Session()
    first = plan(storage, [SYSTEM, FIRST])
    assert (first.query, first.conversation_id) == ("Hi", None)
    openai_memory.remember(storage, first, "Hello!", "c1")
    follow_up = [SYSTEM, FIRST, Turn("assistant", "Hello!"), Turn("user", "More"), Turn("user", "please")]
    second = plan(storage, follow_up)
    assert (second.query, second.conversation_id) == ("More\n\nplease", "c1")
    openai_memory.remember(storage, second, "Sure.", "c1")
    third = plan(storage, [*follow_up, Turn("assistant", "Sure."), Turn("user", "Thanks")])
    assert third.conversation_id == "c1"


def test_a_history_that_differs_anywhere_is_not_continued():
    storage = Session()
    openai_memory.remember(storage, plan(storage, [FIRST]), "Hello!", "c1")
    edited = [FIRST, Turn("assistant", "Hello?"), Turn("user", "More")]
    unknown = plan(storage, edited)
    # A history Duck never answered starts a new conversation that sees the exchange whole.
    assert unknown.conversation_id is None and unknown.query == "user: Hi\n\nassistant: Hello?\n\nuser: More"


@pytest.mark.parametrize(
    "other", [dict(user="eve"), dict(settings=DuckSettings(api_key="other-key")), dict(app_id="other-app")]
)
def test_fingerprints_are_scoped_by_key_user_and_app(other):
    storage = Session()
    openai_memory.remember(storage, plan(storage, [FIRST], user="ana"), "Hello!", "c1")
    history = [FIRST, Turn("assistant", "Hello!"), Turn("user", "More")]
    assert plan(storage, history, user="ana").conversation_id == "c1"
    assert plan(storage, history, **{"user": "ana", **other}).conversation_id is None


def test_other_modes_and_named_conversations():
    storage = Session()
    history = [SYSTEM, FIRST, Turn("assistant", "Hello!"), Turn("user", "More")]
    assert plan(storage, history, settings=DuckSettings(api_key="k", openai_memory="last_message")).query == "More"
    assert plan(storage, history, settings=DuckSettings(api_key="k", openai_memory="transcript")).query == (
        "system: Be brief.\n\nuser: Hi\n\nassistant: Hello!\n\nuser: More"
    )
    named = plan(storage, history, conversation_id="c9")
    assert (named.query, named.conversation_id, named.remember_as) == ("More", "c9", None)
    with pytest.raises(EndpointError, match="at least one user message"):
        plan(storage, [SYSTEM])


def test_storage_that_fails_never_fails_the_answer():
    class Broken:
        def get(self, key):
            raise RuntimeError("storage unreachable")

        def set(self, key, value):
            raise RuntimeError("over quota")

    first = plan(Broken(), [FIRST])
    openai_memory.remember(Broken(), first, "Hello!", "c1")  # logged, not raised
    assert plan(Broken(), [FIRST, Turn("assistant", "Hello!"), Turn("user", "x")]).conversation_id is None
