"""The one reader and writer of the measured figures in assets/: a missing or broken file reads as "not
measured", a changed file is read again, and recording one key keeps the others."""
import json

import pytest

from diffusion_core.evaluation.measured_figures import (dit_figure_row, dit_figures, read_measured, record_dit_figures,
                                                       write_figures)


def test_a_missing_or_broken_file_reads_as_not_measured(tmp_path):
    assert read_measured(tmp_path / "none.json") is None
    (tmp_path / "broken.json").write_text("{not json")
    assert read_measured(tmp_path / "broken.json") is None
    (tmp_path / "list.json").write_text("[1, 2]")
    assert read_measured(tmp_path / "list.json") is None
    assert dit_figures("default_preset", path=tmp_path / "broken.json") is None
    assert dit_figures(path=tmp_path / "none.json") == {}


def test_recording_keeps_the_other_keys_and_a_change_is_read_again(tmp_path):
    path = tmp_path / "figures.json"
    record_dit_figures("a", [{"sampler": "ddim", "accuracy": 0.9}], "python x --record a", 100, path=path)
    assert dit_figures("a", path=path)["rows"][0]["accuracy"] == 0.9
    record_dit_figures("b", [{"sampler": "ddpm"}], "python x --record b", 200, path=path)
    every = json.loads(path.read_text())
    assert set(every) == {"a", "b"} and every["b"]["command"] == "python x --record b" and every["b"]["weights_steps"] == 200
    record_dit_figures("a", [{"sampler": "ddim", "accuracy": 0.95}], "python x --record a", 300, path=path)
    assert dit_figures("a", path=path)["rows"][0]["accuracy"] == 0.95


def test_recording_refuses_to_write_over_a_file_it_cannot_read(tmp_path):
    path = tmp_path / "figures.json"
    path.write_text('{"a": {"rows": []}, oops')
    with pytest.raises(ValueError, match="not a readable JSON"):
        record_dit_figures("b", [], "cmd", 1, path=path)
    assert path.read_text() == '{"a": {"rows": []}, oops'


def test_a_row_is_found_by_its_fields(tmp_path):
    path = tmp_path / "figures.json"
    record_dit_figures("samplers", [{"sampler": "ddpm", "steps": 10}, {"sampler": "ddim", "steps": 5}], "cmd", 1, path=path)
    assert dit_figure_row("samplers", path, sampler="ddim")["steps"] == 5
    assert dit_figure_row("samplers", path, sampler="heun") is None and dit_figure_row("other", path) is None


def test_a_whole_file_write_swaps_in_a_new_file_and_a_failed_one_leaves_the_old(tmp_path):
    path = tmp_path / "race_figures.json"
    write_figures(path, {"models": {"diffusion": {"modes_hit": 8}}})
    before = path.stat().st_ino
    write_figures(path, {"models": {"diffusion": {"modes_hit": 7}}})
    assert read_measured(path) == {"models": {"diffusion": {"modes_hit": 7}}}
    assert path.stat().st_ino != before  # replaced in one step, never truncated and rewritten in place
    with pytest.raises(TypeError):
        write_figures(path, {"models": object()})
    assert read_measured(path) == {"models": {"diffusion": {"modes_hit": 7}}}
    assert [f.name for f in tmp_path.iterdir()] == ["race_figures.json"]  # no temporary file left behind


def test_a_whole_file_write_keeps_the_files_permissions(tmp_path):
    path = tmp_path / "text_figures.json"
    write_figures(path, {"n": 1})
    assert path.stat().st_mode & 0o777 == 0o644  # readable by an app that runs as another user
    path.chmod(0o640)
    write_figures(path, {"n": 2})
    assert path.stat().st_mode & 0o777 == 0o640 and read_measured(path) == {"n": 2}
