"""The BentoML service: built into a bento from the registry's champion, served with
`bentoml serve` on 127.0.0.1 and called over HTTP."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import yaml

from ..conftest import REPO_ROOT, VENV_BIN, run_env
from .conftest import BENTO, MODEL, columns_body, split_body

pytestmark = pytest.mark.slow


def post(url: str, body: object | bytes) -> tuple[int, object]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers={"content-type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        text = err.read().decode(errors="replace")
        try:
            return err.code, json.loads(text)
        except json.JSONDecodeError:
            return err.code, text


def test_valid_batch_matches_the_model_in_process(server, test_records):
    records, expected = test_records
    status, body = post(f"{server}/predict", {"records": records})
    assert status == 200, body
    assert len(body) == len(records)
    got = np.array([row["probability"] for row in body])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    # the class value as in the data (the demo's "Yes" / "No"), at the saved threshold
    assert {row["label"] for row in body} <= {"No", "Yes"}
    assert all(row["model_version"] == body[0]["model_version"] for row in body)


def test_concurrent_requests_are_batched_and_correct(server, test_records):
    records, expected = test_records
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda r: post(f"{server}/predict", {"records": [r]}), records))
    assert all(status == 200 for status, _ in results)
    got = np.array([body[0]["probability"] for _, body in results])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def test_metadata_names_the_registered_model(server, built):
    status, body = post(f"{server}/metadata", {})
    assert status == 200
    repo = built["repo"]
    data_md5 = yaml.safe_load((repo / "data.dvc").read_text())["outs"][0]["md5"]
    assert body["version"] == "1"
    assert body["git_commit"] == built["champion_commit"]
    assert "challenger" not in body and "challenger_tag" not in body  # off: the champion only
    assert body["data_md5"] == data_md5
    assert 0.80 <= body["metrics"]["roc_auc"] <= 0.88
    assert body["registered_model"] == MODEL


def test_the_bento_is_named_after_the_registered_model(built):
    """No environment variable: the bento carries its model's name (a bento argument)."""
    info = yaml.safe_load((built["dir"] / "bento.yaml").read_text())
    assert info["name"] == BENTO and info["labels"]["registered_model"] == MODEL
    assert info["args"] == {"model": MODEL}
    (service,) = info["services"]
    assert service["name"] == BENTO.replace("-", "_")
    # the champion and the registry's challenger (served only in shadow or canary mode)
    assert sorted(m["tag"].split(":")[0] for m in service["models"]) == [
        MODEL, f"{MODEL}-challenger",
    ]  # fmt: skip


@pytest.mark.parametrize("path", ["/healthz", "/livez", "/readyz", "/metrics"])
def test_bentoml_health_and_metrics_endpoints(server, path):
    with urllib.request.urlopen(f"{server}{path}", timeout=10) as response:
        assert response.status == 200


def _record(test_records, **changes) -> dict:
    record = dict(test_records[0][0])
    for key, value in changes.items():
        if value is _DELETE:
            record.pop(key)
        else:
            record[key] = value
    return record


_DELETE = object()

