import json
from pathlib import Path

from bondkd.schema import MoleculeDoc

SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "molecule.schema.json"


def test_published_json_schema_is_current():
    """Regenerate with: python -c "import json; from bondkd.schema import MoleculeDoc;
    print(json.dumps(MoleculeDoc.model_json_schema(), indent=2, ensure_ascii=False))"."""
    assert json.loads(SCHEMA.read_text()) == MoleculeDoc.model_json_schema()
