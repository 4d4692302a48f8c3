"""Trust: no crafted file runs code, no credential or formula leaks through what the package writes."""

import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from analytics.models import ChurnModel, UntrustedModelFile
from tests.test_cli import _client_health


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"tenure": rng.normal(size=400), "segment": pd.Categorical(rng.choice(["a", "b"], 400))})
    y = pd.Series((rng.random(400) < 0.3).astype(int))
    path = tmp_path_factory.mktemp("model") / "churn.skops"
    return ChurnModel(n_estimators=10).fit(X, y).save(path), X


def _with_node(saved: str, target: str, node: dict) -> str:
    """A copy of a saved model whose ``random_state`` is replaced by ``node``."""
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(target, "w") as crafted:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "schema.json":
                schema = json.loads(data)
                schema["content"]["content"]["random_state"] = node
                data = json.dumps(schema).encode()
            crafted.writestr(item, data)
    return target


def _call(module: str, name: str, argument: str) -> dict:
    return {
        "__class__": name, "__module__": module, "__loader__": "ConstructorFromReduceNode",
        "content": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode",
                    "content": [{"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode",
                                 "content": json.dumps(argument), "is_json": True}]},
    }


@pytest.mark.parametrize(("module", "name"), [("builtins", "eval"), ("builtins", "exec"), ("os", "system"), ("numpy", "load")])
def test_a_crafted_model_file_runs_nothing(saved_model, tmp_path, module, name):
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w').write('x')" if module == "builtins" else f"touch {marker}"
    crafted = _with_node(saved_model[0], tmp_path / "crafted.skops", _call(module, name, code))
    with pytest.raises(UntrustedModelFile, match=f"{module}.{name}") as error:
        ChurnModel.load(crafted)
    assert "nothing in it was run" in str(error.value) and "trusted=" in str(error.value)
    assert not marker.exists()


def test_a_saved_model_loads_and_a_type_the_user_has_read_can_be_trusted(saved_model, tmp_path):
    path, X = saved_model
    model = ChurnModel(n_estimators=10).fit(X, (X["tenure"] > 0).astype(int))
    assert np.allclose(ChurnModel.load(model.save(tmp_path / "again.skops")).predict_proba(X), model.predict_proba(X))
    unusual = _with_node(path, tmp_path / "unusual.skops", _call("fractions", "Fraction", "1/3"))
    with pytest.raises(UntrustedModelFile, match="fractions.Fraction"):
        ChurnModel.load(unusual)
    assert str(ChurnModel.load(unusual, trusted=["fractions.Fraction"]).random_state) == "1/3"


def test_a_damaged_model_file_gets_a_clear_error(tmp_path):
    path = tmp_path / "broken.skops"
    path.write_bytes(b"not a zip")
    with pytest.raises(UntrustedModelFile, match="not a model file"):
        ChurnModel.load(path)


SECRET = "hunter2-Zq9"


def test_credentials_in_a_url_are_masked_wherever_the_source_is_named(sample_history, postgres_url, tmp_path):
    from analytics.io import LoadError, load_history
    from tests.test_databases import _write

    url = postgres_url.replace("analyst@", f"analyst:{SECRET}@") + f"?password={SECRET}&application_name={SECRET}x"
    missing = url.replace("/postgres?", "/no_such_database?")
    with pytest.raises(LoadError) as error:
        load_history(missing)
    assert SECRET not in str(error.value) and "***" in str(error.value)

    _write(sample_history, postgres_url, clients=20)
    history = load_history(url)
    assert SECRET not in history.report.counts.to_csv() and "password=***" in history.report.counts["source"].iloc[0]
    done = _client_health("validate", url, "--quarantine", tmp_path / "q.csv", "--html", tmp_path / "q.html")
    assert done.returncode == 0, done.stderr
    report = _client_health("report", "quality", "--source", url, "--out", tmp_path)
    assert report.returncode == 0, report.stderr[-2000:]
    for text in (done.stdout, done.stderr, report.stdout, report.stderr, *(tmp_path / name for name in ("q.csv", "q.html", "quality.html"))):
        assert SECRET not in (text.read_text(encoding="utf-8") if isinstance(text, type(tmp_path)) else text)


def test_quarantine_csv_cannot_run_as_a_spreadsheet_formula(tmp_path):
    import csv

    folder = tmp_path / "export"
    folder.mkdir()
    formulas = ["=1+1", "+SUM(A1:A2)", "-2+3", "@cmd", "\t=1", "\r=2"]
    rows = [f"C{i},CL1,2025-01-0{i + 1},\"{value}\"" for i, value in enumerate(formulas)]
    (folder / "complaints.csv").write_text("complaint_id,client_id,opened_at,severity\n" + "\n".join(rows) + "\n", encoding="utf-8")
    done = _client_health("validate", folder, "--quarantine", tmp_path / "q.csv")
    assert done.returncode == 0, done.stderr
    with (tmp_path / "q.csv").open(newline="", encoding="utf-8") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r") and cell.lstrip("+-").replace(".", "", 1).isdigit() is False]
    assert sum(cell.startswith("'") for cell in cells) >= len(formulas)
