"""The document code list is held once: the schema's enum is the spec core's list."""

from __future__ import annotations

import pytest

from tests.support import SCHEMAS_DIR, read_json
from twin_spec import document_code
from twin_spec._document_codes import DOCUMENT_CODES


@pytest.mark.requirement("TWIN-DOCUMENTS-002")
def test_the_schema_enum_is_the_spec_core_code_list() -> None:
    schema = read_json(SCHEMAS_DIR / "document.schema.json")
    listed = schema["$defs"]["documentCode"]["enum"]
    assert listed == [f"unece:DocumentCodeList#{code}" for code in sorted(DOCUMENT_CODES)]
    assert [document_code(value) for value in listed] == sorted(DOCUMENT_CODES)
