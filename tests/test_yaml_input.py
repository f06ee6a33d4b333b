"""Hostile YAML is refused quickly and clearly: alias bombs, cycles, endless nesting, huge files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from modelmonitor.api.parsing import load_documents
from modelmonitor.cli import main
from modelmonitor.errors import SpecError
from modelmonitor.yaml_input import MAX_BYTES, MAX_DEPTH, YAMLBoundError, load_all_bounded


def laughs(levels: int) -> str:
    """The "billion laughs": each level an anchored list of nine aliases of the one before."""
    lines = ['  l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        lines.append(f"  l{level}: &l{level} [" + ",".join([f"*l{level - 1}"] * 9) + "]")
    return "apiVersion: modelmonitor.io/v1alpha1\nkind: ModelMonitor\nmetadata: {name: lol}\nspec:\n" + "\n".join(lines)


def test_a_nine_level_alias_bomb_is_refused_by_check_and_validate(tmp_path: Path, capsys) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(laughs(9))
    assert len(bomb.read_bytes()) < 1000
    with pytest.raises(SpecError, match=r"bomb\.yaml: refused: more than 100,000 values once its aliases are expanded"):
        load_documents(bomb)
    for command in (["validate", "-f", str(bomb)], ["check", "-f", str(bomb)]):
        assert main(command) == 2
        assert "alias bomb" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("a: &a [1, *a]", "a cycle"),
        ("a: " + "[" * 200 + "]" * 200, f"nested deeper than {MAX_DEPTH} levels"),
        ("a: " + "[" * 5000 + "]" * 5000, f"nested deeper than {MAX_DEPTH} levels"),  # past Python's recursion limit
        ("a: " + "x" * (MAX_BYTES + 1), "larger than 4 MiB"),
    ],
    ids=["cycle", "deep", "deeper than the stack", "huge"],
)
def test_other_hostile_documents_are_refused(text: str, says: str) -> None:
    with pytest.raises(YAMLBoundError, match=says):
        load_all_bounded(text)


def test_ordinary_anchors_and_documents_load_as_pyyaml_loads_them() -> None:
    text = "base: &base {interval: 5m}\none: *base\ntwo: {<<: *base, spread: true}\n---\n- [1, 2]\n---\n"
    assert load_all_bounded(text) == list(yaml.safe_load_all(text))
    assert load_all_bounded(laughs(4)) == list(yaml.safe_load_all(laughs(4)))  # 9**4 = 6,561 values: fine


def test_text_that_is_not_yaml_still_says_so(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [1, 2\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_documents(broken)
