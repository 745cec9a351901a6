"""The runner's stage log: what a running stage prints is in its log at once."""

from pathlib import Path

from loralens.study.runner import stage_log


def test_a_running_stage_log_shows_each_line_as_it_is_printed(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "train__t__lora__1.log"
    with stage_log(log):
        print("step 5: loss 0.69")
        assert log.read_text() == "step 5: loss 0.69\n"  # not held in a buffer until the end
        print("step 10: loss 0.52")
    assert log.read_text().splitlines() == ["step 5: loss 0.69", "step 10: loss 0.52"]
