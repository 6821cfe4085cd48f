"""Ids as Dify compares them: one canonical spelling for every form of a UUID."""

from endpoint_kit import canonical_id, canonical_uuid

ID = "0e1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"


def test_every_spelling_of_a_uuid_is_one_id():
    for spelling in (ID.upper(), ID.replace("-", ""), "{" + ID + "}", "urn:uuid:" + ID):
        assert canonical_uuid(spelling) == ID == canonical_id(spelling)


def test_other_ids_pass_through_and_are_not_uuids():
    assert canonical_id("demo-chat") == "demo-chat"
    assert canonical_uuid("demo-chat") is None and canonical_uuid("") is None