MALFORMED = {
    "missing field": (lambda r: {"records": [_record(r, tenure=_DELETE)]}, "tenure"),
    "wrong type": (lambda r: {"records": [_record(r, monthly_charges="lots")]}, "monthly_charges"),
    "unknown category": (lambda r: {"records": [_record(r, contract="Ten years")]}, "contract"),
    "negative number": (lambda r: {"records": [_record(r, tenure=-3)]}, "tenure"),
    "not binary": (lambda r: {"records": [_record(r, partner=2)]}, "partner"),
    "extra field": (
        lambda r: {"records": [_record(r, favourite_colour="red")]},
        "favourite_colour",
    ),
    "empty list": (lambda r: {"records": []}, "records"),
    "not a list": (lambda r: {"records": {"tenure": 1}}, "records"),
    "NaN": (
        lambda r: (
            '{"records": ['
            + json.dumps(_record(r, tenure="@NAN@")).replace('"@NAN@"', "NaN")
            + "]}"
        ).encode(),
        "tenure",
    ),
    "invalid JSON": (lambda r: b'{"records": [{"tenure": ', "JSON"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_input_gets_a_4xx_naming_the_problem(server, test_records, case):
    make, named = MALFORMED[case]
    status, body = post(f"{server}/predict", make(test_records))
    assert 400 <= status < 500, (status, body)
    assert named in json.dumps(body), body
    # ...and the service keeps answering.
    ok, _ = post(f"{server}/predict", {"records": test_records[0][:1]})
    assert ok == 200


def test_oversized_body_gets_413(server, test_records):
    limit = 1024 * 1024
    records = test_records[0] * (limit // len(json.dumps(test_records[0])) + 2)
    status, body = post(f"{server}/predict", {"records": records})
    assert status == 413
    assert "MLOPS_MAX_BODY_BYTES" in json.dumps(body)
    ok, _ = post(f"{server}/predict", {"records": test_records[0][:1]})
    assert ok == 200


def test_generated_dockerfile_passes_hadolint(built):
    dockerfile = built["dir"] / "env" / "docker" / "Dockerfile"
    assert dockerfile.exists()
    text = dockerfile.read_text()
    assert "FROM python:3.11.14-slim-bookworm" in text
    assert "USER 1034:1034" in text
    proc = subprocess.run(
        [str(VENV_BIN / "hadolint"), "--no-color", str(dockerfile)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_bento_packs_the_champion_and_the_locked_requirements(built):
    requirements = (built["dir"] / "env" / "python" / "requirements.txt").read_text()
    assert "scikit-learn==" in requirements and "bentoml==" in requirements
    # a logistic-regression champion: no TensorFlow, XGBoost or Spark in the image
    assert not re.search(r"^(tensorflow|xgboost|pyspark)==", requirements, re.MULTILINE)
    from mlops.stages.train import file_md5

    bento = yaml.safe_load((built["dir"] / "bento.yaml").read_text())
    models = {m["tag"].split(":")[0]: m["tag"] for m in bento["services"][0]["models"]}
    assert set(models) == {MODEL, f"{MODEL}-challenger"}  # the champion and the challenger
    home = Path(built["env"]["BENTOML_HOME"]) / "models"
    for name, file in ((MODEL, built["champion"]), (f"{MODEL}-challenger", built["challenger"])):
        stored = home / name / models[name].split(":")[1]
        # Exactly the pipeline's model file (the DVC output) of each version is what it serves.
        assert file_md5(stored / "model.joblib") == file_md5(file)
        schema = json.loads((stored / "schema.json").read_text())
        assert schema["fields"]["contract"]["categories"] == [
            "Month-to-month", "One year", "Two year",
        ]  # fmt: skip
        assert schema["id"] == "customer_id"
    assert file_md5(built["champion"]) != file_md5(built["challenger"])


def test_bentofile_wheel_matches_the_project_version():
    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    bentofile = yaml.safe_load((REPO_ROOT / "bentofile.yaml").read_text())
    assert bentofile["python"]["wheels"] == [
        f"./build/bento/wheels/mlops_template-{version}-py3-none-any.whl"
    ]


def test_service_module_refuses_to_start_without_the_model(tmp_path):
    env = run_env()
    env["BENTOML_HOME"] = str(tmp_path)

    def start() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(VENV_BIN / "python"), "-c", "import mlops.serving.service"],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )

    proc = start()  # no bento argument, no params.yaml: nothing names the model
    assert proc.returncode != 0
    assert "mlops bento-build" in proc.stderr and "params.yaml" in proc.stderr
    (tmp_path / "params.yaml").write_text((REPO_ROOT / "params.yaml").read_text())
    proc = start()  # a checkout names it, the model store lacks it
    assert proc.returncode != 0
    assert "churn-classifier:latest" in proc.stderr and "mlops bento-import" in proc.stderr


def test_columnar_and_records_forms_give_identical_probabilities(server, test_records):
    records, expected = test_records
    status, by_record = post(f"{server}/predict", {"records": records})
    assert status == 200, by_record
    for body in (columns_body(records), split_body(records)):
        status, columnar = post(f"{server}/predict", body)
        assert status == 200, columnar
        assert set(columnar) == {"probability", "label", "model_version"}
        assert columnar["probability"] == [r["probability"] for r in by_record]
        assert columnar["label"] == [r["label"] for r in by_record]
        assert columnar["model_version"] == by_record[0]["model_version"]
    np.testing.assert_allclose(columnar["probability"], expected, rtol=0, atol=1e-9)


def _with(records: list[dict], row: int, column: str, value: object) -> list[dict]:
    changed = [dict(r) for r in records[:5]]
    changed[row][column] = value
    return changed


def _reshape(change):
    def make(records: list[dict]) -> dict:
        body = columns_body(records[:5])
        change(body["columns"])
        return body

    return make


# Each invalid kind, sent columnar: the 400 must name the column.
COLUMNAR_INVALID = {
    "missing column": (_reshape(lambda c: c.pop("tenure")), "tenure"),
    "extra column": (_reshape(lambda c: c.update(colour=["red"] * 5)), "colour"),
    "wrong type": (
        lambda r: columns_body(_with(r, 2, "monthly_charges", "lots")),
        "monthly_charges",
    ),
    "boolean for a number": (
        lambda r: columns_body(_with(r, 1, "total_charges", False)),
        "total_charges",
    ),
    "numeric string": (lambda r: columns_body(_with(r, 1, "tenure", " 1e2 ")), "tenure"),
    "unknown category": (lambda r: columns_body(_with(r, 4, "contract", "Ten years")), "contract"),
    "negative value": (lambda r: columns_body(_with(r, 0, "tenure", -3)), "tenure"),
    "NaN": (lambda r: columns_body(_with(r, 3, "tenure", "@NAN@")), "tenure"),
    "infinity": (
        lambda r: columns_body(_with(r, 3, "monthly_charges", "@INF@")),
        "monthly_charges",
    ),
    "ragged columns": (_reshape(lambda c: c["contract"].pop()), "contract"),
    "empty columns": (_reshape(lambda c: c.update({k: [] for k in c})), "female"),
    "object, not a list": (_reshape(lambda c: c.update(contract={"0": "One year"})), "contract"),
}


@pytest.mark.parametrize("case", sorted(COLUMNAR_INVALID))
def test_invalid_columnar_bodies_get_a_400_naming_the_column(server, test_records, case):
    make, column = COLUMNAR_INVALID[case]
    body = json.dumps(make(test_records[0]))
    body = body.replace('"@NAN@"', "NaN").replace('"@INF@"', "Infinity")
    status, answer = post(f"{server}/predict", body.encode())
    assert status == 400, (status, answer)
    assert isinstance(answer, dict) and isinstance(answer["detail"], list), answer
    assert column in answer["error"], answer


@pytest.mark.parametrize(
    ("column", "value"), [("total_charges", False), ("tenure", " 1e2 "), ("partner", True)]
)
def test_records_are_strict_about_types(server, test_records, column, value):
    status, answer = post(
        f"{server}/predict", {"records": _with(test_records[0], 0, column, value)}
    )
    assert status == 400, answer
    assert f"records[0].{column}" in answer["error"], answer


def _raw(url: str, method: str, path: str, body, headers: dict[str, str]) -> tuple[int, dict]:
    import http.client
    from urllib.parse import urlsplit

    host = urlsplit(url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=120)
    try:
        conn.request(
            method,
            path,
            body=body,
            headers=headers,
            encode_chunked=not isinstance(body, bytes | None),
        )
        response = conn.getresponse()
        text = response.read()
        assert response.getheader("content-type", "").startswith("application/json"), text[:200]
        return response.status, json.loads(text)
    finally:
        conn.close()


@pytest.mark.parametrize("path", ["/predict", "/metadata"])
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--xyz--\r\n',
        ),
        ("multipart/form-data", b"a=1"),
        ("application/x-www-form-urlencoded", b"records=1"),
        ("text/plain", b"hello"),
    ],
)
def test_bodies_that_are_not_json_get_415(server, path, content_type, body):
    status, answer = _raw(server, "POST", path, body, {"Content-Type": content_type})
    assert status == 415, answer
    assert "Content-Type" in answer["error"] and answer["detail"][0]["loc"] == [
        "header",
        "content-type",
    ]


