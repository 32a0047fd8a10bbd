"""``runtree deploy``: versions per file, warnings, and all-or-nothing batches."""

from __future__ import annotations

import json
import pathlib

from .conftest import ORDER_FUNCTIONS, Cli


def function_names(cli: Cli) -> list[str]:
    result = cli("functions", "--json")
    assert result.exit_code == 0, result
    return [f"{f['namespace']}/{f['name']}" for f in json.loads(result.stdout)]


def test_deploy_directory_then_again_unchanged(cli: Cli, orders: pathlib.Path) -> None:
    first = cli("deploy", str(orders))
    assert first.exit_code == 0, first
    assert first.stdout.splitlines() == [f"default/{name}: v1 (new)" for name in ORDER_FUNCTIONS]
    again = cli("deploy", str(orders))
    assert again.exit_code == 0, again
    assert again.stdout.splitlines() == [
        f"default/{name}: v1 (unchanged)" for name in ORDER_FUNCTIONS
    ]


def test_changed_file_is_a_new_version_others_unchanged(cli: Cli, deployed: pathlib.Path) -> None:
    tax = deployed / "calculate_tax.py"
    tax.write_text(tax.read_text().replace("0.21", "0.22"))
    result = cli("deploy", str(deployed))
    assert result.exit_code == 0, result
    assert "default/calculate_tax: v2 (new)" in result.stdout
    assert "default/get_customer: v1 (unchanged)" in result.stdout


def test_settings_make_a_new_version(cli: Cli, deployed: pathlib.Path) -> None:
    path = str(deployed / "calculate_tax.py")
    assert "v2 (new)" in cli("deploy", path, "--timeout", "60").stdout
    assert "v3 (new)" in cli("deploy", path, "--timeout", "60", "--no-tracking").stdout
    assert "v3 (unchanged)" in cli("deploy", path, "--timeout", "60", "--no-tracking").stdout
    versions = json.loads(cli("versions", "calculate_tax", "--json").stdout)
    assert [v["settings"]["tracking"] for v in versions] == [True, True, False]
    assert versions[1]["settings"]["timeout_s"] == 60


def test_namespace_and_description(cli: Cli, orders: pathlib.Path) -> None:
    result = cli("deploy", str(orders / "calculate_tax.py"), "-n", "shop", "--description", "VAT")
    assert result.stdout.strip() == "shop/calculate_tax: v1 (new)"
    functions = json.loads(cli("functions", "--json").stdout)
    assert functions[0]["description"] == "VAT"
    assert "shop/calculate_tax: VAT" in cli("versions", "shop/calculate_tax").stdout


def test_calls_within_the_batch_are_not_warnings_but_unknown_names_are(
    cli: Cli, tmp_path: pathlib.Path
) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "helper.py").write_text("def helper(x):\n    return x * 2\n")
    (code / "main.py").write_text("def main(x):\n    total = helper(x)\n    return total + order\n")
    result = cli("deploy", str(code / "main.py"), str(code / "helper.py"))
    assert result.exit_code == 0, result
    lines = result.stdout.splitlines()
    assert lines[0] == "default/main: v1 (new)"
    assert lines[1] == f"  {code / 'main.py'}:3:20: undefined name 'order'"
    assert lines[2] == "default/helper: v1 (new)"
    assert not any("undefined name 'helper'" in line for line in lines)


def test_syntax_error_deploys_nothing_of_the_batch(cli: Cli, orders: pathlib.Path) -> None:
    bad = orders / "get_customer.py"
    bad.write_text("def get_customer(customer_id):\n    return CUSTOMERS[customer_id] +\n")
    (orders / "calculate_tax.py").write_text("def wrong_name():\n    pass\n")
    result = cli("deploy", str(orders))
    assert result.exit_code == 2, result
    assert f"{orders / 'get_customer.py'}:2:36: error: invalid syntax" in result.stderr
    assert (
        f"{orders / 'calculate_tax.py'}:1:1: error: the module must define a top-level "
        "function named 'calculate_tax'" in result.stderr
    )
    assert "nothing deployed: 2 errors in a batch of 4 files" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert function_names(cli) == []


def test_single_bad_file_reports_path_line_col(cli: Cli, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("def broken(:\n    pass\n")
    result = cli("deploy", str(path))
    assert result.exit_code == 2, result
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{path}:1:12: error: ")
    assert function_names(cli) == []


def test_paths_that_cannot_be_deployed(cli: Cli, tmp_path: pathlib.Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "empty").mkdir()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "same.py").write_text("def same():\n    return 1\n")
    (tmp_path / "b" / "same.py").write_text("def same():\n    return 2\n")
    (tmp_path / "bad-name.py").write_text("def f():\n    pass\n")
    cases = {
        "notes.txt": "not a .py file",
        "missing.py": "no such file or directory",
        "empty": "no .py files in this directory",
        "bad-name.py": "invalid name 'bad-name'",
    }
    for name, message in cases.items():
        result = cli("deploy", str(tmp_path / name))
        assert result.exit_code == 2, result
        assert message in result.stderr
    clash = cli("deploy", str(tmp_path / "a"), str(tmp_path / "b"))
    assert clash.exit_code == 2
    assert "would deploy the same function" in clash.stderr
    assert function_names(cli) == []


def test_dunder_files_in_directories_are_skipped_and_duplicates_merged(
    cli: Cli, orders: pathlib.Path
) -> None:
    (orders / "__init__.py").write_text("")
    result = cli("deploy", str(orders), str(orders / "get_customer.py"))
    assert result.exit_code == 0, result
    assert len(result.stdout.splitlines()) == 4


def test_invalid_settings_and_namespace_are_usage_errors(cli: Cli, orders: pathlib.Path) -> None:
    for args, message in [
        (["--memory", "10"], "--memory: "),
        (["--timeout", "0"], "--timeout: "),
        (["--namespace", "no-dash"], "invalid namespace 'no-dash'"),
    ]:
        result = cli("deploy", str(orders), *args)
        assert result.exit_code == 2, result
        assert message in result.stderr
    assert function_names(cli) == []