@pytest.mark.parametrize("size", [1024 * 1024 + 1, 50 * 1024 * 1024])
def test_oversized_chunked_bodies_get_413(server, size):
    def chunks():
        sent = 0
        while sent < size:
            piece = min(64 * 1024, size - sent)
            sent += piece
            yield b" " * piece

    status, answer = _raw(
        server, "POST", "/predict", chunks(), {"Content-Type": "application/json"}
    )
    assert status == 413, answer
    assert "MLOPS_MAX_BODY_BYTES" in answer["error"]


def test_a_chunked_body_within_the_limit_is_served(server, test_records):
    body = json.dumps({"records": test_records[0][:3]}).encode()
    status, answer = _raw(
        server,
        "POST",
        "/predict",
        iter([body[:100], body[100:]]),
        {"Content-Type": "application/json"},
    )
    assert status == 200 and len(answer) == 3


def test_a_client_leaving_mid_upload_is_not_counted_as_a_server_error(served, test_records):
    import socket
    import time
    from urllib.parse import urlsplit

    url = urlsplit(served["url"])
    for _ in range(3):
        with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
            sock.sendall(
                b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: 5000\r\n\r\n" + b'{"records": [' + b" " * 100
            )
    time.sleep(1)
    status, _ = post(f"{served['url']}/predict", {"records": test_records[0][:1]})
    assert status == 200
    log = served["log"].read_text(errors="replace")
    assert "status=500" not in log
    assert log.count("status=499") >= 3  # nginx's "client closed request": a client error
    with urllib.request.urlopen(f"{served['url']}/metrics", timeout=10) as response:
        metrics = response.read().decode()
    errors = [
        line
        for line in metrics.splitlines()
        if 'http_response_code="5' in line
        and not line.startswith("#")
        and float(line.split()[-1]) > 0
    ]
    assert not errors, errors


def test_metadata_answers_get_too(server):
    with urllib.request.urlopen(f"{server}/metadata", timeout=10) as response:
        assert json.loads(response.read())["registered_model"] == MODEL
    status, answer = post(f"{server}/metadata", {"records": []})
    assert status == 400 and "no input" in answer["error"]
    # found by the fuzz test: a body of only whitespace is not JSON, hence not "no input"
    status, answer = post(f"{server}/metadata", b"\n")
    assert status == 400 and "not valid JSON" in answer["error"]


def test_openapi_document_matches_the_service(server):
    with urllib.request.urlopen(f"{server}/docs.json", timeout=10) as response:
        spec = json.loads(response.read())
    predict = spec["paths"]["/predict"]["post"]
    assert predict["requestBody"]["required"] is True
    forms = predict["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    assert [next(iter(f["properties"])) for f in forms] == ["records", "columns", "dataframe_split"]
    for status in ("400", "413", "415"):
        error = predict["responses"][status]["content"]["application/json"]["schema"]
        assert error["properties"]["detail"]["type"] == "array"
    assert {"get", "post"} <= set(spec["paths"]["/metadata"])
    from mlops.ci.workflow import output_fields

    outputs = output_fields(spec)  # the binary task's contract, the labels as in the data
    assert list(outputs) == ["probability", "label", "model_version"]
    assert outputs["label"] == {"type": "string", "enum": ["No", "Yes"]}
    assert outputs["probability"] == {"type": "number", "minimum": 0, "maximum": 1}
